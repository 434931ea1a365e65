package component

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wechat/flex"
)

// The platform's endpoints.
const (
	pathComponentToken  = "/cgi-bin/component/api_component_token"
	pathQueryAuth       = "/cgi-bin/component/api_query_auth"
	pathAuthorizerToken = "/cgi-bin/component/api_authorizer_token"
	pathAuthorizerList  = "/cgi-bin/component/api_get_authorizer_list"
)

// listPage is the most authorizers api_get_authorizer_list answers at once.
const listPage = 500

// Errcodes the platform's calls act on.
const (
	errTokenInvalid   = 40001 // the platform token is invalid or not the latest
	errTokenMalformed = 40014
	errTokenExpired   = 42001
	errGrantGone      = 61003 // the shop no longer authorizes the platform
	errRefreshInvalid = 61023 // the refresh token is invalid
)

// errcodes are the platform's errcodes that say what to fix; WeChat's
// shared ones (busy, quotas, refused tokens) are wechat's.
var errcodes = wechat.Errcodes{
	40013: {Code: codes.UpstreamAuthFailed, Message: "the platform token could not be obtained: the component appid is not valid"},
	40125: {Code: codes.UpstreamAuthFailed, Message: "the platform token could not be obtained: the component appsecret is wrong for the component appid"},
	61004: {Code: codes.UpstreamAuthFailed, Message: "this server's IP address is not on the platform's API allow list"},
	61005: {Code: codes.UpstreamAuthFailed, Message: "the platform token could not be obtained: the verify ticket has expired; waiting for WeChat's next push"},
	61006: {Code: codes.UpstreamAuthFailed, Message: "the platform token could not be obtained: the verify ticket is not valid; waiting for WeChat's next push"},
	61009: {Code: codes.UpstreamAuthFailed, Message: "the shop's authorization code is not valid"},
	61010: {Code: codes.UpstreamAuthFailed, Message: "the shop's authorization code has expired"},
}

// unusable is an answer without errcode that still carries no usable token:
// it is not stored, as an errcode would not be.
func unusable(what string) error {
	return order.Errorf(codes.UpstreamUnavailable, what+" sent no usable token", nil)
}

// grantOf is a token WeChat issued at start, good for expiresIn seconds.
func grantOf(token string, start time.Time, expiresIn int64) (Grant, time.Duration) {
	ttl := time.Duration(expiresIn) * time.Second
	return Grant{Token: token, Issued: start, Expires: start.Add(ttl)}, ttl
}

// fetchPlatformToken gets a platform token with the latest ticket and
// stores it.
func (p *Platform) fetchPlatformToken(ctx context.Context) (Grant, error) {
	ticket, err := p.ticket(ctx)
	if err != nil {
		return Grant{}, err
	}
	req := componentTokenRequest{AppID: p.cfg.ComponentAppID, Secret: p.cfg.ComponentSecret, Ticket: ticket}
	var r componentTokenReply
	start := p.now()
	if err := p.cfg.Transport.PostComponent(ctx, pathComponentToken, "", req, &r); err != nil {
		return Grant{}, err
	}
	if err := r.Err(errcodes); err != nil {
		return Grant{}, err
	}
	if r.Token == "" || r.ExpiresIn <= 0 {
		return Grant{}, unusable("api_component_token")
	}
	g, ttl := grantOf(r.Token, start, r.ExpiresIn)
	_ = p.store.SaveGrant(ctx, p.platform.key, g, ttl) // the store never fails: see tiered
	return g, nil
}

// componentCall posts body to one of the platform's endpoints with the
// platform token. When WeChat refuses that token (40001, 42001) it gets a
// fresh one and calls once more, as wechat.Client does for a shop's calls;
// any other errcode is left in st for the caller.
func (p *Platform) componentCall(ctx context.Context, path string, body any, reply wechat.Reply, st *wechat.Status) error {
	tok, err := p.platform.Token(ctx)
	if err != nil {
		return err
	}
	if err := p.cfg.Transport.PostComponent(ctx, path, tok, body, reply); err != nil {
		return err
	}
	if code := st.Errcode.V; code != errTokenInvalid && code != errTokenMalformed && code != errTokenExpired {
		return nil
	}
	p.platform.Invalidate(tok)
	fresh, err := p.platform.Token(ctx)
	if err != nil || fresh == tok {
		return err // WeChat insists on the refused token: its errcode stands
	}
	return p.cfg.Transport.PostComponent(ctx, path, fresh, body, reply)
}

