package app_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/sandbox"
)

// The WeChat Store family (UPSTREAM_FAMILY=store) end to end, against the
// fake's Store calls, with the same GraphQL documents as the Mini Shop
// tests.

var storeEnv = map[string]string{"UPSTREAM_FAMILY": "store"}

func storeOrder(id uint64, status int, openid string, created time.Time, extra string) string {
	return fmt.Sprintf(`{"order_id":"%d","status":%d,"openid":%q,"create_time":%d,"update_time":%d%s}`,
		id, status, openid, created.Unix(), created.Add(time.Hour).Unix(), extra)
}

// may2024Store is may2024 in the Store's shape: 60 orders every 16 hours
// from 2024-05-01, the 45 before 2024-05-31 in mayFilter's range, every
// third a buyer's; statuses 20 and 30 in turn, and every fifth 21, which a
// status filter on 20 or 30 also matches upstream.
func may2024Store(s *server) (inRange []string, buyers map[string][]string, statuses map[string]int) {
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	end := start.AddDate(0, 0, 30)
	buyers, statuses = map[string][]string{}, map[string]int{}
	for i := range 60 {
		id := uint64(9_007_199_254_740_993 + i) // beyond 2^53
		created := start.Add(time.Duration(i) * 16 * time.Hour)
		openid := []string{"buyer-A", "buyer-B", "buyer-C"}[i%3]
		status := []int{20, 30}[i%2]
		if i%5 == 0 {
			status = 21
		}
		s.Fake.SetOrder(id, storeOrder(id, status, openid, created, `,"order_detail":{"product_infos":[{"title":"健身环"}]}`))
		if created.Before(end) {
			inRange = append(inRange, fmt.Sprint(id))
			buyers[openid] = append(buyers[openid], fmt.Sprint(id))
			statuses[fmt.Sprint(id)] = status
		}
	}
	return inRange, buyers, statuses
}

// The vendor's order/get sample (sandbox.StoreVendorExample, verbatim)
// comes through every field the Store sends.
func TestStoreVendorSample(t *testing.T) {
	s := mustOpenServer(t, storeEnv)
	s.Fake.SetResponse(sandbox.StoreVendorExampleID, string(sandbox.StoreVendorExample))
	r := s.post(t, `{ order(id: "3705115058471208928") { id status statusCode orderType orderTypeCode openid unionid createTime
		orderDetail { productInfos { productId skuId title salePrice skuAttrs { attrKey attrValue } }
		  payInfo { payMethod paymentMethod prepayId transactionId payTime }
		  priceInfo { productPrice orderPrice freight }
		  deliveryInfo { deliveryMethod shipDoneTime addressInfo { userName telNumber detailInfo } deliveryProductInfo { waybillId } } }
		extInfo { customerNotes merchantNotes } } }`, nil)
	jsonEqual(t, r.Data, `{"order":{"id":"3705115058471208928","status":"TO_BE_SHIPPED","statusCode":20,"orderType":"ORDINARY","orderTypeCode":0,
		"openid":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","unionid":null,"createTime":"2024-04-26T14:20:00+08:00",
		"orderDetail":{"productInfos":[{"productId":"10000192852886","skuId":"3014051159","title":"健身环","salePrice":2000,"skuAttrs":[{"attrKey":"颜色","attrValue":"红"}]}],
		  "payInfo":{"payMethod":null,"paymentMethod":"WECHAT_PAY","prepayId":"wx2415000012345678","transactionId":"4200002143202404261234567890","payTime":"2024-04-26T14:20:40+08:00"},
		  "priceInfo":{"productPrice":2000,"orderPrice":2000,"freight":0},
		  "deliveryInfo":{"deliveryMethod":"快递","shipDoneTime":null,"addressInfo":{"userName":"陈**","telNumber":"138****0000","detailInfo":"大塘路**"},"deliveryProductInfo":[]}},
		"extInfo":{"customerNotes":"发顺丰","merchantNotes":""}}}`)
}

