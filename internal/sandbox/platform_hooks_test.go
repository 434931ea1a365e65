package sandbox

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// shopToken walks the chain for shop with the last events rc received:
// a platform token, then the shop's token from its authorization code.
func shopToken(t *testing.T, p *Platform, rc *received, shop string) (token, ctq string) {
	t.Helper()
	v := call(t, p, pathComponentToken, "", componentTokenBody(ComponentSecret, rc.last("component_verify_ticket", "").Ticket))
	ctq = "component_access_token=" + v["component_access_token"].(string)
	v = call(t, p, pathQueryAuth, ctq, fmt.Sprintf(`{"component_appid":%q,"authorization_code":%q}`, ComponentAppID, rc.last("authorized", shop).Code))
	return v["authorization_info"].(map[string]any)["authorizer_access_token"].(string), ctq
}

// RefuseToken makes the shop's token answer 40001 and leaves its grant,
// which a refresh turns into a new token; FailShop fails that shop's
// calls alone; the counters count; Issued holds every secret handed out.
func TestPlatformHooks(t *testing.T) {
	p := NewPlatform(2, 0, StoreRoutes)
	rc := newReceived(t)
	defer p.Start(rc)()
	a, b := p.Shops()[0], p.Shops()[1]
	tokA, ctq := shopToken(t, p, rc, a)
	tokB, _ := shopToken(t, p, rc, b)
	wantErrcode(t, "shop A", orderGet(t, p, tokA, CatalogueFirstID), 0)

	if err := p.RefuseToken(a); err != nil {
		t.Fatal(err)
	}
	wantErrcode(t, "a refused token", orderGet(t, p, tokA, CatalogueFirstID), 40001)
	wantErrcode(t, "the other shop", orderGet(t, p, tokB, CatalogueFirstID+ShopIDStride), 0)
	list := call(t, p, pathAuthorizerList, ctq, fmt.Sprintf(`{"component_appid":%q,"offset":0,"count":500}`, ComponentAppID))
	rt := list["list"].([]any)[0].(map[string]any)["refresh_token"].(string)
	v := call(t, p, pathAuthorizerToken, ctq, fmt.Sprintf(`{"component_appid":%q,"authorizer_appid":%q,"authorizer_refresh_token":%q}`, ComponentAppID, a, rt))
	fresh, _ := v["authorizer_access_token"].(string)
	wantErrcode(t, "the token refreshed after a refusal", orderGet(t, p, fresh, CatalogueFirstID), 0)

	if err := p.FailShop(a, http.StatusInternalServerError); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/channels/ec/order/get?access_token="+fresh, strings.NewReader(`{"order_id":"2000000"}`)))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("a failing shop's call answered %d", rec.Code)
	}
	wantErrcode(t, "the other shop while one fails", orderGet(t, p, tokB, CatalogueFirstID+ShopIDStride), 0)
	_ = p.FailShop(a, 0)
	wantErrcode(t, "the shop served again", orderGet(t, p, fresh, CatalogueFirstID), 0)

	// A: its first token's, the refreshed one's, the failing one, the one
	// after; the refused call carries no valid token: it is nobody's. B: 2.
	if ca, cb := p.ShopCalls(a), p.ShopCalls(b); ca != 4 || cb != 2 {
		t.Fatalf("shop calls %d and %d, want 4 and 2", ca, cb)
	}
	if n := p.AllCalls(); n < 11 {
		t.Fatalf("%d calls in all", n)
	}
	for _, secret := range []string{tokA, tokB, fresh, rt, rc.last("component_verify_ticket", "").Ticket, strings.TrimPrefix(ctq, "component_access_token=")} {
		if !slices.Contains(p.Issued(), secret) {
			t.Errorf("%.16s… is not among the issued", secret)
		}
	}
	if err := p.FailShop("wxnope", 500); err != ErrNoShop {
		t.Fatal(err)
	}
}

// Connected, the platform pushes nothing of what happened before: shops
// authorized meanwhile are only in the list of authorizers.
func TestPlatformConnect(t *testing.T) {
	p := NewPlatform(2, 0, StoreRoutes)
	for _, s := range p.Shops() {
		if err := p.Authorize(s); err != nil {
			t.Fatal(err)
		}
	}
	rc := newReceived(t)
	p.Connect(rc)
	if err := p.PushTicket(); err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	n := len(rc.events)
	rc.mu.Unlock()
	if n != 1 || rc.last("component_verify_ticket", "").Ticket == "" {
		t.Fatalf("%d events pushed, want the ticket alone", n)
	}
	v := call(t, p, pathComponentToken, "", componentTokenBody(ComponentSecret, rc.last("component_verify_ticket", "").Ticket))
	ctq := "component_access_token=" + v["component_access_token"].(string)
	if v := call(t, p, pathAuthorizerList, ctq, fmt.Sprintf(`{"component_appid":%q,"offset":0,"count":500}`, ComponentAppID)); v["total_count"] != 2.0 {
		t.Fatalf("%v", v)
	}
	p.Connect(nil)
}

// A load platform of thousands of shops is quick to make, and each shop
// serves the shared catalogue with its own token.
func TestLoadPlatform(t *testing.T) {
	start := time.Now()
	p := NewLoadPlatform(2000, 0, StoreRoutes)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("2,000 shops took %v", d)
	}
	rc := newReceived(t)
	p.Connect(rc)
	_ = p.PushTicket()
	last := p.Shops()[1999]
	_ = p.Authorize(last)
	tok, _ := shopToken(t, p, rc, last)
	wantErrcode(t, "the last shop", orderGet(t, p, tok, CatalogueFirstID), 0)
	if p.ShopCalls(last) != 1 {
		t.Fatal("not counted")
	}
}
