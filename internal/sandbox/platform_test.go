package sandbox

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/component"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wxpush"
)

// platformClock is a settable clock for a platform's lifetimes.
type platformClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *platformClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *platformClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// received is what the server's platform event URL got: each event
// decrypted with the platform's keys, as component.Platform decrypts it.
type received struct {
	t       *testing.T
	crypter *wxpush.Crypter
	mu      sync.Mutex
	events  []platformEvent
}

func newReceived(t *testing.T) *received {
	token, key := PlatformKeys()
	crypter, err := wxpush.NewCrypter(token, key, ComponentAppID)
	if err != nil {
		t.Fatal(err)
	}
	return &received{t: t, crypter: crypter}
}

func (rc *received) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var env struct {
		AppID   string `xml:"AppId"`
		Encrypt string `xml:"Encrypt"`
	}
	q := r.URL.Query()
	if err := xml.NewDecoder(r.Body).Decode(&env); err != nil || r.URL.Path != ComponentEventsPath || q.Get("encrypt_type") != "aes" || env.AppID != ComponentAppID {
		rc.t.Errorf("a platform event %s %v: %+v, %v", r.URL.Path, q, env, err)
		return
	}
	message, err := rc.crypter.Decrypt(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), env.Encrypt)
	var ev platformEvent
	if err == nil {
		err = xml.Unmarshal(message, &ev)
	}
	if err != nil || ev.AppID != ComponentAppID || strconv.FormatInt(ev.CreateTime, 10) != q.Get("timestamp") {
		rc.t.Errorf("a platform event %s: %+v, %v", message, ev, err)
		return
	}
	rc.mu.Lock()
	rc.events = append(rc.events, ev)
	rc.mu.Unlock()
	_, _ = io.WriteString(w, "success")
}

// last is the last event of type infoType (and shop, if any).
func (rc *received) last(infoType, shop string) platformEvent {
	rc.t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for i := len(rc.events) - 1; i >= 0; i-- {
		if ev := rc.events[i]; ev.InfoType == infoType && (shop == "" || ev.Authorizer == shop) {
			return ev
		}
	}
	rc.t.Fatalf("no %s event for %q among %+v", infoType, shop, rc.events)
	return platformEvent{}
}

// call posts body to the platform at path?query and returns its JSON.
func call(t *testing.T, p http.Handler, path, query, body string) map[string]any {
	t.Helper()
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path+"?"+query, strings.NewReader(body)))
	var v map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
	}
	return v
}

// wantErrcode fails unless v carries errcode code (0: none, or 0).
func wantErrcode(t *testing.T, what string, v map[string]any, code int) {
	t.Helper()
	if got, _ := v["errcode"].(float64); int(got) != code {
		t.Fatalf("%s: %v, want errcode %d", what, v, code)
	}
}

func componentTokenBody(secret, ticket string) string {
	return fmt.Sprintf(`{"component_appid":%q,"component_appsecret":%q,"component_verify_ticket":%q}`, ComponentAppID, secret, ticket)
}

func orderGet(t *testing.T, p http.Handler, token string, id uint64) map[string]any {
	t.Helper()
	return call(t, p, "/channels/ec/order/get", "access_token="+token, fmt.Sprintf(`{"order_id":"%d"}`, id))
}

