package wechat

import (
	"context"
	"slices"
	"time"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat/flex"
)

// StableToken calls POST /cgi-bin/stable_token with the app's credentials.
// force=true asks for a new token and invalidates the previous one; the
// vendor limits it to 20 calls a day, 30 s apart, which package token enforces.
func (t *Transport) StableToken(ctx context.Context, appID, secret string, force bool) (string, time.Duration, error) {
	req := stableTokenRequest{GrantType: "client_credential", AppID: appID, Secret: secret, ForceRefresh: force}
	var resp stableTokenResponse
	if err := t.post(ctx, "/cgi-bin/stable_token", "", req, &resp); err != nil {
		return "", 0, err
	}
	if resp.Errcode.V != 0 {
		return "", 0, withErrmsg(tokenError(resp.Errcode.V), resp.Errmsg.V)
	}
	if resp.AccessToken.V == "" || resp.ExpiresIn.V <= 0 {
		return "", 0, order.Errorf(codes.UpstreamUnavailable, "token endpoint sent no usable token", nil)
	}
	return resp.AccessToken.V, time.Duration(resp.ExpiresIn.V) * time.Second, nil
}

type stableTokenRequest struct {
	GrantType    string `json:"grant_type"`
	AppID        string `json:"appid"`
	Secret       string `json:"secret"`
	ForceRefresh bool   `json:"force_refresh"`
}

type stableTokenResponse struct {
	Status
	AccessToken flex.String
	ExpiresIn   flex.Int
}

var stableTokenFields = flex.NewFields(slices.Concat(StatusFields, []string{"access_token", "expires_in"})...)

func (r *stableTokenResponse) ReadReply(d *flex.Decoder) error {
	*r = stableTokenResponse{}
	_, err := d.Object(stableTokenFields, func(name string) (err error) {
		switch name {
		case "access_token":
			r.AccessToken, err = d.String()
		case "expires_in":
			r.ExpiresIn, err = d.Int()
		default:
			err = r.ReadMember(d, name)
		}
		return err
	})
	return err
}