// Every status and payment method of the Store's tables, and unknown
// codes, by the string ids the Store sends beyond 2^53. payMethod, Mini
// Shop's text, is null whatever the code.
func TestStoreCodes(t *testing.T) {
	s := mustOpenServer(t, storeEnv)
	statuses := map[int]string{10: "PENDING_PAYMENT", 12: "GIFT_AWAITING_ACCEPT", 13: "GROUP_ORDER_AWAITING_GROUP", 20: "TO_BE_SHIPPED", 21: "PARTIALLY_SHIPPED",
		30: "TO_BE_RECEIVED", 100: "COMPLETED", 190: "CANCELLED_OVERSOLD", 200: "CANCELLED_ALL_AFTERSALE", 250: "CANCELLED_UNPAID", 77: "UNKNOWN"}
	methods := map[int]string{1: "WECHAT_PAY", 2: "PAY_AFTER_USE", 3: "FREE_LOTTERY", 4: "POINTS_EXCHANGE", 9: "UNKNOWN"}
	var query strings.Builder
	query.WriteString("{")
	want := map[string]any{}
	for code, name := range statuses {
		id := uint64(9_223_372_036_854_775_000) + uint64(code)
		s.Fake.SetOrder(id, storeOrder(id, code, "o1", time.Unix(1714112400, 0), ""))
		fmt.Fprintf(&query, ` s%d: order(id: "%d") { id status statusCode }`, code, id)
		want[fmt.Sprintf("s%d", code)] = map[string]any{"id": fmt.Sprint(id), "status": name, "statusCode": json.Number(fmt.Sprint(code))}
	}
	for code, name := range methods {
		id := uint64(9_223_372_036_854_776_000) + uint64(code)
		s.Fake.SetOrder(id, storeOrder(id, 20, "o1", time.Unix(1714112400, 0), fmt.Sprintf(`,"order_detail":{"pay_info":{"payment_method":%d}}`, code)))
		fmt.Fprintf(&query, ` p%d: order(id: "%d") { orderDetail { payInfo { payMethod paymentMethod } } }`, code, id)
		want[fmt.Sprintf("p%d", code)] = map[string]any{"orderDetail": map[string]any{"payInfo": map[string]any{"payMethod": nil, "paymentMethod": name}}}
	}
	query.WriteString(" }")
	r := s.post(t, query.String(), nil)
	if len(r.Errors) > 0 {
		t.Fatalf("%s", r.Raw)
	}
	wantJSON, _ := json.Marshal(want)
	jsonEqual(t, r.Data, string(wantJSON))
}

