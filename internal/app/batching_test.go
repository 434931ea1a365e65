package app_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/config"
)

// batchingServer is a Mini Shop server whose after-sale batches collect ids
// for a second rather than 5 ms. What tests that count batches check is
// that the ids of a whole query are waiting at once, which holds only when
// the orders are marshalled concurrently (in place, 60 orders made 55
// calls). With 5 ms, a machine too busy to run the request in that time
// splits the batches all the same: on two loaded cores a run's after-sale
// ids arrived over 27 ms, and under the race detector most runs of 60
// aliases split.
func batchingServer(t *testing.T) *server {
	return mustOpenServer(t, map[string]string{"MAX_QUERY_COST": "1000", "MAX_ALIASES": "1000"}, func(c *config.Config) {
		c.HTTP.Loader.AfterSaleWait = time.Second
	})
}

// afterSalesBelow is what each order is asked for in these tests: its
// after-sale orders, each loaded through the request's after-sale loader.
const afterSalesBelow = `id aftersaleDetail { aftersaleOrderList { aftersaleOrderId aftersaleOrder { id } } }`

// shopWithAfterSales puts 60 Mini Shop orders created in May 2024 on the
// fake, naming 1, 2 or 3 after-sale orders each in turn: 120 names of 109
// distinct after-sale orders (the last 11 are named by earlier orders too).
// It returns the order ids, newest first as listOrders answers them.
func shopWithAfterSales(s *server) []string {
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	var ids []string
	named := 0
	for i := range 60 {
		id := uint64(8_000_000 + i)
		var list []string
		for range 1 + i%3 {
			a := 5_000 + uint64(named%109)
			named++
			s.Fake.SetAfterSale(a, afterSaleRecord(a, id, "oBuyer"))
			list = append(list, fmt.Sprintf(`{"aftersale_order_id":%d,"status":13}`, a))
		}
		created := start.Add(time.Duration(i) * time.Hour).Format("2006-01-02 15:04:05")
		s.Fake.SetOrder(id, fmt.Sprintf(`{"order_id":%d,"status":20,"openid":"oBuyer","create_time":%q,"update_time":%q,
			"aftersale_detail":{"aftersale_order_list":[%s]}}`, id, created, created, strings.Join(list, ",")))
		ids = append(ids, fmt.Sprint(id))
	}
	slices.Reverse(ids)
	return ids
}

// assertAfterSalesBatched checks that every order at paths came with each
// of its after-sale orders, and that the 109 distinct ids cost exactly 3
// batchgetaftersaleorder calls: ids that arrive one order at a time would
// each start a batch of their own.
func assertAfterSalesBatched(t *testing.T, s *server, r *gqlResponse, paths []string) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("%s", r.Raw)
	}
	for _, p := range paths {
		list, _ := at(r.Data, p+".aftersaleDetail.aftersaleOrderList").([]any)
		if len(list) == 0 {
			t.Fatalf("%s: no after-sale orders: %s", p, r.Raw)
		}
		for i := range list {
			named := at(r.Data, fmt.Sprintf("%s.aftersaleDetail.aftersaleOrderList.%d.aftersaleOrderId", p, i))
			if got := at(r.Data, fmt.Sprintf("%s.aftersaleDetail.aftersaleOrderList.%d.aftersaleOrder.id", p, i)); got != named {
				t.Fatalf("%s: after-sale order %v for %v", p, got, named)
			}
		}
	}
	assertThreeBatches(t, s, 109)
}

// assertThreeBatches checks that the fake had exactly 3
// batchgetaftersaleorder calls of at most 50 ids, which together asked for
// distinct ids: each id once.
func assertThreeBatches(t *testing.T, s *server, distinct int) {
	t.Helper()
	sizes := s.Fake.AfterSaleBatchSizes()
	total := 0
	for _, n := range sizes {
		total += n
	}
	if len(sizes) != 3 || slices.Max(sizes) > 50 || total != distinct {
		t.Fatalf("batch calls of %v ids, want 3 of at most 50 covering the %d distinct ids", sizes, distinct)
	}
}

// The after-sale orders of a whole listOrders page go to the upstream
// together, though each order names only a few.
func TestAfterSalesBatchUnderAPage(t *testing.T) {
	s := batchingServer(t)
	ids := shopWithAfterSales(s)
	r := s.post(t, `{ listOrders(filter: {createdFrom: "2024-05-01T00:00:00+08:00", createdTo: "2024-05-31T00:00:00+08:00"}, first: 60) {
		edges { node { `+afterSalesBelow+` } } } }`, nil)
	var paths []string
	for i, id := range ids {
		p := fmt.Sprintf("listOrders.edges.%d.node", i)
		if got := at(r.Data, p+".id"); got != id {
			t.Fatalf("%s: order %v, want %s: %s", p, got, id, r.Raw)
		}
		paths = append(paths, p)
	}
	assertAfterSalesBatched(t, s, r, paths)
}

// So do those of the orders of orders(ids:).
func TestAfterSalesBatchUnderOrders(t *testing.T) {
	s := batchingServer(t)
	ids := shopWithAfterSales(s)
	r := s.post(t, `query($ids: [ID!]!) { orders(ids: $ids) { `+afterSalesBelow+` } }`, map[string]any{"ids": ids})
	var paths []string
	for i := range ids {
		paths = append(paths, fmt.Sprintf("orders.%d", i))
	}
	assertAfterSalesBatched(t, s, r, paths)
}

// And those of orders asked for under aliases of order(id:).
func TestAfterSalesBatchUnderAliases(t *testing.T) {
	s := batchingServer(t)
	ids := shopWithAfterSales(s)
	var q strings.Builder
	var paths []string
	q.WriteString("{")
	for i, id := range ids {
		fmt.Fprintf(&q, " o%d: order(id: %q) { %s }", i, id, afterSalesBelow)
		paths = append(paths, fmt.Sprintf("o%d", i))
	}
	q.WriteString(" }")
	assertAfterSalesBatched(t, s, s.post(t, q.String(), nil), paths)
}
