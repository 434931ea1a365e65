package app_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The attacker's documents against the WeChat quota (issue 17, items 2 and
// 3): each is refused before any call, or makes no more upstream calls
// than the query cost it was charged, counted at the fake.

// orderWithAfterSales sets a Store order created at created with n
// after-sale orders, ids from first on, each one call to fetch.
func orderWithAfterSales(s *server, id uint64, first, n int, created time.Time) {
	var list []string
	for i := range n {
		a := first + i
		list = append(list, fmt.Sprintf(`{"aftersale_order_id":"%d"}`, a))
		s.Fake.SetAfterSale(uint64(a), fmt.Sprintf(`{"after_sale_order_id":"%d","order_id":"%d","status":"USER_WAIT_RETURN","type":"REFUND"}`, a, id))
	}
	s.Fake.SetOrder(id, storeOrder(id, 20, "o1", created, `,"aftersale_detail":{"aftersale_order_list":[`+strings.Join(list, ",")+`]}`))
}

// upstreamCalls is every call the fake answered but the token's.
func upstreamCalls(s *server) int {
	return int(s.Fake.OrderCalls.Load()) + len(s.Fake.ListRequests()) + len(s.Fake.AfterSaleBatchSizes()) + len(s.Fake.WriteCalls())
}

// The reproduced attack: a page with first -2,000,000,000 beside 20
// orders(ids:) of 100 ids passed MAX_QUERY_COST 100 and made 2,000 calls.
// first outside 1..100 is refused before anything runs, however it is
// given.
func TestNegativeFirstIsRefusedBeforeAnyCall(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"MAX_IDS_PER_QUERY": "100", "MAX_QUERY_TOKENS": "100000"})
	var ids []string
	for i := range 100 {
		ids = append(ids, fmt.Sprintf("%q", fmt.Sprint(5000+i)))
	}
	var doc strings.Builder
	doc.WriteString(`{ listOrders(first: -2000000000) { edges { node { id } } }`)
	for i := range 20 {
		fmt.Fprintf(&doc, ` o%d: orders(ids: [%s]) { id }`, i, strings.Join(ids, ","))
	}
	doc.WriteString(" }")
	for _, tc := range []struct {
		doc  string
		vars map[string]any
	}{
		{doc.String(), nil},
		{`query($n: Int) { listOrders(first: $n) { edges { node { id } } } }`, map[string]any{"n": -1}},
		{`{ searchOrders(filter: {title: "x"}, first: 0) { edges { node { id } } } }`, nil},
		{`{ listOrders(first: 101) { edges { node { id } } } }`, nil},
	} {
		r := s.post(t, tc.doc, tc.vars)
		if r.code("") != "BAD_USER_INPUT" || r.Data != nil {
			t.Fatalf("%.80s: %s", tc.doc, r.Raw)
		}
	}
	if n := upstreamCalls(s); n != 0 {
		t.Fatalf("%d upstream calls for documents refused before execution", n)
	}
}

// A Store page over a wide, sparse range is charged a list call per 7 days
// of it, and its walk stays within that, however empty the weeks are.
func TestWideStoreRangesCostWhatTheyCall(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"UPSTREAM_FAMILY": "store", "MAX_QUERY_COST": "1000"})
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	for i := range 3 { // three orders in the first week of a year-long range
		id := uint64(7100 + i)
		s.Fake.SetOrder(id, storeOrder(id, 20, "o1", start.Add(time.Duration(i+1)*time.Hour), ""))
	}
	filter := `filter: {createdFrom: "2024-01-01T00:00:00+08:00", createdTo: "2024-12-31T00:00:00+08:00"}`
	r := s.post(t, `{ listOrders(first: 10, `+filter+`) { pageInfo { hasNextPage } edges { node { id } } } }`, nil)
	if len(r.Errors) > 0 || len(at(r.Data, "listOrders.edges").([]any)) != 3 {
		t.Fatalf("%s", r.Raw)
	}
	const charged = 52 + 1 + 10 // 365 days: 53 windows… of which the last is short: ceil(365/7) = 53
	if n := upstreamCalls(s); n > charged+1 {
		t.Fatalf("%d upstream calls for a page charged %d", n, charged+1)
	}
	limited := mustOpenServer(t, map[string]string{"UPSTREAM_FAMILY": "store", "MAX_QUERY_COST": "40"})
	if r := limited.post(t, `{ listOrders(first: 10, `+filter+`) { edges { node { id } } } }`, nil); r.code("") != "COST_LIMIT_EXCEEDED" {
		t.Fatalf("a year of weeks passed a cost limit of 40: %s", r.Raw)
	}
	if n := upstreamCalls(limited); n != 0 {
		t.Fatalf("%d upstream calls for a refused page", n)
	}
}

