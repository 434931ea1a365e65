package component_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/component"
	"github.com/ordergraph/ordergraph/internal/component/componenttest"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wxpush"
)

const pathAuthorizerToken = "/cgi-bin/component/api_authorizer_token"

func TestLocalStoreContract(t *testing.T) {
	componenttest.StoreContract(t, component.NewLocalStore())
}

// calls is what the fake was asked: platform token, code exchange,
// refresh, list, shop API.
type calls = [5]int64

// ready is a platform that has WeChat's ticket and shopA's authorization.
func ready(t *testing.T, f *fake, c *clock, store component.Store) *component.Platform {
	t.Helper()
	p := newPlatform(t, f, c, store, componentAppID, nil)
	f.setTicket("ticket@@@1")
	mustPost(t, p, c, componentAppID, ticketEvent(componentAppID, "ticket@@@1", c))
	mustPost(t, p, c, componentAppID, authorizedEvent(componentAppID, shopA, f.authorize(shopA), c))
	return p
}

func mustToken(t *testing.T, src wechat.TokenSource) string {
	t.Helper()
	tok, err := src.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func wantNotAuthorized(t *testing.T, err error, errcode int64) {
	t.Helper()
	var oe *order.Error
	if !errors.Is(err, component.ErrShopNotAuthorized) || !errors.As(err, &oe) || oe.Code != codes.ShopNotAuthorized {
		t.Fatalf("got %v, want ErrShopNotAuthorized as SHOP_NOT_AUTHORIZED", err)
	}
	got := int64(0)
	if oe.Errcode != nil {
		got = *oe.Errcode
	}
	if got != errcode {
		t.Fatalf("errcode %d, want %d", got, errcode)
	}
}

// The whole chain: no ticket, ticket, platform token, authorization code,
// shop token, expiry, refresh, a refused token refreshed once.
func TestTokenChain(t *testing.T) {
	f, c := newFake(t), newClock()
	p := newPlatform(t, f, c, nil, componentAppID, nil)
	shop := p.ShopTokens(shopA)
	client := wechat.NewClient(wechat.NewTransport(wechat.TransportConfig{BaseURL: f.URL}), shop)
	orderGet := func() error {
		var r orderGetReply
		return client.Call(context.Background(), "/channels/ec/order/get", map[string]string{"order_id": "1"}, &r, nil)
	}

	// Before WeChat's first ticket nothing can be had, and WeChat is not asked.
	if err := p.Ready(); !errors.Is(err, component.ErrNoTicket) {
		t.Fatalf("Ready before a ticket: %v", err)
	}
	_, err := shop.Token(context.Background())
	if !errors.Is(err, component.ErrNoTicket) || order.ErrorCode(err) != codes.UpstreamAuthFailed || !strings.Contains(err.Error(), "waiting for WeChat's verify ticket") {
		t.Fatalf("a token before a ticket: %v", err)
	}
	if got := f.calls(); got != (calls{}) {
		t.Fatalf("WeChat asked before a ticket: %v", got)
	}

	f.setTicket("ticket@@@1")
	mustPost(t, p, c, componentAppID, ticketEvent(componentAppID, "ticket@@@1", c))
	if err := p.Ready(); err != nil {
		t.Fatalf("Ready with a ticket: %v", err)
	}
	// The authorization code is exchanged as the event arrives.
	mustPost(t, p, c, componentAppID, authorizedEvent(componentAppID, shopA, f.authorize(shopA), c))
	if got := f.calls(); got != (calls{1, 1, 0, 0, 0}) {
		t.Fatalf("after the authorization: %v", got)
	}
	if q := f.queries("/cgi-bin/component/api_query_auth"); len(q) != 1 || q[0].Get("component_access_token") == "" || q[0].Has("access_token") {
		t.Fatalf("api_query_auth was sent %v", q)
	}
	if err := orderGet(); err != nil {
		t.Fatal(err)
	}
	tok1 := mustToken(t, shop)

	// Within its lifetime the token is served as it is.
	c.Add(time.Hour)
	if tok := mustToken(t, shop); tok != tok1 {
		t.Fatalf("the token changed within its lifetime: %s, %s", tok1, tok)
	}
	if got := f.calls(); got != (calls{1, 1, 0, 0, 1}) {
		t.Fatalf("within the lifetime: %v", got)
	}

	// Past their expiry the platform token and the shop's are refreshed,
	// once each, with the stored refresh token.
	c.Add(time.Hour + time.Minute)
	tok2 := mustToken(t, shop)
	if tok2 == tok1 || f.calls() != (calls{2, 1, 1, 0, 1}) {
		t.Fatalf("after expiry: %s (was %s), %v", tok2, tok1, f.calls())
	}
	if f.lastRefresh() != f.refreshToken(componentAppID, shopA) {
		t.Fatalf("refreshed with %q", f.lastRefresh())
	}

	// WeChat refuses the shop token (40001): the client invalidates it, a
	// refresh follows, once, and the call is made once more.
	f.kill(componentAppID, shopA)
	if err := orderGet(); err != nil {
		t.Fatal(err)
	}
	if got := f.calls(); got != (calls{2, 1, 2, 0, 3}) {
		t.Fatalf("after a refused shop token: %v", got)
	}

	// WeChat refuses the platform token during a refresh: the platform
	// token is fetched again and the refresh made once more.
	f.killPlatformTokens()
	f.kill(componentAppID, shopA)
	if err := orderGet(); err != nil {
		t.Fatal(err)
	}
	if got := f.calls(); got != (calls{3, 1, 4, 0, 5}) {
		t.Fatalf("after a refused platform token: %v", got)
	}
}

// Inside the margin before expiry the current token is served and one
// refresh runs in the background.
func TestRefreshAheadOfExpiry(t *testing.T) {
	f, c := newFake(t), newClock()
	p := ready(t, f, c, nil)
	shop := p.ShopTokens(shopA)
	tok1 := mustToken(t, shop)
	c.Add(tokenLifetime - time.Minute)
	for range 20 {
		if tok := mustToken(t, shop); tok != tok1 && f.authorizerTokenCalls.Load() == 0 {
			t.Fatalf("a new token %s without a refresh", tok)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for mustToken(t, shop) == tok1 {
		if time.Now().After(deadline) {
			t.Fatal("the background refresh never landed")
		}
		runtime.Gosched()
	}
	if n := f.authorizerTokenCalls.Load(); n != 1 {
		t.Fatalf("%d refreshes ahead of expiry, want 1", n)
	}
}

// An answer with an errcode, or without a token, is not stored and does
// not touch the stored refresh token; a good answer without a refresh
// token keeps the stored one.
func TestFailedRefreshStoresNothing(t *testing.T) {
	f, c := newFake(t), newClock()
	store := component.NewLocalStore()
	p := ready(t, f, c, store)
	shop := p.ShopTokens(shopA)
	key := component.Key{Component: componentAppID, Authorizer: shopA}
	ctx := context.Background()
	tok1 := mustToken(t, shop)
	refresh := f.refreshToken(componentAppID, shopA)
	stored := func() (string, string) {
		sh, _ := store.LoadShop(ctx, key)
		g, _ := store.LoadGrant(ctx, key)
		return sh.RefreshToken, g.Token
	}
	if r, g := stored(); r != refresh || g != tok1 {
		t.Fatalf("stored after the authorization: %q %q", r, g)
	}

	c.Add(tokenLifetime + time.Minute)
	f.script(pathAuthorizerToken,
		`{"errcode":45009,"errmsg":"reach max api daily quota limit","authorizer_refresh_token":""}`,
		`{"errcode":0,"authorizer_access_token":"","expires_in":7200,"authorizer_refresh_token":""}`)
	_, err := shop.Token(ctx)
	var oe *order.Error
	if !errors.As(err, &oe) || oe.Code != codes.UpstreamRateLimited || oe.Errcode == nil || *oe.Errcode != 45009 {
		t.Fatalf("a refresh answered 45009: %v", err)
	}
	if r, g := stored(); r != refresh || g != tok1 {
		t.Fatalf("stored after an errcode: %q %q", r, g)
	}
	// The failure is answered for the cooldown without asking again.
	if _, err := shop.Token(ctx); !errors.As(err, &oe) || f.authorizerTokenCalls.Load() != 1 {
		t.Fatalf("within the cooldown: %v, %d refreshes", err, f.authorizerTokenCalls.Load())
	}
	c.Add(3 * time.Second)
	if _, err := shop.Token(ctx); order.ErrorCode(err) != codes.UpstreamUnavailable {
		t.Fatalf("a refresh answered no token: %v", err)
	}
	if r, g := stored(); r != refresh || g != tok1 {
		t.Fatalf("stored after an empty answer: %q %q", r, g)
	}

	c.Add(3 * time.Second)
	tok2 := mustToken(t, shop)
	if tok2 == tok1 || f.lastRefresh() != refresh {
		t.Fatalf("the refresh after the failures: %s with %q", tok2, f.lastRefresh())
	}

	c.Add(tokenLifetime + time.Minute)
	f.script(pathAuthorizerToken, `{"authorizer_access_token":"stok-without-refresh","expires_in":7200}`)
	if tok := mustToken(t, shop); tok != "stok-without-refresh" {
		t.Fatalf("got %s", tok)
	}
	if r, g := stored(); r != refresh || g != "stok-without-refresh" {
		t.Fatalf("stored after an answer without a refresh token: %q %q", r, g)
	}
}

// Shops coming back without their refresh tokens (a store emptied) are
// recovered from one walk of WeChat's list, not one walk each.
func TestRecoveriesShareAWalkOfTheList(t *testing.T) {
	f, c := newFake(t), newClock()
	p := newPlatform(t, f, c, component.NewLocalStore(), componentAppID, nil)
	f.setTicket("ticket@@@1")
	mustPost(t, p, c, componentAppID, ticketEvent(componentAppID, "ticket@@@1", c))
	for i := range 600 {
		f.listed = append(f.listed, "wxother"+strconv.Itoa(i))
	}
	shops := []string{"wxshop00000000001", "wxshop00000000002", "wxshop00000000003"}
	for _, shop := range shops {
		f.grant(componentAppID, shop)
	}
	var wg sync.WaitGroup
	for _, shop := range shops {
		wg.Go(func() {
			if _, err := p.ShopTokens(shop).Token(context.Background()); err != nil {
				t.Errorf("%s: %v", shop, err)
			}
		})
	}
	wg.Wait()
	if n := f.listCalls.Load(); n != 2 {
		t.Fatalf("%d list calls for 3 shops at once, want one walk of 2 pages", n)
	}
	// A shop not in the walk just made is not looked for again.
	_, err := p.ShopTokens("wxnotashop000000b").Token(context.Background())
	wantNotAuthorized(t, err, 0)
	if n := f.listCalls.Load(); n != 2 {
		t.Fatalf("an unlisted shop walked the list again: %d calls", n)
	}
	// Later, a new walk: a shop authorized since is found.
	f.grant(componentAppID, "wxshop00000000004")
	c.Add(2 * time.Minute)
	mustToken(t, p.ShopTokens("wxshop00000000004"))
	if n := f.listCalls.Load(); n != 4 {
		t.Fatalf("%d list calls, want a second walk", n)
	}
}

// A shop whose refresh token is not stored is found in WeChat's list of
// authorizers, paged; a shop that is not listed is not authorized.
func TestRecoveryFromAuthorizerList(t *testing.T) {
	f, c := newFake(t), newClock()
	store := component.NewLocalStore()
	p := newPlatform(t, f, c, store, componentAppID, nil)
	f.setTicket("ticket@@@1")
	mustPost(t, p, c, componentAppID, ticketEvent(componentAppID, "ticket@@@1", c))
	for i := range 600 {
		f.listed = append(f.listed, "wxother"+strconv.Itoa(i))
	}
	f.grant(componentAppID, shopA) // listed after the 600: on the second page

	shop := p.ShopTokens(shopA)
	mustToken(t, shop)
	if got := f.calls(); got != (calls{1, 0, 1, 2, 0}) {
		t.Fatalf("recovery: %v", got)
	}
	if f.lastRefresh() != f.refreshToken(componentAppID, shopA) {
		t.Fatalf("refreshed with %q", f.lastRefresh())
	}
	if sh, _ := store.LoadShop(context.Background(), component.Key{Component: componentAppID, Authorizer: shopA}); sh.RefreshToken != f.refreshToken(componentAppID, shopA) {
		t.Fatalf("the recovered refresh token was not stored: %+v", sh)
	}
	// Once stored it is used: the list is not asked again.
	c.Add(tokenLifetime + time.Minute)
	mustToken(t, shop)
	if got := f.calls(); got != (calls{2, 0, 2, 2, 0}) {
		t.Fatalf("the refresh after a recovery: %v", got)
	}

	// A shop WeChat does not list has not authorized the platform, and is
	// not looked for again for a while.
	unknown := p.ShopTokens("wxnotashop000000b")
	_, err := unknown.Token(context.Background())
	wantNotAuthorized(t, err, 0)
	if n := f.listCalls.Load(); n != 4 {
		t.Fatalf("%d list calls, want 4", n)
	}
	c.Add(10 * time.Second)
	_, err = unknown.Token(context.Background())
	wantNotAuthorized(t, err, 0)
	if n := f.listCalls.Load(); n != 4 {
		t.Fatalf("an unlisted shop was looked for again at once: %d list calls", n)
	}
	c.Add(time.Minute)
	_, _ = unknown.Token(context.Background())
	if n := f.listCalls.Load(); n != 6 {
		t.Fatalf("%d list calls a minute later, want 6", n)
	}

	// Not an appid: not authorized, and nothing is asked.
	before := f.calls()
	_, err = p.ShopTokens("wx:shop:token").Token(context.Background())
	wantNotAuthorized(t, err, 0)
	if f.calls() != before {
		t.Fatal("WeChat was asked about a malformed appid")
	}
}

// WeChat refusing the refresh token (61023) makes the shop not authorized,
// and it is not asked again until the shop authorizes anew.
func TestRefusedRefreshToken(t *testing.T) {
	f, c := newFake(t), newClock()
	p := ready(t, f, c, nil)
	shop := p.ShopTokens(shopA)
	mustToken(t, shop)
	f.revoke(componentAppID, shopA) // the grant is gone; no event came

	c.Add(tokenLifetime + time.Minute)
	_, err := shop.Token(context.Background())
	wantNotAuthorized(t, err, 61023)
	before := f.calls()
	for range 3 {
		c.Add(time.Hour)
		_, err := shop.Token(context.Background())
		wantNotAuthorized(t, err, 0)
	}
	if got := f.calls(); got != before {
		t.Fatalf("WeChat was asked again about a revoked shop: %v, then %v", before, got)
	}

	// The shop authorizes again: its tokens come back.
	mustPost(t, p, c, componentAppID, authorizedEvent(componentAppID, shopA, f.authorize(shopA), c))
	mustToken(t, shop)
}

// An unauthorized event makes the shop not authorized at once on the
// replica that received it, and within Recheck on the others, without a
// call to WeChat.
func TestUnauthorizedEvent(t *testing.T) {
	f, c := newFake(t), newClock()
	store := component.NewLocalStore()
	p1 := ready(t, f, c, store)
	p2 := newPlatform(t, f, c, store, componentAppID, nil)
	tok := mustToken(t, p1.ShopTokens(shopA))
	if got := mustToken(t, p2.ShopTokens(shopA)); got != tok {
		t.Fatalf("the replicas hold different tokens: %s, %s", tok, got)
	}
	before := f.calls()

	f.revoke(componentAppID, shopA)
	mustPost(t, p1, c, componentAppID, unauthorizedEvent(componentAppID, shopA, c))
	_, err := p1.ShopTokens(shopA).Token(context.Background())
	wantNotAuthorized(t, err, 0)
	c.Add(5 * time.Second) // Recheck
	_, err = p2.ShopTokens(shopA).Token(context.Background())
	wantNotAuthorized(t, err, 0)
	c.Add(tokenLifetime)
	_, err = p2.ShopTokens(shopA).Token(context.Background())
	wantNotAuthorized(t, err, 0)
	if got := f.calls(); got != before {
		t.Fatalf("WeChat was asked about a revoked shop: %v, then %v", before, got)
	}
}

// Two platforms sharing a store, each authorized by the same shop, keep
// their shop tokens apart.
func TestPlatformsKeepApart(t *testing.T) {
	f, c := newFake(t), newClock()
	store := component.NewLocalStore()
	const comp2 = "wxcomponent0002"
	p1 := ready(t, f, c, store)
	p2 := newPlatform(t, f, c, store, comp2, nil)
	mustPost(t, p2, c, comp2, ticketEvent(comp2, "ticket@@@1", c))
	mustPost(t, p2, c, comp2, authorizedEvent(comp2, shopA, f.authorize(shopA), c))
	for range 2 {
		t1, t2 := mustToken(t, p1.ShopTokens(shopA)), mustToken(t, p2.ShopTokens(shopA))
		if t1 == t2 || f.currentToken(componentAppID, shopA) != t1 || f.currentToken(comp2, shopA) != t2 {
			t.Fatalf("platform tokens mixed up: %s %s", t1, t2)
		}
		c.Add(tokenLifetime + time.Minute)
	}
}

func TestEvents(t *testing.T) {
	f, c := newFake(t), newClock()
	var logs logBuffer
	p := newPlatform(t, f, c, nil, componentAppID, &logs)
	f.setTicket("ticket@@@1")
	good := ticketEvent(componentAppID, "ticket@@@1", c)

	if code, _ := postRaw(p, "", "<xml><Encrypt>x</Encrypt></xml>"); code != http.StatusUnauthorized {
		t.Errorf("an unsigned event: %d", code)
	}
	if code, _ := postRaw(p, "", "not xml"); code != http.StatusBadRequest {
		t.Errorf("a body that is not XML: %d", code)
	}
	get := httptest.NewRecorder()
	p.ServeHTTP(get, httptest.NewRequest(http.MethodGet, "/wechat/component/events", nil))
	if get.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", get.Code)
	}

	crypter, _ := wxpush.NewCrypter(msgToken, aesKey, componentAppID)
	ts := strconv.FormatInt(c.Now().Unix(), 10)
	enc, sig := crypter.Encrypt([]byte(good), [16]byte{1}, ts, "n")
	body := "<xml><AppId><![CDATA[" + componentAppID + "]]></AppId><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>"
	forged := strings.Repeat("0", len(sig))
	if sig == forged {
		forged = strings.Repeat("1", len(sig))
	}
	if code, _ := postRaw(p, "timestamp="+ts+"&nonce=n&msg_signature="+forged, body); code != http.StatusUnauthorized {
		t.Errorf("a bad signature: %d", code)
	}
	other, _ := wxpush.NewCrypter(msgToken, strings.Repeat("B", 43), componentAppID)
	enc2, sig2 := other.Encrypt([]byte(good), [16]byte{1}, ts, "n")
	if code, _ := postRaw(p, "timestamp="+ts+"&nonce=n&msg_signature="+sig2, "<xml><Encrypt>"+enc2+"</Encrypt></xml>"); code != http.StatusUnauthorized {
		t.Errorf("another EncodingAESKey: %d", code)
	}
	// Another platform's event, and one naming another appid inside.
	if code, _ := post(t, p, c, "wxcomponent0009", ticketEvent("wxcomponent0009", "ticket@@@9", c)); code != http.StatusUnauthorized {
		t.Errorf("another platform's event: %d", code)
	}
	if code, _ := post(t, p, c, componentAppID, ticketEvent("wxcomponent0009", "ticket@@@9", c)); code != http.StatusUnauthorized {
		t.Errorf("an event naming another appid: %d", code)
	}
	// A replay older than WeChat retries.
	old := strconv.FormatInt(c.Now().Add(-5*time.Hour).Unix(), 10)
	enc3, sig3 := crypter.Encrypt([]byte(good), [16]byte{1}, old, "n")
	if code, _ := postRaw(p, "timestamp="+old+"&nonce=n&msg_signature="+sig3, "<xml><Encrypt>"+enc3+"</Encrypt></xml>"); code != http.StatusUnauthorized {
		t.Errorf("a replay: %d", code)
	}
	if err := p.Ready(); !errors.Is(err, component.ErrNoTicket) {
		t.Fatalf("a refused event was taken: %v", err)
	}
	// The refusals were logged once, however many.
	if n := strings.Count(logs.String(), "platform event refused"); n != 1 {
		t.Errorf("%d refusals logged, want 1:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "ticket@@@") || strings.Contains(logs.String(), aesKey) {
		t.Errorf("a secret was logged:\n%s", logs.String())
	}

	// An authorization before any ticket cannot be exchanged yet: WeChat
	// is asked to send it again.
	code := f.authorize(shopA)
	if status, _ := post(t, p, c, componentAppID, authorizedEvent(componentAppID, shopA, code, c)); status != http.StatusServiceUnavailable {
		t.Errorf("an authorization before a ticket: %d", status)
	}

	mustPost(t, p, c, componentAppID, good)
	if err := p.Ready(); err != nil {
		t.Fatal(err)
	}
	mustPost(t, p, c, componentAppID, "<xml><AppId>"+componentAppID+"</AppId><InfoType>notify_third_fasteregister</InfoType></xml>")
	mustPost(t, p, c, componentAppID, authorizedEvent(componentAppID, shopA, code, c))
	tok := mustToken(t, p.ShopTokens(shopA))
	// WeChat sends the authorization again (our answer was lost): its code
	// is spent, which is not retried, and the shop stays as the first
	// delivery stored it.
	mustPost(t, p, c, componentAppID, authorizedEvent(componentAppID, shopA, code, c))
	if got := mustToken(t, p.ShopTokens(shopA)); got != tok || f.listCalls.Load() != 0 {
		t.Fatalf("after a spent code: %s (was %s), %d list calls", got, tok, f.listCalls.Load())
	}
	c.Add(tokenLifetime) // and the refresh token it kept refreshes the shop
	if got := mustToken(t, p.ShopTokens(shopA)); got == tok {
		t.Fatalf("the shop's token was not refreshed: %s", got)
	}
	if strings.Contains(logs.String(), "stok-") || strings.Contains(logs.String(), "refresh-") || strings.Contains(logs.String(), "ctok-") ||
		strings.Contains(logs.String(), "ticket@@@") || strings.Contains(logs.String(), componentSecret) {
		t.Errorf("a secret was logged:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "api_authorizer_token?component_access_token=REDACTED") {
		t.Errorf("the calls were not logged as expected:\n%s", logs.String())
	}
}