// refreshShop gets a shop's token with its refresh token (recovered from
// WeChat's list when none is stored) and stores both. Only a successful
// answer is stored; 61023 and 61003 revoke the shop.
func (p *Platform) refreshShop(ctx context.Context, c *cell) (Grant, error) {
	k := c.key
	shop, _ := p.store.LoadShop(ctx, k) // the store never fails: see tiered
	if shop.Revoked {
		return Grant{}, notAuthorized(0)
	}
	used := shop.RefreshToken
	refresh := used
	if refresh == "" {
		var err error
		if refresh, err = p.recoverRefreshToken(ctx, c); err != nil {
			return Grant{}, err
		}
	}
	req := authorizerTokenRequest{ComponentAppID: k.Component, AuthorizerAppID: k.Authorizer, RefreshToken: refresh}
	var r authorizerTokenReply
	start := p.now()
	if err := p.componentCall(ctx, pathAuthorizerToken, req, &r, &r.Status); err != nil {
		return Grant{}, err
	}
	switch code := r.Errcode.V; code {
	case 0:
	case errRefreshInvalid, errGrantGone:
		revoked, _ := p.store.Revoke(ctx, k, refresh, time.Time{})
		if revoked {
			p.log.Info("a shop's grant is gone: WeChat refused its refresh token; it is not authorized until it authorizes the platform again",
				slog.String("authorizer_appid", k.Authorizer), slog.Int64("errcode", code))
		}
		return Grant{}, notAuthorized(code)
	default:
		return Grant{}, r.Err(errcodes)
	}
	if r.Shop.Token == "" || r.Shop.ExpiresIn <= 0 {
		return Grant{}, unusable("api_authorizer_token")
	}
	if r.Shop.RefreshToken != "" {
		refresh = r.Shop.RefreshToken
	}
	g, ttl := grantOf(r.Shop.Token, start, r.Shop.ExpiresIn)
	if saved, _ := p.store.SaveRefreshed(ctx, k, used, refresh, g, ttl); !saved {
		return p.reloadShop(ctx, k)
	}
	return g, nil
}

// reloadShop is what the store holds of a shop whose grant changed while
// its refresh was in flight (a revocation, a new authorization): the
// refresh's answer belongs to the grant that was replaced, so it is
// discarded for the store's.
func (p *Platform) reloadShop(ctx context.Context, k Key) (Grant, error) {
	if shop, _ := p.store.LoadShop(ctx, k); shop.Revoked {
		return Grant{}, notAuthorized(0)
	}
	if g, _ := p.store.LoadGrant(ctx, k); g.valid(p.now()) {
		return g, nil
	}
	return Grant{}, order.Errorf(codes.UpstreamUnavailable, "the shop's grant changed during its token refresh; retry", nil)
}

// recoverRefreshToken finds a shop's refresh token in WeChat's list of
// the platform's authorizers: for a refresh token that was lost (a store
// emptied, an authorization event missed or not exchanged). A shop that
// is not listed has not authorized the platform.
func (p *Platform) recoverRefreshToken(ctx context.Context, c *cell) (string, error) {
	now := p.now()
	c.mu.Lock()
	unlisted := !c.unlisted.IsZero() && now.Sub(c.unlisted) < p.cfg.UnlistedFor
	c.mu.Unlock()
	if unlisted {
		return "", notAuthorized(0)
	}
	refresh, listed, err := p.listed(ctx, c.key.Authorizer, now)
	if err != nil {
		return "", err
	}
	if !listed {
		c.mu.Lock()
		c.unlisted = now
		c.mu.Unlock()
		return "", notAuthorized(0)
	}
	p.log.Info("recovered a shop's refresh token from WeChat's list of authorizers", slog.String("authorizer_appid", c.key.Authorizer))
	return refresh, nil
}

// listWalkTimeout bounds one walk of WeChat's list of authorizers, apart
// from any caller: a platform of many shops has many pages.
const listWalkTimeout = time.Minute

// authorizers is what the last walk of WeChat's list of authorizers
// found, kept for UnlistedFor: when a store is emptied every shop comes
// back without its refresh token, and each would otherwise walk the list
// (pages of 500) from the start, a number of calls that grows with the
// square of the shops. One walk runs at a time, shared by every shop
// waiting for it.
type authorizers struct {
	walks singleflight.Group

	mu      sync.Mutex
	at      time.Time
	refresh map[string]string // authorizer appid → refresh token
}

