package app_test

import (
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/sandbox"
)

// held is how many shops s holds, from /readyz.
func held(t *testing.T, s *server) int {
	t.Helper()
	r := s.do(t, "GET", "/readyz", "", "", nil)
	m := regexp.MustCompile(`shops held by this process: (\d+)`).FindSubmatch(r.Raw)
	if m == nil {
		t.Fatalf("/readyz: %d %s", r.Status, r.Raw)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// settled is the goroutines and heap in use once the collector ran.
func settled() (goroutines int, heap uint64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return runtime.NumGoroutine(), m.HeapInuse
}

// 1,000 shops authorized the platform while the server was away (it saw
// none of their events): start-up calls nothing for them, each shop's
// token is fetched once, on its first query, the process never holds
// more than MAX_ACTIVE_SHOPS of them, and neither goroutines nor heap
// grow with the number of shops used.
func TestProviderThousandShops(t *testing.T) {
	const shops, active = 1000, 50
	pf, base := servePlatform(t, sandbox.NewLoadPlatform(shops, 0, sandbox.StoreRoutes))
	for _, id := range pf.Shops() {
		if err := pf.Authorize(id); err != nil { // not connected: pushes nothing
			t.Fatal(err)
		}
	}
	s := providerServer(t, pf, base, map[string]string{"MAX_ACTIVE_SHOPS": strconv.Itoa(active), "LOG_LEVEL": "warn"})
	pf.Connect(s.App)
	t.Cleanup(func() { pf.Connect(nil) })
	if err := pf.PushTicket(); err != nil {
		t.Fatal(err)
	}
	const refresh, queryAuth = "/cgi-bin/component/api_authorizer_token", "/cgi-bin/component/api_query_auth"
	if n := pf.Calls(refresh) + pf.Calls(queryAuth); n != 0 {
		t.Fatalf("start-up made %d shop-token calls", n)
	}
	id := strconv.Itoa(sandbox.CatalogueFirstID)
	query := orderQuery(id)
	// use queries each of shops, a few at a time, and checks that each
	// fetched its token once and that the process held at most active.
	use := func(shops []string) {
		t.Helper()
		work := make(chan string)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for shop := range work {
					wantOrderAsync(t, s, shopJWT(t, s, shop), query, id)
				}
			})
		}
		for i, shop := range shops {
			work <- shop
			if i%50 == 49 {
				if n := held(t, s); n > active {
					t.Errorf("the process holds %d shops, more than MAX_ACTIVE_SHOPS %d", n, active)
				}
			}
		}
		close(work)
		wg.Wait()
		for _, shop := range shops {
			if n := pf.ShopCalls(shop); n != 1 {
				t.Fatalf("%s: %d calls", shop, n)
			}
		}
	}
	start := time.Now()
	use(pf.Shops()[:100])
	if n := pf.Calls(refresh); n != 100 {
		t.Fatalf("100 shops used: %d token fetches", n)
	}
	g100, h100 := settled()
	use(pf.Shops()[100:])
	if n := pf.Calls(refresh); n != shops {
		t.Fatalf("%d shops used: %d token fetches", shops, n)
	}
	g1000, h1000 := settled()
	// A shop used again is rebuilt from what the process keeps: its token
	// is not fetched again.
	wantOrder(t, "the first shop again", s.gql(t, shopJWT(t, s, pf.Shops()[0]), query, nil), id)
	if n := pf.Calls(refresh); n != shops {
		t.Fatalf("the first shop used again fetched its token again: %d fetches", n)
	}
	t.Logf("%d shops in %v; goroutines %d → %d, heap in use %d KiB → %d KiB", shops, time.Since(start), g100, g1000, h100>>10, h1000>>10)
	if g1000 > g100+20 {
		t.Errorf("goroutines grew from %d after 100 shops to %d after 1,000", g100, g1000)
	}
	// 900 shops more: what each costs while held is gone once evicted. A
	// heap that grew with every shop would be near 10× (the shops' held
	// pieces dominate); allow the platform's per-shop token records.
	if h1000 > 3*h100 {
		t.Errorf("heap in use grew from %d KiB after 100 shops to %d KiB after 1,000", h100>>10, h1000>>10)
	}
}

// wantOrderAsync is wantOrder from a goroutine of the test's.
func wantOrderAsync(t *testing.T, s *server, auth map[string]string, query, id string) {
	r := s.gql(t, auth, query, nil)
	if len(r.Errors) > 0 || at(r.Data, "order.id") != id {
		t.Errorf("want order %s: %d %s", id, r.Status, r.Raw)
	}
}
