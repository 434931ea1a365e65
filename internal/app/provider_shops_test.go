package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/redistest"
	"github.com/ordergraph/ordergraph/internal/sandbox"
)

// subscribeAs opens an orderEvents subscription on s with auth's JWT.
func subscribeAs(t *testing.T, s *server, auth map[string]string) *wsClient {
	t.Helper()
	c, err := dialWS(t, s, map[string]any{"authorization": auth["Authorization"]})
	if err != nil {
		t.Fatal(err)
	}
	c.subscribe("1", eventsQuery)
	return c
}

// wantEvent fails unless c's next message is an event of order id.
func wantEvent(t *testing.T, who string, c *wsClient, id string) {
	t.Helper()
	m := c.next(5 * time.Second)
	if m.Type != "next" || !strings.Contains(string(m.Payload), `"orderId":"`+id+`","at"`) || !strings.Contains(string(m.Payload), `"order":{"id":"`+id+`"`) {
		t.Fatalf("%s: want the event of %s, got %s %s", who, id, m.Type, m.Payload)
	}
}

// A push for shop A reaches shop A's subscribers only: B's subscriber's
// first event is the one pushed for B after A's. On one server, then on
// two replicas sharing Redis, pushed to one, subscribers on both.
func TestProviderEventsReachTheirShopOnly(t *testing.T) {
	for _, withRedis := range []bool{false, true} {
		t.Run(fmt.Sprint("one server, redis=", withRedis), func(t *testing.T) {
			oneServerEvents(t, withRedis)
		})
	}
	t.Run("two replicas", func(t *testing.T) {
		twoReplicaEvents(t)
	})
}

func oneServerEvents(t *testing.T, withRedis bool) {
	{
		pf, base := platformUpstream(t, 2)
		env := map[string]string{}
		if withRedis {
			env["REDIS_URL"] = redistest.Start(t).URL()
		}
		s := providerServer(t, pf, base, env)
		startPlatform(t, pf, s)
		a, b := pf.Shops()[0], pf.Shops()[1]
		subA, subB := subscribeAs(t, s, shopJWT(t, s, a)), subscribeAs(t, s, shopJWT(t, s, b))
		subscribed(t, s, 2)
		pushShop(t, s, a, storeEvent("channels_ec_order_pay", 2_000_001, 1714112445))
		wantEvent(t, "A's subscriber", subA, shopOrder(1, 1))
		pushShop(t, s, b, storeEvent("channels_ec_order_pay", 12_000_002, 1714112446))
		wantEvent(t, "B's subscriber", subB, shopOrder(2, 2))
		pushShop(t, s, a, storeEvent("channels_ec_order_deliver", 2_000_003, 1714112447))
		wantEvent(t, "A's subscriber, after B's event", subA, shopOrder(1, 3))
		// A's signed message posted again to B's URL is taken as the
		// duplicate it is: B hears only its own next event.
		replay := storeEvent("channels_ec_order_deliver", 2_000_004, 1714112448)
		pushShop(t, s, a, replay)
		wantEvent(t, "A's subscriber", subA, shopOrder(1, 4))
		pushShop(t, s, b, replay)
		pushShop(t, s, b, storeEvent("channels_ec_order_deliver", 12_000_005, 1714112449))
		wantEvent(t, "B's subscriber, after A's message replayed to B's URL", subB, shopOrder(2, 5))
	}
}

func twoReplicaEvents(t *testing.T) {
	{
		pf, base := platformUpstream(t, 2)
		env := map[string]string{"REDIS_URL": redistest.Start(t).URL()}
		r1, r2 := providerServer(t, pf, base, env), providerServer(t, pf, base, env)
		startPlatform(t, pf, r1) // WeChat's platform events reach one replica
		a, b := pf.Shops()[0], pf.Shops()[1]
		subA1 := subscribeAs(t, r1, shopJWT(t, r1, a))
		subA2, subB2 := subscribeAs(t, r2, shopJWT(t, r2, a)), subscribeAs(t, r2, shopJWT(t, r2, b))
		subB1 := subscribeAs(t, r1, shopJWT(t, r1, b))
		subscribed(t, r1, 2)
		subscribed(t, r2, 2)
		pushShop(t, r1, a, storeEvent("channels_ec_order_pay", 2_000_001, 1714112445))
		wantEvent(t, "A's subscriber on the replica pushed to", subA1, shopOrder(1, 1))
		wantEvent(t, "A's subscriber on the other replica", subA2, shopOrder(1, 1))
		pushShop(t, r2, b, storeEvent("channels_ec_order_pay", 12_000_002, 1714112446))
		wantEvent(t, "B's subscriber on the replica pushed to", subB2, shopOrder(2, 2))
		wantEvent(t, "B's subscriber on the other replica", subB1, shopOrder(2, 2))
	}
}

