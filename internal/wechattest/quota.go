package wechattest

import (
	"encoding/json"
	"net/http"

	"github.com/ordergraph/ordergraph/internal/sandbox"
)

// Quota is a scripted quota/get answer: an API's daily limit and the calls
// used of it.
type Quota struct{ Limit, Used int64 }

// SetQuota makes quota/get answer for api with q, until set again;
// unscripted, an API's quota is sandbox.DailyQuota with the calls of it
// this fake served.
func (f *Fake) SetQuota(api string, q Quota) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.quotas[api] = q
}

// QuotaAsked lists the cgi_path of every quota/get call, oldest first.
func (f *Fake) QuotaAsked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.quotaAsked...)
}

// Served is how many calls of the API at path the fake served.
func (f *Fake) Served(path string) int64 { return f.calls.Of(path) }

func (f *Fake) quotaGet(w http.ResponseWriter, r *http.Request) {
	f.QuotaCalls.Add(1)
	if !sandbox.CheckToken(w, r, f.tokenValid) {
		return
	}
	var req struct {
		CgiPath string `json:"cgi_path"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.CgiPath == "" {
		writeErr(w, 47001)
		return
	}
	f.mu.Lock()
	f.quotaAsked = append(f.quotaAsked, req.CgiPath)
	q, ok := f.quotas[req.CgiPath]
	f.mu.Unlock()
	if !ok {
		q = Quota{sandbox.DailyQuota, f.calls.Of(req.CgiPath)}
	}
	sandbox.WriteJSON(w, sandbox.QuotaAnswer(q.Limit, q.Used))
}