// A 30-day list is walked across 5 windows of at most 7 days, each order
// once; the Store cannot count, so totalCount is null.
func TestStoreListWalk(t *testing.T) {
	s := mustOpenServer(t, storeEnv)
	inRange, _, _ := may2024Store(s)
	ids, pages := walk(t, s, nil, mayFilter, 7, 10, 3)
	if !slices.Equal(sorted(ids), sorted(inRange)) {
		t.Fatalf("the walk visited %v, want each of %v once", ids, inRange)
	}
	for _, p := range pages {
		if p.total != nil {
			t.Fatalf("totalCount %v from an upstream that does not count", p.total)
		}
	}
	windows := map[string]bool{}
	for _, body := range s.Fake.ListRequests() {
		var req struct {
			Range struct {
				Start int64 `json:"start_time"`
				End   int64 `json:"end_time"`
			} `json:"create_time_range"`
			PageSize int    `json:"page_size"`
			NextKey  string `json:"next_key"`
		}
		if err := json.Unmarshal([]byte(body), &req); err != nil {
			t.Fatal(err)
		}
		if span := req.Range.End - req.Range.Start; span > 7*24*3600 || span < 0 || req.PageSize > 100 {
			t.Fatalf("a list/get call the Store refuses: %s", body)
		}
		windows[fmt.Sprint(req.Range)] = true
	}
	if len(windows) != 5 {
		t.Fatalf("%d windows, want 5 for 30 days: %v", len(windows), windows)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// A page of N orders is one list/get call and N order/get calls; a second
// alias of the same page (its first given by a variable) costs nothing
// more, nor does an order the query also names directly; an alias of
// another page walks its own.
func TestStorePageCost(t *testing.T) {
	s := mustOpenServer(t, storeEnv)
	inRange, _, _ := may2024Store(s)
	filter := `filter: {createdFrom: "2024-05-24T00:00:00+08:00", createdTo: "2024-05-31T00:00:00+08:00"}`
	r := s.post(t, `{ listOrders(`+filter+`, first: 4) { edges { node { id } } } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("%s", r.Raw)
	}
	if lists, gets := len(s.Fake.ListRequests()), s.Fake.OrderCalls.Load(); lists != 1 || gets != 4 {
		t.Fatalf("a page of 4: %d list calls and %d gets, want 1 and 4", lists, gets)
	}
	first := fmt.Sprint(at(r.Data, "listOrders.edges.0.node.id"))
	if first != inRange[len(inRange)-1] {
		t.Fatalf("the page starts with %s, want the newest, %s", first, inRange[len(inRange)-1])
	}
	s2 := mustOpenServer(t, storeEnv)
	may2024Store(s2)
	r = s2.post(t, `query($n: Int) { a: listOrders(`+filter+`, first: 4) { edges { node { id } } }
		b: listOrders(`+filter+`, first: $n) { pageInfo { endCursor } edges { node { id status } } }
		o: order(id: "`+first+`") { id } }`, map[string]any{"n": 4})
	if len(r.Errors) > 0 || fmt.Sprint(at(r.Data, "a.edges.3.node.id")) != fmt.Sprint(at(r.Data, "b.edges.3.node.id")) {
		t.Fatalf("%s", r.Raw)
	}
	if lists, gets := len(s2.Fake.ListRequests()), s2.Fake.OrderCalls.Load(); lists != 1 || gets != 4 {
		t.Fatalf("two aliases of a page of 4 and one of its orders: %d list calls and %d gets, want 1 and 4", lists, gets)
	}
	r = s2.post(t, `{ a: listOrders(`+filter+`, first: 4) { edges { node { id } } } c: listOrders(`+filter+`, first: 3) { edges { node { id } } } }`, nil)
	if len(r.Errors) > 0 || len(s2.Fake.ListRequests()) != 3 {
		t.Fatalf("two pages in the next request: %d list calls in all, want 3: %s", len(s2.Fake.ListRequests()), r.Raw)
	}
}

// The query cost counts a Store page as its list calls and a get per order.
func TestStoreListCost(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"UPSTREAM_FAMILY": "store", "MAX_QUERY_COST": "30"})
	// The last 7 days: one window, one more call within it, and the gets.
	if r := s.post(t, `{ listOrders(first: 28) { edges { node { id } } } }`, nil); r.code("") == "COST_LIMIT_EXCEEDED" {
		t.Fatalf("a page of 28 (cost 30) refused: %s", r.Raw)
	}
	if r := s.post(t, `{ listOrders(first: 29) { edges { node { id } } } }`, nil); r.code("") != "COST_LIMIT_EXCEEDED" {
		t.Fatalf("a page of 29 (cost 31) not refused: %s", r.Raw)
	}
}

// A status filter on the Store also matches neighbouring statuses (20 and
// 30 match 21); the server answers the exact status, as on Mini Shop.
func TestStoreStatusFilterIsExact(t *testing.T) {
	s := mustOpenServer(t, storeEnv)
	_, _, statuses := may2024Store(s)
	filter := map[string]any{"createdFrom": mayFilter["createdFrom"], "createdTo": mayFilter["createdTo"], "status": "TO_BE_SHIPPED"}
	ids, _ := walk(t, s, nil, filter, 10)
	var want []string
	for id, status := range statuses {
		if status == 20 {
			want = append(want, id)
		}
	}
	if !slices.Equal(sorted(ids), sorted(want)) {
		t.Fatalf("status TO_BE_SHIPPED listed %v, want %v", ids, want)
	}
	if !strings.Contains(s.Fake.ListRequests()[0], `"status":20`) {
		t.Fatalf("the status did not reach the upstream: %s", s.Fake.ListRequests()[0])
	}
}

// A buyer's list is scoped upstream by openid; a buyer's search is
// filtered here. Either way the buyer sees their own orders only.
func TestStoreBuyerScoping(t *testing.T) {
	s := secureServer(t, storeEnv)
	_, buyers, _ := may2024Store(s)
	header := bearer(hs(t, claims("buyer", "buyer-B")))
	ids, _ := walk(t, s, header, mayFilter, 4)
	if !slices.Equal(sorted(ids), sorted(buyers["buyer-B"])) {
		t.Fatalf("buyer-B's walk visited %v, want %v", ids, buyers["buyer-B"])
	}
	for _, body := range s.Fake.ListRequests() {
		if !strings.Contains(body, `"openid":"buyer-B"`) {
			t.Fatalf("a buyer's list/get without the buyer's openid: %s", body)
		}
	}
	// The search has no range and no buyer upstream: buyer-B's orders of
	// all 60, 20 of them. A buyer's page on the Store is one upstream page
	// of first + 1 ids (the one more tells whether another of the buyer's
	// follows), each a get; what lies beyond it is not reached, and not
	// told of (see internal/listing), so the buyer asks for pages of 60.
	var found []string
	vars := map[string]any{"first": 60}
	for page := 0; ; page++ {
		body, _ := json.Marshal(map[string]any{"variables": vars, "query": `query($first: Int, $after: String) {
			searchOrders(filter: {title: "健身环"}, first: $first, after: $after) { edges { cursor node { id openid } } pageInfo { hasNextPage endCursor } } }`})
		gets := s.Fake.OrderCalls.Load()
		r := s.do(t, "POST", "/graphql", "application/json", string(body), header)
		if len(r.Errors) > 0 || page > 5 {
			t.Fatalf("buyer search page %d: %s", page, r.Raw)
		}
		if n := s.Fake.OrderCalls.Load() - gets; n > 61 {
			t.Fatalf("a buyer's page of 60 made %d gets", n)
		}
		edges, _ := at(r.Data, "searchOrders.edges").([]any)
		if end := at(r.Data, "searchOrders.pageInfo.endCursor"); len(edges) > 0 && end != at(r.Data, fmt.Sprintf("searchOrders.edges.%d.cursor", len(edges)-1)) {
			t.Fatalf("buyer search page %d: endCursor %v is not the last edge's cursor", page, end)
		}
		for i := range edges {
			found = append(found, fmt.Sprint(at(r.Data, fmt.Sprintf("searchOrders.edges.%d.node.id", i))))
			if openid := at(r.Data, fmt.Sprintf("searchOrders.edges.%d.node.openid", i)); openid != "buyer-B" {
				t.Fatalf("buyer-B's search showed an order of %v", openid)
			}
		}
		if at(r.Data, "searchOrders.pageInfo.hasNextPage") != true {
			break
		}
		vars["after"] = at(r.Data, "searchOrders.pageInfo.endCursor")
	}
	if len(found) != 20 || len(slices.Compact(sorted(found))) != 20 {
		t.Fatalf("buyer-B's search found %v", found)
	}
}

// The Store's search answers ids under "orders" (its example) or
// "order_id_list" (its field table), as id strings or whole orders: all
// four come through, the orders fetched through the loader.
func TestStoreSearchShapes(t *testing.T) {
	for _, shape := range []struct {
		key   string
		whole bool
	}{{"orders", false}, {"order_id_list", false}, {"orders", true}, {"order_id_list", true}} {
		t.Run(fmt.Sprintf("%s whole=%v", shape.key, shape.whole), func(t *testing.T) {
			s := mustOpenServer(t, storeEnv)
			s.Fake.SetSearchKey(shape.key, shape.whole)
			for i := range 12 {
				title := []string{"健身环", "保温杯"}[i%2]
				id := uint64(8_000_000 + i)
				s.Fake.SetOrder(id, storeOrder(id, 20, "o1", time.Date(2024, 5, 1+i, 10, 0, 0, 0, time.UTC),
					fmt.Sprintf(`,"order_detail":{"product_infos":[{"title":%q}]}`, title)))
			}
			ids := searchWalk(t, s, map[string]any{"first": 4, "filter": map[string]any{"title": "健身环"}})
			if strings.Join(ids, ",") != "8000010,8000008,8000006,8000004,8000002,8000000" {
				t.Fatalf("the search walk visited %v", ids)
			}
			if gets := s.Fake.OrderCalls.Load(); gets != 6 {
				t.Fatalf("%d gets for 6 orders", gets)
			}
			if req := s.Fake.ListRequests()[0]; !strings.Contains(req, `"search_condition":{"title":"健身环"}`) {
				t.Fatalf("search sent %s", req)
			}
		})
	}
}

// What one family cannot search by is refused by name, before any call,
// both ways; and a Store search needs a text condition.
func TestFamilyOnlyFilters(t *testing.T) {
	for family, refused := range map[string]map[string]map[string]any{
		"store": {
			"telNumber": {"telNumber": "13800000000"}, "payFrom": {"title": "x", "payFrom": "2024-05-01T00:00:00Z"},
			"payTo": {"title": "x", "payTo": "2024-05-01T00:00:00Z"}, "listOrders": {"status": "COMPLETED", "hasAftersale": true},
		},
		"minishop": {"telNumberLast4": {"telNumberLast4": "0000"}, "merchantNotes": {"merchantNotes": "x"}, "customerNotes": {"customerNotes": "x"}},
	} {
		s := mustOpenServer(t, map[string]string{"UPSTREAM_FAMILY": family})
		for name, filter := range refused {
			r := s.post(t, searchQuery, map[string]any{"filter": filter})
			e := r.errorAt("searchOrders")
			if e == nil || e.Extensions["code"] != "BAD_USER_INPUT" || !strings.Contains(e.Message, name) {
				t.Errorf("%s, filter %v: %s", family, filter, r.Raw)
			}
		}
		if n := len(s.Fake.ListRequests()); n != 0 {
			t.Errorf("%s: %d upstream calls for refused filters", family, n)
		}
	}
}

// After-sale orders: one getaftersaleorder call per distinct id, with the
// Store's names the right way round (after_sale_order_id is the after-sale
// order, order_id the order) and reason_text as the reason.
func TestStoreAfterSaleOrders(t *testing.T) {
	s := mustOpenServer(t, storeEnv)
	body, err := os.ReadFile("../wxstore/testdata/aftersale-get.json")
	if err != nil {
		t.Fatal(err)
	}
	var sample struct {
		Record json.RawMessage `json:"after_sale_order"`
	}
	if err := json.Unmarshal(body, &sample); err != nil {
		t.Fatal(err)
	}
	s.Fake.SetAfterSale(6000000000000001, string(sample.Record))
	s.Fake.SetAfterSale(6000000000000002, `{"after_sale_order_id":"6000000000000002","order_id":"3705115058471208929","status":"USER_WAIT_CONFIRM_UPDATE","type":"EXCHANGE","reason":"NO_LONGER_WANT"}`)
	r := s.post(t, `{ a: aftersaleOrder(id: "6000000000000001") { id orderId status type openid reason refundAmount productId skuId count createTime }
		b: aftersaleOrder(id: "6000000000000002") { id orderId type reason }
		c: aftersaleOrder(id: "6000000000000001") { id }
		d: aftersaleOrder(id: "6000000000000009") { id } }`, nil)
	jsonEqual(t, r.Data, `{"a":{"id":"6000000000000001","orderId":"3705115058471208928","status":"USER_WAIT_RETURN","type":"RETURN","openid":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY",
		"reason":"大小/尺寸与商品描述不符","refundAmount":2000,"productId":"10000192852886","skuId":"3014051159","count":1,"createTime":"2024-04-27T14:40:00+08:00"},
		"b":{"id":"6000000000000002","orderId":"3705115058471208929","type":"EXCHANGE","reason":null},"c":{"id":"6000000000000001"},"d":null}`)
	if r.code("d") != "AFTERSALE_NOT_FOUND" {
		t.Fatalf("unknown after-sale id: %s", r.Raw)
	}
	if sizes := s.Fake.AfterSaleBatchSizes(); !slices.Equal(sizes, []int{1, 1, 1}) {
		t.Fatalf("getaftersaleorder calls %v, want one per distinct id", sizes)
	}
}

// One listed order that cannot be fetched is a null node with its error at
// that edge's path; the other orders of the page come through.
func TestStoreListedOrderFailsAlone(t *testing.T) {
	s := mustOpenServer(t, storeEnv)
	inRange, _, _ := may2024Store(s)
	newest := inRange[len(inRange)-1]
	second := inRange[len(inRange)-2]
	var id uint64
	fmt.Sscan(second, &id)
	s.Fake.SetErrcode(id, 48001)
	r := s.post(t, `{ listOrders(filter: {createdFrom: "2024-05-24T00:00:00+08:00", createdTo: "2024-05-31T00:00:00+08:00"}, first: 3) { edges { cursor node { id } } } }`, nil)
	if got := fmt.Sprint(at(r.Data, "listOrders.edges.0.node.id"), " ", at(r.Data, "listOrders.edges.1.node"), " ", at(r.Data, "listOrders.edges.2.node.id") != nil); got != newest+" <nil> true" {
		t.Fatalf("edges %s: %s", got, r.Raw)
	}
	if r.code("listOrders.edges.1.node") != "UPSTREAM_PERMISSION_DENIED" || len(r.Errors) != 1 {
		t.Fatalf("the failed order's error: %s", r.Raw)
	}
}

// The Store has no batch after-sale call: a query's distinct after-sale ids
// go one per call, concurrently, within UPSTREAM_CONCURRENCY.
func TestStoreAfterSaleCallsAreBounded(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"UPSTREAM_FAMILY": "store", "UPSTREAM_CONCURRENCY": "3"})
	s.Fake.SetLatency(20 * time.Millisecond)
	var query strings.Builder
	query.WriteString("{")
	for i := range 12 {
		id := 6_000_000_000_000_100 + i
		s.Fake.SetAfterSale(uint64(id), fmt.Sprintf(`{"after_sale_order_id":"%d","order_id":"1","status":"USER_WAIT_RETURN","type":"REFUND"}`, id))
		fmt.Fprintf(&query, ` a%d: aftersaleOrder(id: "%d") { id } b%d: aftersaleOrder(id: "%d") { orderId }`, i, id, i, id)
	}
	query.WriteString(" }")
	if r := s.post(t, query.String(), nil); len(r.Errors) > 0 {
		t.Fatalf("%s", r.Raw)
	}
	if calls, peak := len(s.Fake.AfterSaleBatchSizes()), s.Fake.PeakOrders.Load(); calls != 12 || peak > 3 || peak < 2 {
		t.Fatalf("%d calls, %d at once; want 12, at most 3 at once and more than 1", calls, peak)
	}
}
