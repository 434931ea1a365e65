package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ordergraph/ordergraph/internal/redistest"
	"github.com/ordergraph/ordergraph/internal/sandbox"
)

// A JWT for shop A never sees shop B's orders: not by id, not among ids,
// not in a list, and not from the order cache, which A filled with an
// order B then asks for (B's own upstream answers). Process-local cache,
// then the cache in Redis.
func TestProviderShopsSeeOnlyTheirOrders(t *testing.T) {
	for _, tc := range []struct {
		name  string
		redis bool
	}{{"local cache", false}, {"redis cache", true}} {
		t.Run(tc.name, func(t *testing.T) {
			pf, base := platformUpstream(t, 2)
			env := map[string]string{"ORDER_CACHE_TTL": "1m"}
			if tc.redis {
				env["REDIS_URL"] = redistest.Start(t).URL()
			}
			s := providerServer(t, pf, base, env)
			startPlatform(t, pf, s)
			a, b := pf.Shops()[0], pf.Shops()[1]
			asA, asB := shopJWT(t, s, a), shopJWT(t, s, b)
			x, y := shopOrder(1, 0), shopOrder(2, 0)

			wantOrder(t, "A's own order", s.gql(t, asA, orderQuery(x), nil), x)
			wantOrder(t, "B's own order", s.gql(t, asB, orderQuery(y), nil), y)
			wantCode(t, "B's order asked by A", s.gql(t, asA, orderQuery(y), nil), "order", "ORDER_NOT_FOUND")

			r := s.gql(t, asA, fmt.Sprintf(`{ orders(ids: [%q, %q]) { id } }`, x, y), nil)
			if at(r.Data, "orders.0.id") != x || at(r.Data, "orders.1") != nil || r.code("orders.1") != "ORDER_NOT_FOUND" {
				t.Fatalf("orders(ids:) as A: %s", r.Raw)
			}

			r = s.gql(t, asA, `{ listOrders(first: 50) { edges { node { id } } } }`, nil)
			edges, _ := at(r.Data, "listOrders.edges").([]any)
			if len(r.Errors) > 0 || len(edges) == 0 {
				t.Fatalf("A's list: %s", r.Raw)
			}
			for i := range edges {
				id := fmt.Sprint(at(r.Data, fmt.Sprintf("listOrders.edges.%d.node.id", i)))
				if id < shopOrder(1, 0) || id > shopOrder(1, sandbox.CatalogueSize-1) || len(id) != len(x) {
					t.Fatalf("A's list holds %s, not A's: %s", id, r.Raw)
				}
			}

			// A's X is cached; B asking for X is answered by B's upstream.
			before := pf.ShopCalls(b)
			wantCode(t, "A's cached order asked by B", s.gql(t, asB, orderQuery(x), nil), "order", "ORDER_NOT_FOUND")
			if pf.ShopCalls(b) == before {
				t.Fatal("B's question was not asked of B's upstream")
			}
			// The cache is on: A asking again costs A's upstream nothing.
			beforeA := pf.ShopCalls(a)
			wantOrder(t, "A's order again", s.gql(t, asA, orderQuery(x), nil), x)
			if pf.ShopCalls(a) != beforeA {
				t.Fatal("the order cache is off: the test proves nothing")
			}
		})
	}
}

// A listOrders cursor of shop A is BAD_USER_INPUT for shop B, with the
// same sub.
func TestProviderCursorIsTheShops(t *testing.T) {
	pf, base := platformUpstream(t, 2)
	s := providerServer(t, pf, base, map[string]string{"CURSOR_SECRET": "cursor-secret-0123456789abcdef0123"})
	startPlatform(t, pf, s)
	asA, asB := shopJWT(t, s, pf.Shops()[0]), shopJWT(t, s, pf.Shops()[1])
	const list = `query($after: String) { listOrders(first: 5, after: $after) { edges { node { id } } pageInfo { endCursor } } }`
	r := s.gql(t, asA, list, nil)
	cursor, _ := at(r.Data, "listOrders.pageInfo.endCursor").(string)
	if cursor == "" {
		t.Fatalf("A's first page: %s", r.Raw)
	}
	if r := s.gql(t, asA, list, map[string]any{"after": cursor}); len(r.Errors) > 0 || at(r.Data, "listOrders.edges.0.node.id") != shopOrder(1, 5) {
		t.Fatalf("A's own cursor: %s", r.Raw)
	}
	wantCode(t, "A's cursor used by B", s.gql(t, asB, list, map[string]any{"after": cursor}), "listOrders", "BAD_USER_INPUT")
}