// A client walks the chain as a provider's server does: ticket, platform
// token, authorization code, shop token, a call of that shop, a refresh
// (which invalidates the token it replaces), a revocation.
func TestPlatformTokenChain(t *testing.T) {
	p := NewPlatform(2, 0, StoreRoutes)
	clock := &platformClock{now: time.Now()}
	p.now = clock.Now
	rc := newReceived(t)
	defer p.Start(rc)()
	shop := p.Shops()[0]
	ticket := rc.last("component_verify_ticket", "").Ticket

	wantErrcode(t, "a wrong secret", call(t, p, pathComponentToken, "", componentTokenBody("nope", ticket)), 40125)
	wantErrcode(t, "a made-up ticket", call(t, p, pathComponentToken, "", componentTokenBody(ComponentSecret, "ticket@@@made-up")), 61006)
	v := call(t, p, pathComponentToken, "", componentTokenBody(ComponentSecret, ticket))
	ctok, _ := v["component_access_token"].(string)
	if ctok == "" || v["expires_in"] != 7200.0 {
		t.Fatalf("api_component_token: %v", v)
	}
	ctq := "component_access_token=" + ctok

	code := rc.last("authorized", shop).Code
	queryAuth := fmt.Sprintf(`{"component_appid":%q,"authorization_code":%q}`, ComponentAppID, code)
	wantErrcode(t, "query_auth with a made-up platform token", call(t, p, pathQueryAuth, "component_access_token=x", queryAuth), 40001)
	v = call(t, p, pathQueryAuth, ctq, queryAuth)
	info, _ := v["authorization_info"].(map[string]any)
	token, _ := info["authorizer_access_token"].(string)
	refresh, _ := info["authorizer_refresh_token"].(string)
	if info["authorizer_appid"] != shop || token == "" || refresh == "" || info["expires_in"] != 7200.0 {
		t.Fatalf("api_query_auth: %v", v)
	}
	wantErrcode(t, "a code used twice", call(t, p, pathQueryAuth, ctq, queryAuth), 61009)

	if o := orderGet(t, p, token, CatalogueFirstID)["order"].(map[string]any); o["order_id"] != strconv.Itoa(CatalogueFirstID) {
		t.Fatalf("the shop's order: %v", o)
	}

	refreshBody := fmt.Sprintf(`{"component_appid":%q,"authorizer_appid":%q,"authorizer_refresh_token":%q}`, ComponentAppID, shop, refresh)
	v = call(t, p, pathAuthorizerToken, ctq, refreshBody)
	fresh, _ := v["authorizer_access_token"].(string)
	if fresh == "" || fresh == token || v["authorizer_refresh_token"] != refresh {
		t.Fatalf("api_authorizer_token: %v", v)
	}
	wantErrcode(t, "the token a refresh replaced", orderGet(t, p, token, CatalogueFirstID), 40001)
	wantErrcode(t, "the refreshed token", orderGet(t, p, fresh, CatalogueFirstID), 0)
	if n := p.Calls(pathAuthorizerToken); n != 1 {
		t.Fatalf("%d refreshes counted, want 1", n)
	}

	v = call(t, p, pathAuthorizerList, ctq, fmt.Sprintf(`{"component_appid":%q,"offset":1,"count":500}`, ComponentAppID))
	list, _ := v["list"].([]any)
	if v["total_count"] != 2.0 || len(list) != 1 || list[0].(map[string]any)["authorizer_appid"] != p.Shops()[1] {
		t.Fatalf("api_get_authorizer_list from 1: %v", v)
	}

	if err := p.Revoke(shop); err != nil {
		t.Fatal(err)
	}
	rc.last("unauthorized", shop)
	wantErrcode(t, "a revoked shop's refresh", call(t, p, pathAuthorizerToken, ctq, refreshBody), 61023)
	wantErrcode(t, "a revoked shop's token", orderGet(t, p, fresh, CatalogueFirstID), 40001)
	v = call(t, p, pathAuthorizerList, ctq, fmt.Sprintf(`{"component_appid":%q,"offset":0,"count":500}`, ComponentAppID))
	if v["total_count"] != 1.0 {
		t.Fatalf("the list after a revocation: %v", v)
	}

	if err := p.Authorize(shop); err != nil {
		t.Fatal(err)
	}
	again := rc.last("authorized", shop)
	v = call(t, p, pathQueryAuth, ctq, fmt.Sprintf(`{"component_appid":%q,"authorization_code":%q}`, ComponentAppID, again.Code))
	if info := v["authorization_info"].(map[string]any); info["authorizer_refresh_token"] == refresh {
		t.Fatalf("re-authorizing kept the refresh token: %v", v)
	}
	wantErrcode(t, "the refresh token of the grant before", call(t, p, pathAuthorizerToken, ctq, refreshBody), 61023)

	clock.Add(tokenLifetime)
	wantErrcode(t, "an expired platform token", call(t, p, pathAuthorizerToken, ctq, refreshBody), 42001)
}

// The verify ticket comes again every TicketInterval (PushTicket); each is
// good for 12 hours.
func TestPlatformTicket(t *testing.T) {
	p := NewPlatform(2, 0, StoreRoutes)
	clock := &platformClock{now: time.Now()}
	p.now = clock.Now
	rc := newReceived(t)
	defer p.Start(rc)()
	first := rc.last("component_verify_ticket", "").Ticket
	clock.Add(TicketInterval)
	if err := p.PushTicket(); err != nil {
		t.Fatal(err)
	}
	second := rc.last("component_verify_ticket", "").Ticket
	if second == first {
		t.Fatal("the same ticket twice")
	}
	wantErrcode(t, "the earlier ticket", call(t, p, pathComponentToken, "", componentTokenBody(ComponentSecret, first)), 0)
	clock.Add(ticketLifetime - TicketInterval)
	wantErrcode(t, "a ticket 12 hours old", call(t, p, pathComponentToken, "", componentTokenBody(ComponentSecret, first)), 61005)
	wantErrcode(t, "the later ticket", call(t, p, pathComponentToken, "", componentTokenBody(ComponentSecret, second)), 0)
}