// A shop that revokes its authorization: every field that needs WeChat
// fails SHOP_NOT_AUTHORIZED without calling WeChat at all, the other shop
// is served, and authorizing again serves the shop again.
func TestProviderRevokedShop(t *testing.T) {
	pf, base := platformUpstream(t, 2)
	// With the order cache on: what it kept of the shop is not served either.
	s := providerServer(t, pf, base, map[string]string{"MAX_QUERY_COST": "100000", "ORDER_CACHE_TTL": "1m"})
	startPlatform(t, pf, s)
	a, b := pf.Shops()[0], pf.Shops()[1]
	asA, asB := shopJWT(t, s, a), shopJWT(t, s, b)
	x := shopOrder(1, 0)
	wantOrder(t, "A before", s.gql(t, asA, orderQuery(x), nil), x)

	if err := pf.Revoke(a); err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{
		"order":                  orderQuery(x),
		"orders.0":               fmt.Sprintf(`{ orders(ids: [%q]) { id } }`, x),
		"listOrders":             `{ listOrders(first: 5) { edges { node { id } } } }`,
		"searchOrders":           `{ searchOrders(first: 5, filter: {title: "杯"}) { edges { node { id } } } }`,
		"aftersaleOrder":         fmt.Sprintf(`{ aftersaleOrder(id: "%d") { id } }`, sandbox.CatalogueAfterSaleFirstID),
		"deliveryCompanies":      `{ deliveryCompanies { name } }`,
		"aftersaleRejectReasons": `{ aftersaleRejectReasons { reasonType } }`,
		"returnAddresses":        `{ returnAddresses { id } }`,
	}
	for round := range 2 {
		before := pf.AllCalls()
		for path, q := range fields {
			wantCode(t, fmt.Sprintf("round %d, %s of a revoked shop", round, path), s.gql(t, asA, q, nil), path, "SHOP_NOT_AUTHORIZED")
		}
		if n := pf.AllCalls() - before; n != 0 {
			t.Fatalf("round %d: a revoked shop's queries made %d calls to WeChat", round, n)
		}
	}
	wantOrder(t, "B while A is revoked", s.gql(t, asB, orderQuery(shopOrder(2, 0)), nil), shopOrder(2, 0))

	if err := pf.Authorize(a); err != nil {
		t.Fatal(err)
	}
	wantOrder(t, "A authorized again", s.gql(t, asA, orderQuery(x), nil), x)
}

// One shop's calls failing opens that shop's breaker alone: its calls
// then fail fast ("paused") without reaching WeChat, while the other
// shop is served.
func TestProviderBreakerIsTheShops(t *testing.T) {
	pf, base := platformUpstream(t, 2)
	// No cache: every query must reach WeChat to meet the failures.
	s := providerServer(t, pf, base, map[string]string{"UPSTREAM_RETRIES": "0", "ORDER_CACHE_TTL": "0s"})
	startPlatform(t, pf, s)
	a, b := pf.Shops()[0], pf.Shops()[1]
	asA, asB := shopJWT(t, s, a), shopJWT(t, s, b)
	wantOrder(t, "A before", s.gql(t, asA, orderQuery(shopOrder(1, 0)), nil), shopOrder(1, 0))
	if err := pf.FailShop(a, http.StatusInternalServerError); err != nil {
		t.Fatal(err)
	}
	paused := false
	for i := 0; i < 60 && !paused; i++ {
		r := s.gql(t, asA, orderQuery(shopOrder(1, i%50)), nil)
		wantCode(t, "A failing", r, "order", "UPSTREAM_UNAVAILABLE")
		paused = strings.Contains(r.errorAt("order").Message, "paused")
	}
	if !paused {
		t.Fatal("A's breaker never opened")
	}
	before := pf.ShopCalls(a)
	r := s.gql(t, asA, orderQuery(shopOrder(1, 0)), nil)
	if !strings.Contains(string(r.Raw), "paused") || pf.ShopCalls(a) != before {
		t.Fatalf("A's call with its breaker open reached WeChat (%d calls) or was not paused: %s", pf.ShopCalls(a)-before, r.Raw)
	}
	wantOrder(t, "B while A's breaker is open", s.gql(t, asB, orderQuery(shopOrder(2, 0)), nil), shopOrder(2, 0))
}