// recent is authorizer's refresh token from a walk that is recent at
// now, and whether there is one; a stale walk is dropped.
func (l *authorizers) recent(authorizer string, now time.Time, keep time.Duration) (refresh string, listed, fresh bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.refresh == nil {
		return "", false, false
	}
	if now.Sub(l.at) >= keep {
		l.refresh = nil // its memory is not kept past its use
		return "", false, false
	}
	refresh, listed = l.refresh[authorizer]
	return refresh, listed, true
}

// listed is authorizer's refresh token in WeChat's list, from the last
// walk while it is recent, else from a new one.
func (p *Platform) listed(ctx context.Context, authorizer string, now time.Time) (refresh string, ok bool, err error) {
	l := &p.authorizers
	if refresh, ok, fresh := l.recent(authorizer, now, p.cfg.UnlistedFor); fresh {
		return refresh, ok, nil
	}
	walk := l.walks.DoChan("", func() (any, error) {
		// Detached: every shop waiting shares the walk, which outlives
		// any one of them.
		ctx, cancel := context.WithTimeout(context.Background(), listWalkTimeout)
		defer cancel()
		found, err := p.walkAuthorizers(ctx)
		if err == nil {
			l.mu.Lock()
			l.at, l.refresh = p.now(), found
			l.mu.Unlock()
		}
		return nil, err
	})
	select {
	case res := <-walk:
		if res.Err != nil {
			return "", false, res.Err
		}
	case <-ctx.Done():
		return "", false, order.Errorf(codes.UpstreamUnavailable, "WeChat's list of the platform's authorizers is still being read; retry", ctx.Err())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	refresh, ok = l.refresh[authorizer]
	return refresh, ok, nil
}

// walkAuthorizers reads every page of WeChat's list of authorizers.
func (p *Platform) walkAuthorizers(ctx context.Context) (map[string]string, error) {
	found := map[string]string{}
	for offset := int64(0); ; {
		req := authorizerListRequest{ComponentAppID: p.cfg.ComponentAppID, Offset: offset, Count: listPage}
		var r authorizerListReply
		if err := p.componentCall(ctx, pathAuthorizerList, req, &r, &r.Status); err != nil {
			return nil, err
		}
		if err := r.Err(errcodes); err != nil {
			return nil, err
		}
		for _, a := range r.List {
			if a.RefreshToken != "" {
				found[a.AppID] = a.RefreshToken
			}
		}
		offset += int64(len(r.List))
		if len(r.List) == 0 || offset >= r.Total {
			return found, nil
		}
	}
}

// exchange trades a shop's authorization code for its tokens and stores
// them. When WeChat refuses the code (an errcode: 61009, 61010 for a
// second delivery of an event already exchanged) the store is left alone,
// since it may hold what the first delivery stored. When the exchange
// fails otherwise, what was known of the shop is dropped all the same
// (the new authorization invalidated it), so that the shop is recovered
// from WeChat's list on its next call. An event older than the shop's
// last one (at is when it was created) changes nothing. A refresh that crosses the
// exchange does not overwrite it: SaveRefreshed compares the refresh
// token it used.
func (p *Platform) exchange(ctx context.Context, authorizer, code string, at time.Time) error {
	k := Key{Component: p.cfg.ComponentAppID, Authorizer: authorizer}
	defer p.resetShop(authorizer)
	var r queryAuthReply
	start := p.now()
	err := p.componentCall(ctx, pathQueryAuth, queryAuthRequest{ComponentAppID: k.Component, Code: code}, &r, &r.Status)
	if err == nil {
		err = r.Err(errcodes)
	}
	info := r.Info
	if err == nil && (info.Token == "" || info.RefreshToken == "" || info.ExpiresIn <= 0 || info.AppID != "" && info.AppID != authorizer) {
		err = unusable("api_query_auth")
	}
	if r.Errcode.V != 0 {
		return err
	}
	if err != nil {
		_, _ = p.store.Authorize(ctx, k, at, "", Grant{}, 0)
		return err
	}
	g, ttl := grantOf(info.Token, start, info.ExpiresIn)
	_, err = p.store.Authorize(ctx, k, at, info.RefreshToken, g, ttl)
	return err
}

type componentTokenRequest struct {
	AppID  string `json:"component_appid"`
	Secret string `json:"component_appsecret"`
	Ticket string `json:"component_verify_ticket"`
}

type componentTokenReply struct {
	wechat.Status
	Token     string
	ExpiresIn int64
}

var componentTokenFields = flex.NewFields(slices.Concat(wechat.StatusFields, []string{"component_access_token", "expires_in"})...)

func (r *componentTokenReply) ReadReply(d *flex.Decoder) error {
	*r = componentTokenReply{}
	_, err := d.Object(componentTokenFields, func(name string) (err error) {
		switch name {
		case "component_access_token":
			r.Token, err = d.StringValue()
		case "expires_in":
			r.ExpiresIn, err = d.IntValue()
		default:
			err = r.ReadMember(d, name)
		}
		return err
	})
	return err
}

// shopToken is a shop's token as api_query_auth (in authorization_info)
// and api_authorizer_token answer it.
type shopToken struct {
	AppID, Token, RefreshToken string
	ExpiresIn                  int64
}

var shopTokenNames = []string{"authorizer_appid", "authorizer_access_token", "authorizer_refresh_token", "expires_in"}

// readMember reads one of shopTokenNames.
func (s *shopToken) readMember(d *flex.Decoder, name string) (err error) {
	switch name {
	case "authorizer_appid":
		s.AppID, err = d.StringValue()
	case "authorizer_access_token":
		s.Token, err = d.StringValue()
	case "authorizer_refresh_token":
		s.RefreshToken, err = d.StringValue()
	case "expires_in":
		s.ExpiresIn, err = d.IntValue()
	}
	return err
}

type queryAuthRequest struct {
	ComponentAppID string `json:"component_appid"`
	Code           string `json:"authorization_code"`
}

type queryAuthReply struct {
	wechat.Status
	Info shopToken
}

var (
	queryAuthFields = flex.NewFields(slices.Concat(wechat.StatusFields, []string{"authorization_info"})...)
	shopTokenFields = flex.NewFields(shopTokenNames...)
)

func (r *queryAuthReply) ReadReply(d *flex.Decoder) error {
	*r = queryAuthReply{}
	_, err := d.Object(queryAuthFields, func(name string) error {
		if name != "authorization_info" {
			return r.ReadMember(d, name)
		}
		_, err := d.Object(shopTokenFields, func(name string) error { return r.Info.readMember(d, name) })
		return err
	})
	return err
}

type authorizerTokenRequest struct {
	ComponentAppID  string `json:"component_appid"`
	AuthorizerAppID string `json:"authorizer_appid"`
	RefreshToken    string `json:"authorizer_refresh_token"`
}

type authorizerTokenReply struct {
	wechat.Status
	Shop shopToken
}

var authorizerTokenFields = flex.NewFields(slices.Concat(wechat.StatusFields, shopTokenNames)...)

func (r *authorizerTokenReply) ReadReply(d *flex.Decoder) error {
	*r = authorizerTokenReply{}
	_, err := d.Object(authorizerTokenFields, func(name string) error {
		if slices.Contains(wechat.StatusFields, name) {
			return r.ReadMember(d, name)
		}
		return r.Shop.readMember(d, name)
	})
	return err
}

type authorizerListRequest struct {
	ComponentAppID string `json:"component_appid"`
	Offset         int64  `json:"offset"`
	Count          int64  `json:"count"`
}

type authorizerListReply struct {
	wechat.Status
	Total int64
	List  []listedShop
}

// listedShop is one authorizer in api_get_authorizer_list.
type listedShop struct {
	AppID, RefreshToken string
}

var (
	authorizerListFields = flex.NewFields(slices.Concat(wechat.StatusFields, []string{"total_count", "list"})...)
	listedShopFields     = flex.NewFields("authorizer_appid", "refresh_token")
)

func (r *authorizerListReply) ReadReply(d *flex.Decoder) error {
	*r = authorizerListReply{}
	_, err := d.Object(authorizerListFields, func(name string) (err error) {
		switch name {
		case "total_count":
			r.Total, err = d.IntValue()
		case "list":
			r.List, err = flex.List(d, readListedShop)
		default:
			err = r.ReadMember(d, name)
		}
		return err
	})
	return err
}

func readListedShop(d *flex.Decoder, s *listedShop) error {
	_, err := d.Object(listedShopFields, func(name string) (err error) {
		if name == "authorizer_appid" {
			s.AppID, err = d.StringValue()
		} else {
			s.RefreshToken, err = d.StringValue()
		}
		return err
	})
	return err
}