// The shops share no order, after-sale order or buyer, and one shop's
// token reads none of another's.
func TestPlatformShopsAreApart(t *testing.T) {
	p := NewPlatform(3, 0, StoreRoutes)
	owner := map[uint64]string{}
	buyers := map[string]string{}
	for _, appID := range p.Shops() {
		c := &p.Shop(appID).catalogue
		for _, o := range c.orders {
			id := o["order_id"].(uint64)
			if other, ok := owner[id]; ok {
				t.Fatalf("order %d in %s and %s", id, other, appID)
			}
			owner[id] = appID
			buyer := o["openid"].(string)
			if other := buyers[buyer]; other != "" && other != appID {
				t.Fatalf("buyer %s in %s and %s", buyer, other, appID)
			}
			buyers[buyer] = appID
		}
	}
	if first := p.Shop(p.Shops()[0]).catalogue.orders[0]; first["order_id"] != uint64(CatalogueFirstID) || first["openid"] != "oSandboxBuyer1" {
		t.Fatalf("shop 1's catalogue is not a sandbox's own: %v", first)
	}

	rc := newReceived(t)
	defer p.Start(rc)()
	ctok := call(t, p, pathComponentToken, "", componentTokenBody(ComponentSecret, rc.last("component_verify_ticket", "").Ticket))["component_access_token"].(string)
	tokens := map[string]string{}
	for _, appID := range p.Shops() {
		v := call(t, p, pathQueryAuth, "component_access_token="+ctok, fmt.Sprintf(`{"component_appid":%q,"authorization_code":%q}`, ComponentAppID, rc.last("authorized", appID).Code))
		tokens[appID] = v["authorization_info"].(map[string]any)["authorizer_access_token"].(string)
	}
	for i, a := range p.Shops() {
		for j, b := range p.Shops() {
			id, afterSale := ShippableOrderID+shopOffset(j), RefundAfterSaleID+shopOffset(j)
			v := orderGet(t, p, tokens[a], id)
			as := call(t, p, "/channels/ec/aftersale/getaftersaleorder", "access_token="+tokens[a], fmt.Sprintf(`{"after_sale_order_id":"%d"}`, afterSale))
			if i != j {
				wantErrcode(t, a+" reading "+b+"'s order", v, 100002)
				wantErrcode(t, a+" reading "+b+"'s after-sale order", as, 10020000)
				continue
			}
			wantErrcode(t, a+" reading its order", v, 0)
			if o := v["order"].(map[string]any); o["order_id"] != strconv.FormatUint(id, 10) || o["openid"] != catalogueBuyer(i, ShippableOrderID-CatalogueFirstID) {
				t.Fatalf("%s's order %d: %v", a, id, o)
			}
			if rec := as["after_sale_order"].(map[string]any); rec["order_id"] != strconv.FormatUint(CatalogueFirstID+shopOffset(j)+RefundAfterSaleID-CatalogueAfterSaleFirstID, 10) {
				t.Fatalf("%s's after-sale order %d: %v", a, afterSale, rec)
			}
		}
	}
	// A list shows the shop's own catalogue.
	now := time.Now().Unix()
	v := call(t, p, "/channels/ec/order/list/get", "access_token="+tokens[p.Shops()[1]], fmt.Sprintf(`{"create_time_range":{"start_time":%d,"end_time":%d},"page_size":10,"next_key":""}`, now-86400, now))
	if ids, _ := v["order_id_list"].([]any); len(ids) == 0 || owner[mustID(t, ids[0])] != p.Shops()[1] {
		t.Fatalf("shop 2's list: %v", v)
	}
}