// Before WeChat's first verify ticket the server is not ready, says why,
// and a query fails UPSTREAM_AUTH_FAILED saying it waits for the ticket.
func TestProviderWithoutTicket(t *testing.T) {
	pf, base := platformUpstream(t, 2)
	s := providerServer(t, pf, base, nil)
	r := s.do(t, "GET", "/readyz", "", "", nil)
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Raw), "verify ticket") {
		t.Fatalf("/readyz without a ticket: %d %s", r.Status, r.Raw)
	}
	r = s.gql(t, shopJWT(t, s, pf.Shops()[0]), orderQuery(shopOrder(1, 0)), nil)
	wantCode(t, "a query without a ticket", r, "order", "UPSTREAM_AUTH_FAILED")
	if e := r.errorAt("order"); !strings.Contains(e.Message, "verify ticket") {
		t.Fatalf("the message does not say what is awaited: %s", r.Raw)
	}
	startPlatform(t, pf, s)
	if r := s.do(t, "GET", "/readyz", "", "", nil); r.Status != http.StatusOK || !strings.Contains(string(r.Raw), "shops held by this process") {
		t.Fatalf("/readyz with the ticket: %d %s", r.Status, r.Raw)
	}
	wantOrder(t, "with the ticket", s.gql(t, shopJWT(t, s, pf.Shops()[0]), orderQuery(shopOrder(1, 0)), nil), shopOrder(1, 0))
}

// The shop comes from the credential alone: a JWT without the shop claim
// is refused, X-Shop never changes a JWT's shop, and an API key bound to
// shop B reads B's orders only.
func TestProviderCredentialsNameTheShop(t *testing.T) {
	const keyB = "shop-b-key-0f1e2d3c4b5a69788796"
	pf, base := platformUpstream(t, 2)
	a, b := pf.Shops()[0], pf.Shops()[1]
	s := providerServer(t, pf, base, map[string]string{"AUTH_MODE": "jwt,apikey", "API_KEYS": "bkey:merchant:" + sha(keyB) + ":shop=" + b})
	s.secrets = append(s.secrets, keyB)
	startPlatform(t, pf, s)
	x, y := shopOrder(1, 0), shopOrder(2, 0)

	noShop := hs(t, claims("merchant", ""))
	s.secrets = append(s.secrets, noShop)
	r := s.gql(t, bearer(noShop), orderQuery(x), nil)
	if r.Status != http.StatusUnauthorized || !hasCode(r, "UNAUTHENTICATED") || r.Data != nil {
		t.Fatalf("a JWT without shop: %d %s", r.Status, r.Raw)
	}

	asA := shopJWT(t, s, a)
	asA["X-Shop"] = b
	wantOrder(t, "A's JWT with X-Shop B, A's order", s.gql(t, asA, orderQuery(x), nil), x)
	wantCode(t, "A's JWT with X-Shop B, B's order", s.gql(t, asA, orderQuery(y), nil), "order", "ORDER_NOT_FOUND")

	withKey := map[string]string{"X-API-Key": keyB}
	wantOrder(t, "B's key, B's order", s.gql(t, withKey, orderQuery(y), nil), y)
	wantCode(t, "B's key, A's order", s.gql(t, withKey, orderQuery(x), nil), "order", "ORDER_NOT_FOUND")
	withKey["X-Shop"] = a
	wantCode(t, "B's key with X-Shop A, A's order", s.gql(t, withKey, orderQuery(x), nil), "order", "ORDER_NOT_FOUND")

	// A JWT whose shop claim is not an appid is refused too.
	bad := shopJWT(t, s, "not a shop!", func(c jwt.MapClaims) {})
	if r := s.gql(t, bad, orderQuery(x), nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("a JWT with a malformed shop: %d %s", r.Status, r.Raw)
	}
}