// UPSTREAM_RATE_LIMIT is per shop: A spending its rate is refused
// UPSTREAM_RATE_LIMITED, and B is served at once. In process, then with
// the limit kept in Redis.
func TestProviderRateLimitIsTheShops(t *testing.T) {
	for _, withRedis := range []bool{false, true} {
		t.Run(fmt.Sprint("redis=", withRedis), func(t *testing.T) {
			pf, base := platformUpstream(t, 2)
			env := map[string]string{"UPSTREAM_RATE_LIMIT": "1"}
			if withRedis {
				env["REDIS_URL"] = redistest.Start(t).URL()
			}
			s := providerServer(t, pf, base, env)
			startPlatform(t, pf, s)
			a, b := pf.Shops()[0], pf.Shops()[1]
			asA, asB := shopJWT(t, s, a), shopJWT(t, s, b)
			r := s.gql(t, asA, fmt.Sprintf(`{ orders(ids: [%q, %q, %q]) { id } }`, shopOrder(1, 0), shopOrder(1, 1), shopOrder(1, 2)), nil)
			if !hasCode(r, "UPSTREAM_RATE_LIMITED") {
				t.Fatalf("three calls at 1 a second: %s", r.Raw)
			}
			// A limit shared with A would make B wait a second: longer
			// than a call may wait, so B would be refused too.
			wantOrder(t, "B right after A spent its rate", s.gql(t, asB, orderQuery(shopOrder(2, 0)), nil), shopOrder(2, 0))
		})
	}
}

// Three replicas sharing Redis under concurrent queries of one shop:
// when WeChat refuses the shop's token (40001), the fleet refreshes it
// once, and every query succeeds.
func TestProviderOneRefreshAcrossReplicas(t *testing.T) {
	pf, base := platformUpstream(t, 2)
	// No cache: every query must reach WeChat with the shop's token.
	env := map[string]string{"REDIS_URL": redistest.Start(t).URL(), "ORDER_CACHE_TTL": "0s"}
	replicas := []*server{providerServer(t, pf, base, env), providerServer(t, pf, base, env), providerServer(t, pf, base, env)}
	startPlatform(t, pf, replicas[0])
	a := pf.Shops()[0]
	auth := make([]map[string]string, len(replicas))
	for i, s := range replicas {
		auth[i] = shopJWT(t, s, a)
	}
	const refresh = "/cgi-bin/component/api_authorizer_token"
	wave := func(what string) {
		t.Helper()
		var wg sync.WaitGroup
		for i := range 60 {
			wg.Go(func() {
				s, id := replicas[i%3], shopOrder(1, i%40)
				if r := s.gql(t, auth[i%3], orderQuery(id), nil); len(r.Errors) > 0 || at(r.Data, "order.id") != id {
					t.Errorf("%s: replica %d, order %s: %s", what, i%3, id, r.Raw)
				}
			})
		}
		wg.Wait()
	}
	wave("cold")
	if n := pf.Calls(refresh); n != 0 {
		t.Fatalf("the token the authorization gave was refreshed %d times", n)
	}
	if err := pf.RefuseToken(a); err != nil {
		t.Fatal(err)
	}
	wave("after the token was refused")
	if n := pf.Calls(refresh); n != 1 {
		t.Fatalf("a refused token cost %d refreshes across 3 replicas, want 1", n)
	}
	wave("after")
	if n := pf.Calls(refresh); n != 1 {
		t.Fatalf("%d refreshes in all, want 1", n)
	}
}
