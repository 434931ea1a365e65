package wechat

import (
	"context"
	"slices"
	"sync"

	"github.com/ordergraph/ordergraph/internal/wechat/flex"
)

// QuotaPath is WeChat's API that tells an API's daily call quota.
const QuotaPath = "/cgi-bin/openapi/quota/get"

// Quota is an API's daily call quota, as QuotaPath tells it.
type Quota struct {
	DailyLimit, Used, Remain int64
}

// Quota asks WeChat for the daily quota of the API at path (e.g.
// /channels/ec/order/get), with the access token.
func (c *Client) Quota(ctx context.Context, path string) (Quota, error) {
	var r quotaReply
	err := c.Call(ctx, QuotaPath, quotaRequest{CgiPath: path}, &r, nil)
	return r.quota, err
}

type quotaRequest struct {
	CgiPath string `json:"cgi_path"`
}

type quotaReply struct {
	Status
	quota Quota
}

var (
	quotaReplyFields = flex.NewFields(append([]string{"quota"}, StatusFields...)...)
	quotaFields      = flex.NewFields("daily_limit", "used", "remain")
)

func (r *quotaReply) ReadReply(d *flex.Decoder) error {
	*r = quotaReply{}
	_, err := d.Object(quotaReplyFields, func(name string) error {
		if name != "quota" {
			return r.ReadMember(d, name)
		}
		_, err := d.Object(quotaFields, func(name string) (err error) {
			var v flex.Int
			v, err = d.Int()
			switch name {
			case "daily_limit":
				r.quota.DailyLimit = v.V
			case "used":
				r.quota.Used = v.V
			case "remain":
				r.quota.Remain = v.V
			}
			return err
		})
		return err
	})
	return err
}

// calledPaths are the API paths a Transport has called with an access
// token: what the quota watch asks about.
type calledPaths struct {
	mu    sync.Mutex
	paths map[string]struct{}
}

func (c *calledPaths) add(path string) {
	c.mu.Lock()
	if c.paths == nil {
		c.paths = map[string]struct{}{}
	}
	c.paths[path] = struct{}{}
	c.mu.Unlock()
}

// Called lists, sorted, the API paths t has called with an access token
// (the token's own endpoint included, whose quota is small), but never
// QuotaPath: asking about quotas is not an API the server uses.
func (t *Transport) Called() []string {
	t.called.mu.Lock()
	defer t.called.mu.Unlock()
	paths := make([]string, 0, len(t.called.paths))
	for p := range t.called.paths {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return paths
}