// The Store's after-sale orders are one call each, and how many an order
// has is not in the document: the operation's budget stops the calls at
// what the query was charged, and the ones over it fail at their own
// paths, coded.
func TestStoreAfterSalesStayWithinTheCharge(t *testing.T) {
	s := mustOpenServer(t, storeEnv)
	orderWithAfterSales(s, 7200, 6100, 30, time.Unix(1714112400, 0))
	query := `{ order(id: "7200") { id aftersaleDetail { aftersaleOrderList { aftersaleOrder { id } } } } }`
	r := s.post(t, query, nil)
	if n := upstreamCalls(s); n != 2 { // order(id:) with after-sale orders costs 2
		t.Fatalf("%d upstream calls for a query charged 2: %s", n, r.Raw)
	}
	// The same over a WebSocket: the same charge, the same calls.
	c, err := dialWS(t, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.subscribe("1", query)
	if m := c.next(5 * time.Second); !strings.Contains(string(m.Payload), "COST_LIMIT_EXCEEDED") {
		t.Fatalf("over a WebSocket: %s", m.Payload)
	}
	if n := upstreamCalls(s); n != 4 {
		t.Fatalf("%d upstream calls for the query sent twice, charged 2 each", n)
	}
	refused := 0
	for _, e := range r.Errors {
		if e.Extensions["code"] == "COST_LIMIT_EXCEEDED" && len(e.Path) == 5 {
			refused++
		}
	}
	if refused != 29 || at(r.Data, "order.id") != "7200" {
		t.Fatalf("%d after-sale orders refused at their paths, want 29: %s", refused, r.Raw)
	}
}

// Aliases and repeats are charged each, and the calls they make are the
// distinct orders, never more than the charge.
func TestAliasesSpendNoMoreThanCharged(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"MAX_QUERY_COST": "100", "MAX_ALIASES": "100"})
	for i := range 10 {
		s.Fake.SetOrder(uint64(5000+i), fmt.Sprintf(`{"order_id":%d,"status":20}`, 5000+i))
	}
	var doc strings.Builder
	doc.WriteString("{")
	for i := range 100 {
		fmt.Fprintf(&doc, ` a%d: order(id: "%d") { id }`, i, 5000+i%10)
	}
	doc.WriteString(" }")
	if r := s.post(t, doc.String(), nil); len(r.Errors) > 0 {
		t.Fatalf("%.300s", r.Raw)
	}
	if n := upstreamCalls(s); n != 10 {
		t.Fatalf("%d upstream calls for 10 distinct orders", n)
	}
	over := strings.Replace(doc.String(), "{", `{ extra: order(id: "1") { id }`, 1)
	if r := s.post(t, over, nil); r.code("") != "COST_LIMIT_EXCEEDED" && r.code("") != "ALIAS_LIMIT_EXCEEDED" {
		t.Fatalf("101 order fields passed a cost of 100: %.300s", r.Raw)
	}
}

// A field that wants more after-sale calls than it was charged cannot take
// the share of the document's other fields: a sibling page over a sparse
// year still walks it whole.
func TestAfterSalesDoNotStarveSiblings(t *testing.T) {
	s := mustOpenServer(t, storeEnv)
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	orderWithAfterSales(s, 7200, 6100, 30, start.Add(time.Hour))
	for i := range 2 {
		id := uint64(7300 + i)
		s.Fake.SetOrder(id, storeOrder(id, 20, "o1", start.Add(time.Duration(i+2)*time.Hour), ""))
	}
	r := s.post(t, `{ a: order(id: "7200") { aftersaleDetail { aftersaleOrderList { aftersaleOrder { id } } } }
		b: listOrders(first: 10, filter: {createdFrom: "2024-01-01T00:00:00+08:00", createdTo: "2024-12-31T00:00:00+08:00"}) { pageInfo { hasNextPage } edges { node { id } } } }`, nil)
	if got := len(at(r.Data, "b.edges").([]any)); got != 3 || at(r.Data, "b.pageInfo.hasNextPage") != false {
		t.Fatalf("the page got %d of 3 orders: %.400s", got, r.Raw)
	}
	if n := len(s.Fake.AfterSaleBatchSizes()); n != 1 {
		t.Fatalf("%d after-sale calls for an order charged one", n)
	}
}

// A subscription is held to its charge per event: each event's nested
// after-sale orders spend what the subscription's cost charged for them.
func TestSubscriptionEventsStayWithinTheCharge(t *testing.T) {
	s := mustOpenServer(t, pushEnv)
	orderWithAfterSales(s, 7400, 6300, 30, time.Unix(1714112400, 0))
	c, err := dialWS(t, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.subscribe("1", `subscription { orderEvents { order { aftersaleDetail { aftersaleOrderList { aftersaleOrder { id } } } } } }`)
	subscribed(t, s, 1)
	for i := range 2 {
		push(t, s, "wxfaketestapp0001", storeEvent("channels_ec_order_pay", 7400, int64(100+i)))
		if m := c.next(5 * time.Second); !strings.Contains(string(m.Payload), "COST_LIMIT_EXCEEDED") {
			t.Fatalf("event %d: %.300s", i, m.Payload)
		}
	}
	if n := len(s.Fake.AfterSaleBatchSizes()); n != 2 {
		t.Fatalf("%d after-sale calls for two events charged one each", n)
	}
}
