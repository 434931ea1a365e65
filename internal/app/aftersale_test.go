package app_test

import (
	"fmt"
	"strings"
	"testing"
)

// afterSaleRecord is a batchgetaftersaleorder record: Mini Shop's order_id
// is the after-sale id, original_order_id the order's.
func afterSaleRecord(id, orderID uint64, openid string) string {
	return fmt.Sprintf(`{"order_id":%d,"original_order_id":%d,"status":"MERCHANT_REFUND_SUCCESS","type":"RETURN","reason":"NO_LONGER_WANT","openid":%q,
		"product_info":{"product_id":3286,"sku_id":"4740","count":1},"refund_info":{"amount":2500},
		"return_info":{"waybill_id":"SF123","delivery_id":"SF","delivery_name":"顺丰"},"create_time":1714520000,"update_time":1714606400}`, id, orderID, openid)
}

// The after-sale orders of a query go to the upstream together, at most 50
// ids a call: 120 distinct ids, some named twice, cost exactly 3 calls.
func TestAfterSaleOrdersAreBatched(t *testing.T) {
	s := batchingServer(t)
	var q strings.Builder
	q.WriteString("{")
	for i := range 130 {
		id := 5000 + uint64(i%120)
		if i < 120 {
			s.Fake.SetAfterSale(id, afterSaleRecord(id, 9_000_000+id, "oBuyer"))
		}
		fmt.Fprintf(&q, " a%d: aftersaleOrder(id: \"%d\") { id orderId }", i, id)
	}
	q.WriteString(" }")
	r := s.post(t, q.String(), nil)
	if len(r.Errors) > 0 {
		t.Fatalf("%s", r.Errors[0].Message)
	}
	for i := range 130 {
		id := 5000 + uint64(i%120)
		if at(r.Data, fmt.Sprintf("a%d.id", i)) != fmt.Sprint(id) || at(r.Data, fmt.Sprintf("a%d.orderId", i)) != fmt.Sprint(9_000_000+id) {
			t.Fatalf("a%d: %v", i, at(r.Data, fmt.Sprintf("a%d", i)))
		}
	}
	assertThreeBatches(t, s, 120)
}

// Every field of an after-sale order, with Mini Shop's naming trap undone:
// id is the after-sale's, orderId the order's. It is reached from the order
// too, and an id the upstream does not return fails alone.
func TestAfterSaleOrderFromTheOrder(t *testing.T) {
	s := mustOpenServer(t, nil)
	s.Fake.SetOrder(6001, `{"order_id":6001,"openid":"oBuyer","order_detail":{"pay_info":{"pay_method":"微信支付"}},
		"aftersale_detail":{"on_aftersale_order_cnt":1,"aftersale_order_list":[{"aftersale_order_id":7011,"status":13},{"aftersale_order_id":7404,"status":2}]}}`)
	s.Fake.SetAfterSale(7011, afterSaleRecord(7011, 6001, "oBuyer"))
	r := s.post(t, `{ order(id: "6001") {
		orderDetail { payInfo { payMethod paymentMethod } }
		aftersaleDetail { aftersaleOrderList { aftersaleOrderId aftersaleOrder {
			id orderId status type openid reason refundAmount productId skuId count returnWaybillId returnDeliveryId createTime updateTime } } } } }`, nil)
	jsonEqual(t, at(r.Data, "order.aftersaleDetail.aftersaleOrderList.0.aftersaleOrder"), `{
		"id": "7011", "orderId": "6001", "status": "MERCHANT_REFUND_SUCCESS", "type": "RETURN", "openid": "oBuyer",
		"reason": "NO_LONGER_WANT", "refundAmount": 2500, "productId": "3286", "skuId": "4740", "count": 1,
		"returnWaybillId": "SF123", "returnDeliveryId": "SF", "createTime": "2024-05-01T07:33:20+08:00", "updateTime": "2024-05-02T07:33:20+08:00"}`)
	jsonEqual(t, at(r.Data, "order.orderDetail.payInfo"), `{"payMethod": "微信支付", "paymentMethod": "WECHAT_PAY"}`)
	if c := r.code("order.aftersaleDetail.aftersaleOrderList.1.aftersaleOrder"); c != "AFTERSALE_NOT_FOUND" {
		t.Fatalf("an after-sale order the upstream does not return: %s", r.Raw)
	}
	if got := at(r.Data, "order.aftersaleDetail.aftersaleOrderList.1.aftersaleOrderId"); got != "7404" {
		t.Fatalf("the failing entry took its siblings with it: %s", r.Raw)
	}
	if n := len(s.Fake.AfterSaleBatchSizes()); n != 1 {
		t.Fatalf("%d batch calls for two after-sale ids, want 1", n)
	}
}

// A buyer sees their own after-sale orders; anyone else's answers exactly
// like a missing one.
func TestBuyersSeeOnlyTheirAfterSaleOrders(t *testing.T) {
	s := secureServer(t, nil)
	s.Fake.SetAfterSale(8001, afterSaleRecord(8001, 3001, "buyer-A"))
	s.Fake.SetAfterSale(8002, afterSaleRecord(8002, 3002, "buyer-B"))
	buyer := bearer(hs(t, claims("buyer", "buyer-A")))
	own := s.do(t, "POST", "/graphql", "application/json", `{"query":"{ aftersaleOrder(id: \"8001\") { id } }"}`, buyer)
	if at(own.Data, "aftersaleOrder.id") != "8001" {
		t.Fatalf("own after-sale order: %s", own.Raw)
	}
	other := s.do(t, "POST", "/graphql", "application/json", `{"query":"{ aftersaleOrder(id: \"8002\") { id } }"}`, buyer)
	missing := s.do(t, "POST", "/graphql", "application/json", `{"query":"{ aftersaleOrder(id: \"8003\") { id } }"}`, buyer)
	if string(other.Raw) != string(missing.Raw) || other.code("aftersaleOrder") != "AFTERSALE_NOT_FOUND" {
		t.Fatalf("another buyer's after-sale order %s, a missing one %s", other.Raw, missing.Raw)
	}
}

// Asking for after-sale orders counts against MAX_QUERY_COST before any
// call: one per aftersaleOrder field, and twice an order that asks for its.
func TestAfterSaleOrdersCost(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"MAX_QUERY_COST": "3"})
	nested := `orders(ids: ["1", "2"]) { aftersaleDetail { aftersaleOrderList { aftersaleOrder { id } } } }`
	r := s.post(t, `{ `+nested+` }`, nil)
	if c := r.code(""); c != "COST_LIMIT_EXCEEDED" {
		t.Fatalf("two orders with their after-sale orders under a limit of 3: %s", r.Raw)
	}
	r = s.post(t, `{ a: aftersaleOrder(id: "1") { id } b: aftersaleOrder(id: "2") { id } c: order(id: "3") { id } }`, nil)
	if c := r.code(""); c == "COST_LIMIT_EXCEEDED" {
		t.Fatalf("a cost of 3 refused: %s", r.Raw)
	}
	if s.Fake.OrderCalls.Load() == 0 {
		t.Fatal("the admitted query made no call")
	}
}
