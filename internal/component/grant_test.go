package component_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/component"
	"github.com/ordergraph/ordergraph/internal/redistest"
	"github.com/ordergraph/ordergraph/internal/wechat"
)

// A background refresh that fails (slowly, here) does not fail the calls
// that follow while the token in hand is still valid.
func TestFailedRefreshStillServesValidToken(t *testing.T) {
	f, c := newFake(t), newClock()
	p := ready(t, f, c, nil)
	shop := p.ShopTokens(shopA)
	tok := mustToken(t, shop)
	inner := f.Server.Config.Handler
	f.Server.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == pathAuthorizerToken {
			c.Add(4 * time.Second) // the refresh takes 4 s, then fails
			errcode(w, -1)
			return
		}
		inner.ServeHTTP(w, r)
	})
	c.Add(tokenLifetime - 2*time.Minute) // inside the margin, valid 2 more minutes
	if got := mustToken(t, shop); got != tok {
		t.Fatalf("token changed to %q", got)
	}
	for i := 0; f.authorizerTokenCalls.Load() == 0 && i < 1000; i++ {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the failure is recorded
	c.Add(1500 * time.Millisecond)    // past Recheck, within the cooldown
	if got, err := shop.Token(context.Background()); err != nil || got != tok {
		t.Fatalf("a valid token was not served after a failed refresh: %q %v", got, err)
	}
}

// crossReauthorization makes the next refresh's answer arrive after the
// shop authorized the platform again, then checks that the shop is still
// authorized.
func crossReauthorization(t *testing.T, store component.Store) {
	f, c := newFake(t), newClock()
	p := ready(t, f, c, store)
	shop := p.ShopTokens(shopA)
	mustToken(t, shop)
	inner := f.Server.Config.Handler
	crossed := false
	f.Server.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == pathAuthorizerToken && !crossed {
			crossed = true
			rec := httptest.NewRecorder()
			inner.ServeHTTP(rec, r) // WeChat answers the refresh...
			// ...and the shop authorizes again before the answer is stored.
			mustPost(t, p, c, componentAppID, authorizedEvent(componentAppID, shopA, f.authorize(shopA), c))
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		inner.ServeHTTP(w, r)
	})
	c.Add(tokenLifetime + time.Minute)
	client := wechat.NewClient(wechat.NewTransport(wechat.TransportConfig{BaseURL: f.URL}), shop)
	var rep orderGetReply
	if err := client.Call(context.Background(), "/channels/ec/order/get", map[string]string{"order_id": "1"}, &rep, nil); err != nil {
		t.Fatalf("call across the re-authorization: %v", err)
	}
	c.Add(10 * time.Second)
	if _, err := shop.Token(context.Background()); errors.Is(err, component.ErrShopNotAuthorized) {
		t.Fatalf("the shop, authorized at WeChat, is not authorized: %v", err)
	}
	k := component.Key{Component: componentAppID, Authorizer: shopA}
	if sh, _ := store.LoadShop(context.Background(), k); sh.RefreshToken != f.refreshToken(componentAppID, shopA) {
		t.Fatalf("stored refresh token %q, WeChat's is %q", sh.RefreshToken, f.refreshToken(componentAppID, shopA))
	}
}

func TestRefreshCrossingReauthorizationKeepsNewGrant(t *testing.T) {
	crossReauthorization(t, component.NewLocalStore())
}

func TestRefreshCrossingReauthorizationKeepsNewGrantRedis(t *testing.T) {
	crossReauthorization(t, redisStore(t, redistest.Start(t)))
}

// A second delivery of an authorized event (WeChat sends it again when the
// first answer was slow) has a used code, which WeChat refuses: the
// refresh token the first delivery stored stays.
func TestDuplicateAuthorizedEventKeepsRefreshToken(t *testing.T) {
	f, c := newFake(t), newClock()
	store := component.NewLocalStore()
	p := newPlatform(t, f, c, store, componentAppID, nil)
	f.setTicket("ticket@@@1")
	mustPost(t, p, c, componentAppID, ticketEvent(componentAppID, "ticket@@@1", c))
	ev := authorizedEvent(componentAppID, shopA, f.authorize(shopA), c)
	mustPost(t, p, c, componentAppID, ev)
	k := component.Key{Component: componentAppID, Authorizer: shopA}
	before, _ := store.LoadShop(context.Background(), k)
	if before.RefreshToken == "" {
		t.Fatal("the first delivery stored no refresh token")
	}
	mustPost(t, p, c, componentAppID, ev) // the code is used: 61010
	if after, _ := store.LoadShop(context.Background(), k); after != before {
		t.Fatalf("a second delivery changed the shop from %+v to %+v", before, after)
	}
	if g, _ := store.LoadGrant(context.Background(), k); g.Token == "" {
		t.Fatal("a second delivery dropped the shop's token")
	}
}

// An unauthorized event WeChat sends again after the shop authorized the
// platform anew (it retries for hours) does not revoke the newer grant.
func TestLateUnauthorizedEventKeepsNewerGrant(t *testing.T) {
	f, c := newFake(t), newClock()
	p := ready(t, f, c, nil)
	old := unauthorizedEvent(componentAppID, shopA, c)
	c.Add(time.Minute)
	mustPost(t, p, c, componentAppID, authorizedEvent(componentAppID, shopA, f.authorize(shopA), c))
	c.Add(time.Hour)
	mustPost(t, p, c, componentAppID, old)
	if _, err := p.ShopTokens(shopA).Token(context.Background()); err != nil {
		t.Fatalf("an older unauthorized event revoked a newer authorization: %v", err)
	}
}

// A ticket WeChat sends again after a newer one does not replace it.
func TestOlderTicketKeepsNewerOne(t *testing.T) {
	f, c := newFake(t), newClock()
	store := component.NewLocalStore()
	p := newPlatform(t, f, c, store, componentAppID, nil)
	old := ticketEvent(componentAppID, "ticket@@@1", c)
	c.Add(10 * time.Minute)
	mustPost(t, p, c, componentAppID, ticketEvent(componentAppID, "ticket@@@2", c))
	mustPost(t, p, c, componentAppID, old)
	if g, _ := store.LoadTicket(context.Background(), componentAppID); g.Token != "ticket@@@2" || !g.Issued.Equal(c.Now()) {
		t.Fatalf("kept ticket %+v, want ticket@@@2 issued at its CreateTime", g)
	}
}