// SANDBOX_SHOPS=3: X-Shop picks the shop, its absence is refused naming
// X-Shop, and the console's revoke and authorize take effect.
func TestSandboxShopsConsole(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"WECHAT_APP_ID": "", "WECHAT_APP_SECRET": "", "SANDBOX_SHOPS": "3"})
	shop := func(n int) map[string]string { return map[string]string{"X-Shop": sandbox.ShopAppID(n)} }
	x := shopOrder(1, 0)

	r := s.gql(t, nil, orderQuery(x), nil)
	if r.Status != http.StatusUnauthorized || !hasCode(r, "UNAUTHENTICATED") || !strings.Contains(string(r.Raw), "X-Shop") {
		t.Fatalf("no X-Shop: %d %s", r.Status, r.Raw)
	}
	wantOrder(t, "shop 1", s.gql(t, shop(1), orderQuery(x), nil), x)
	wantCode(t, "shop 2 asking shop 1's order", s.gql(t, shop(2), orderQuery(x), nil), "order", "ORDER_NOT_FOUND")
	wantOrder(t, "shop 3", s.gql(t, shop(3), orderQuery(shopOrder(3, 4)), nil), shopOrder(3, 4))

	if r := s.do(t, "POST", "/sandbox/shops/"+sandbox.ShopAppID(1)+"/revoke", "", "", nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.Status, r.Raw)
	}
	wantCode(t, "shop 1 revoked", s.gql(t, shop(1), orderQuery(x), nil), "order", "SHOP_NOT_AUTHORIZED")
	wantOrder(t, "shop 3 while 1 is revoked", s.gql(t, shop(3), orderQuery(shopOrder(3, 4)), nil), shopOrder(3, 4))
	if r := s.do(t, "POST", "/sandbox/shops/"+sandbox.ShopAppID(1)+"/authorize", "", "", nil); r.Status != http.StatusNoContent {
		t.Fatalf("authorize: %d %s", r.Status, r.Raw)
	}
	wantOrder(t, "shop 1 authorized again", s.gql(t, shop(1), orderQuery(x), nil), x)
	if r := s.do(t, "POST", "/sandbox/shops/wxnotashop/revoke", "", "", nil); r.Status != http.StatusNotFound {
		t.Fatalf("an unknown shop's revoke: %d", r.Status)
	}
}

// A push for a shop no replica holds (forgotten past MAX_ACTIVE_SHOPS)
// drops what the shop keeps in Redis before it is answered: the replica
// that builds the shop next reads its pages and orders afresh.
func TestProviderPushForAShopNotHeldForgetsItsCaches(t *testing.T) {
	pf, base := platformUpstream(t, 2)
	s := providerServer(t, pf, base, map[string]string{"REDIS_URL": redistest.Start(t).URL(), "MAX_ACTIVE_SHOPS": "1"})
	startPlatform(t, pf, s)
	a, b := pf.Shops()[0], pf.Shops()[1]
	asA, asB := shopJWT(t, s, a), shopJWT(t, s, b)
	statuses := func() map[string]any {
		r := s.gql(t, asA, `{ listOrders(first: 50) { edges { node { id status } } } }`, nil)
		out := map[string]any{}
		for i := 0; at(r.Data, fmt.Sprintf("listOrders.edges.%d", i)) != nil; i++ {
			out[fmt.Sprint(at(r.Data, fmt.Sprintf("listOrders.edges.%d.node.id", i)))] = at(r.Data, fmt.Sprintf("listOrders.edges.%d.node.status", i))
		}
		return out
	}
	before := statuses() // A's page, kept in Redis
	if r := s.gql(t, asB, `{ listOrders(first: 1) { edges { node { id } } } }`, nil); len(r.Errors) > 0 {
		t.Fatal(string(r.Raw))
	} // B's request makes the process forget A
	id, event := pf.Shop(a).Advance(time.Now())
	pushShop(t, s, a, string(event))
	key := fmt.Sprint(id)
	if after := statuses(); before[key] == nil || after[key] == before[key] {
		t.Fatalf("order %s was %v and is %v after its push was answered", key, before[key], after[key])
	}
}