func mustID(t *testing.T, v any) uint64 {
	t.Helper()
	id, err := strconv.ParseUint(fmt.Sprint(v), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// The server's own platform (package component), pointed at the sandbox
// platform and started by its events, gets every shop's token and calls
// the shop with it; a revocation and a new authorization reach it.
func TestPlatformDrivesComponent(t *testing.T) {
	p := NewPlatform(2, 0, StoreRoutes)
	srv := httptest.NewServer(p)
	defer srv.Close()
	token, key := PlatformKeys()
	transport := wechat.NewTransport(wechat.TransportConfig{BaseURL: srv.URL})
	comp, err := component.New(component.Config{
		ComponentAppID: ComponentAppID, ComponentSecret: ComponentSecret, Token: token, AESKey: key, Transport: transport,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Start(comp)()
	ctx := context.Background()
	for i, appID := range p.Shops() {
		tok, err := comp.ShopTokens(appID).Token(ctx)
		if err != nil {
			t.Fatalf("%s: %v", appID, err)
		}
		wantErrcode(t, appID+"'s token from the component", orderGet(t, p, tok, CatalogueFirstID+shopOffset(i)), 0)
	}
	if n := p.Calls(pathQueryAuth); n != 2 {
		t.Fatalf("%d codes exchanged, want one a shop", n)
	}
	if n := p.Calls(pathComponentToken); n != 1 {
		t.Fatalf("%d platform tokens, want 1", n)
	}

	shop := p.Shops()[1]
	if err := p.Revoke(shop); err != nil {
		t.Fatal(err)
	}
	if _, err := comp.ShopTokens(shop).Token(ctx); !errors.Is(err, component.ErrShopNotAuthorized) {
		t.Fatalf("a revoked shop's token: %v", err)
	}
	if err := p.Authorize(shop); err != nil {
		t.Fatal(err)
	}
	tok, err := comp.ShopTokens(shop).Token(ctx)
	if err != nil {
		t.Fatalf("a re-authorized shop's token: %v", err)
	}
	wantErrcode(t, "the re-authorized shop's token", orderGet(t, p, tok, CatalogueFirstID+shopOffset(1)), 0)
	if n := p.Calls(pathAuthorizerToken); n != 0 {
		t.Fatalf("%d refreshes, want none: every token came with its code", n)
	}
	if err := p.PushTicket(); err != nil {
		t.Fatalf("the component refused a ticket: %v", err)
	}
}

// Each shop's Store events reach /wechat/events/<appid>, encrypted with
// the platform's keys and appid: the player's and the write calls'.
func TestPlatformPlayPushesEachShopsEvents(t *testing.T) {
	p := NewPlatform(2, 0, StoreRoutes)
	token, key := PlatformKeys()
	crypter, err := wxpush.NewCrypter(token, key, ComponentAppID)
	if err != nil {
		t.Fatal(err)
	}
	type pushed struct{ path, toUser, orderID string }
	got := make(chan pushed, 100)
	events := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var env struct{ ToUserName, Encrypt string }
		q := r.URL.Query()
		if err := json.NewDecoder(r.Body).Decode(&env); err != nil {
			t.Error(err)
			return
		}
		message, err := crypter.Decrypt(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), env.Encrypt)
		var ev struct {
			OrderInfo struct {
				OrderID string `json:"order_id"`
			} `json:"order_info"`
		}
		if err == nil {
			err = json.Unmarshal(message, &ev)
		}
		if err != nil {
			t.Errorf("a shop's event at %s: %v", r.URL.Path, err)
			return
		}
		select {
		case got <- pushed{r.URL.Path, env.ToUserName, ev.OrderInfo.OrderID}:
		default: // the test has what it needs
		}
		_, _ = io.WriteString(w, "success")
	})
	defer p.Play(time.Millisecond, events)()

	seen := map[string]bool{}
	for len(seen) < 2 {
		e := <-got
		appID := strings.TrimPrefix(e.path, "/wechat/events/")
		if !slices.Contains(p.Shops(), appID) || e.toUser != "gh_"+strings.TrimPrefix(appID, "wx") {
			t.Fatalf("an event at %s from %s", e.path, e.toUser)
		}
		if _, listed := p.Shop(appID).catalogue.index(mustID(t, e.orderID)); !listed {
			t.Fatalf("%s pushed order %s, not of its catalogue", appID, e.orderID)
		}
		seen[appID] = true
	}
}

// The console revokes and re-authorizes a shop, and knows no other.
func TestPlatformConsole(t *testing.T) {
	p := NewPlatform(2, 0, StoreRoutes)
	rc := newReceived(t)
	defer p.Start(rc)()
	console := p.Console()
	post := func(path string) int {
		rec := httptest.NewRecorder()
		console.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, nil))
		return rec.Code
	}
	shop := p.Shops()[1]
	if code := post("/sandbox/shops/" + shop + "/revoke"); code != http.StatusNoContent {
		t.Fatalf("revoke: %d", code)
	}
	rc.last("unauthorized", shop)
	if code := post("/sandbox/shops/" + shop + "/authorize"); code != http.StatusNoContent {
		t.Fatalf("authorize: %d", code)
	}
	if ev := rc.events[len(rc.events)-1]; ev.InfoType != "authorized" || ev.Authorizer != shop || ev.Code == "" {
		t.Fatalf("the authorization: %+v", ev)
	}
	if code := post("/sandbox/shops/wxnosuchshop/revoke"); code != http.StatusNotFound {
		t.Fatalf("an unknown shop: %d", code)
	}
	rec := httptest.NewRecorder()
	console.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/sandbox/shops/"+shop+"/revoke", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", rec.Code)
	}
}
