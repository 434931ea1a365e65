package app_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ordergraph/ordergraph/internal/redistest"
	"github.com/ordergraph/ordergraph/internal/wechattest"
)

// Order actions end to end: the real server, its credentials and both
// families' calls, against the fake WeChat, which applies WeChat's write
// rules (internal/sandbox/writes.go), counts every write and sees writes
// to one order that overlap.

const (
	writeKey = "write-key-5c4b3a29180716f5"
	readKey  = "read-key-0a1b2c3d4e5f6a7b"

	// The orders each family's fake holds: one to ship, one unpaid, and
	// two after-sale orders of the first (a refund, a second refund).
	miniShipID, miniUnpaidID, miniRefundID, miniRefund2ID     = 7001, 7002, 7101, 7102
	storeShipID, storeUnpaidID, storeRefundID, storeRefund2ID = 9007199254740993, 9007199254740995, 6000000000000001, 6000000000000002

	// Personal data the logs must never hold.
	secretNotes  = "门口放快递柜-NOTES-7f3a"
	secretPhone  = "13912345678"
	secretStreet = "滨江大道-ADDR-91c2"
)

func miniShopOrder(id uint64, status int) string {
	return fmt.Sprintf(`{"order_id":%d,"status":%d,"create_time":"2024-05-01 00:03:11","update_time":"2024-05-01 00:04:02","openid":"buyer-A",
		"order_detail":{"product_infos":[{"product_id":11,"sku_id":12,"sku_cnt":2,"sale_price":2000},{"product_id":21,"sku_id":22,"sku_cnt":1,"sale_price":1000}],
		"price_info":{"product_price":5000,"order_price":5500,"freight":500,"discounted_price":0,"is_discounted":false},
		"delivery_info":{"address_info":{"user_name":"张三","tel_number":"13800000000"},"delivery_product_info":[]}},
		"aftersale_detail":{"aftersale_order_list":[],"on_aftersale_order_cnt":0},"ext_info":{"customer_notes":"","merchant_notes":""}}`, id, status)
}

func miniShopRefund(id, orderID uint64) string {
	return fmt.Sprintf(`{"order_id":%d,"original_order_id":%d,"status":"MERCHANT_PROCESSING","type":"REFUND","openid":"buyer-A",
		"product_info":{"product_id":11,"sku_id":12,"count":1},"refund_info":{"amount":2000},"create_time":1714520000,"update_time":1714606400}`, id, orderID)
}

func storeActionOrder(id uint64, status int) string {
	return fmt.Sprintf(`{"order_id":"%d","status":%d,"create_time":1714112400,"update_time":1714112445,"openid":"buyer-A",
		"order_detail":{"product_infos":[{"product_id":"11","sku_id":"12","sku_cnt":2,"sale_price":2000,"real_price":4000},{"product_id":"21","sku_id":"22","sku_cnt":1,"sale_price":1000,"real_price":1000}],
		"price_info":{"product_price":5000,"order_price":5500,"freight":500,"discounted_price":0,"is_discounted":false},
		"delivery_info":{"address_info":{"user_name":"陈**"},"delivery_product_info":[],"ship_done_time":0,"deliver_method":0},
		"ext_info":{"customer_notes":"","merchant_notes":""}},
		"aftersale_detail":{"aftersale_order_list":[{"aftersale_order_id":"%d","status":2},{"aftersale_order_id":"%d","status":2}],"on_aftersale_order_cnt":2}}`,
		id, status, storeRefundID, storeRefund2ID)
}

func storeRefund(id, orderID uint64) string {
	return fmt.Sprintf(`{"after_sale_order_id":"%d","order_id":"%d","status":"MERCHANT_PROCESSING","type":"REFUND","openid":"buyer-A",
		"product_info":{"product_id":"11","sku_id":"12","count":1}}`, id, orderID)
}

// actionServer serves family with a writing API key and a read-only one,
// and the fake holds the family's orders.
func actionServer(t *testing.T, family string, extra ...map[string]string) *server {
	t.Helper()
	env := map[string]string{
		"UPSTREAM_FAMILY": family, "AUTH_MODE": "jwt,apikey", "JWT_SECRET": jwtSecret, "JWT_ISSUER": issuer, "JWT_AUDIENCE": audience,
		"API_KEYS": "ops:merchant:" + sha(writeKey) + ":write,ro:merchant:" + sha(readKey), "ALLOW_ANONYMOUS": "",
	}
	for _, e := range extra {
		for k, v := range e {
			env[k] = v
		}
	}
	s := mustOpenServer(t, env)
	s.secrets = append(s.secrets, writeKey, readKey)
	holdOrders(s.Fake, family)
	return s
}

func holdOrders(f *wechattest.Fake, family string) {
	if family == "store" {
		f.SetOrder(storeShipID, storeActionOrder(storeShipID, 20))
		f.SetOrder(storeUnpaidID, storeActionOrder(storeUnpaidID, 10))
		f.SetAfterSale(storeRefundID, storeRefund(storeRefundID, storeShipID))
		f.SetAfterSale(storeRefund2ID, storeRefund(storeRefund2ID, storeShipID))
		return
	}
	f.SetOrder(miniShipID, miniShopOrder(miniShipID, 20))
	f.SetOrder(miniUnpaidID, miniShopOrder(miniUnpaidID, 10))
	f.SetAfterSale(miniRefundID, miniShopRefund(miniRefundID, miniShipID))
	f.SetAfterSale(miniRefund2ID, miniShopRefund(miniRefund2ID, miniShipID))
}

// act runs a document with the writing key (or the header given).
func (s *server) act(t testing.TB, doc string, vars map[string]any, header ...map[string]string) *gqlResponse {
	t.Helper()
	h := map[string]string{"X-API-Key": writeKey}
	if len(header) > 0 {
		h = header[0]
	}
	body, _ := json.Marshal(map[string]any{"query": doc, "variables": vars})
	return s.do(t, "POST", "/graphql", "application/json", string(body), h)
}

// actionPayload is the action's payload at field, after checking the response
// has no top-level error.
func actionPayload(t testing.TB, r *gqlResponse, field string) map[string]any {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("%s: errors %s", field, r.Raw)
	}
	p, _ := r.Data[field].(map[string]any)
	if p == nil {
		t.Fatalf("%s: no payload in %s", field, r.Raw)
	}
	return p
}

func userErrorCodes(p map[string]any) string {
	var out []string
	for _, u := range p["userErrors"].([]any) {
		e := u.(map[string]any)
		out = append(out, fmt.Sprint(e["code"]))
	}
	return strings.Join(out, ",")
}

const orderFields = `replayed pending userErrors { code field message upstreamErrcode } order { id status extInfo { merchantNotes } orderDetail { priceInfo { orderPrice freight } deliveryInfo { deliveryProductInfo { deliveryId waybillId productInfos { productId skuId productCnt } } } } }`
const afterSaleFields = `replayed userErrors { code field message upstreamErrcode } aftersaleOrder { id orderId status }`

// Each mutation on each family: what it answers, what it reads back, and
// how many writes it sent.
func TestEveryActionOnBothFamilies(t *testing.T) {
	type step struct {
		name, doc, field string
		// check looks at the payload; writes is how many write calls the
		// step sends.
		check  func(p map[string]any) string
		writes int
	}
	ok := func(path, want string) func(map[string]any) string {
		return func(p map[string]any) string {
			if u := userErrorCodes(p); u != "" {
				return "user errors " + u
			}
			if got := fmt.Sprint(at(p, path)); got != want {
				return path + " = " + got + ", want " + want
			}
			return ""
		}
	}
	refused := func(code string) func(map[string]any) string {
		return func(p map[string]any) string {
			if u := userErrorCodes(p); u != code {
				return "user errors " + u + ", want " + code
			}
			return ""
		}
	}
	ship := func(id uint64, parcels string) string {
		return fmt.Sprintf(`mutation { shipOrder(input: {idempotencyKey: "ship-%d", orderId: "%d", %s}) { %s } }`, id, id, parcels, orderFields)
	}
	families := map[string][]step{
		"minishop": {
			{"ship whole", ship(miniShipID, `parcels: [{deliveryId: "SF", waybillId: "SF100"}]`), "shipOrder", ok("order.status", "TO_BE_RECEIVED"), 1},
			{"notes", fmt.Sprintf(`mutation { setMerchantNotes(input: {idempotencyKey: "n", orderId: "%d", notes: "%s"}) { %s } }`, miniShipID, secretNotes, orderFields), "setMerchantNotes", ok("order.extInfo.merchantNotes", secretNotes), 1},
			{"price", fmt.Sprintf(`mutation { changeOrderPrice(input: {idempotencyKey: "p", orderId: "%d", lines: [{productId: "11", skuId: "12", newLineTotal: 3000}]}) { %s } }`, miniUnpaidID, orderFields), "changeOrderPrice", ok("order.orderDetail.priceInfo.orderPrice", "4500"), 1},
			{"accept", fmt.Sprintf(`mutation { acceptAftersale(input: {idempotencyKey: "a", aftersaleOrderId: "%d"}) { %s } }`, miniRefundID, afterSaleFields), "acceptAftersale", ok("aftersaleOrder.status", "MERCHANT_REFUND_SUCCESS"), 1},
			{"reject", fmt.Sprintf(`mutation { rejectAftersale(input: {idempotencyKey: "r", aftersaleOrderId: "%d", reason: "已超过售后期"}) { %s } }`, miniRefund2ID, afterSaleFields), "rejectAftersale", ok("aftersaleOrder.orderId", fmt.Sprint(miniShipID)), 1},
			{"tracking change", fmt.Sprintf(`mutation { updateShipment(input: {idempotencyKey: "u", orderId: "%d", parcels: [{deliveryId: "ZTO", waybillId: "ZT1"}]}) { %s } }`, miniShipID, orderFields), "updateShipment", refused("NOT_SUPPORTED"), 0},
			{"address", fmt.Sprintf(`mutation { changeOrderAddress(input: {idempotencyKey: "ad", orderId: "%d", address: {userName: "李四", telNumber: "%s", provinceName: "浙江省", cityName: "杭州市", countyName: "滨江区", detailInfo: "%s"}}) { %s } }`, miniUnpaidID, secretPhone, secretStreet, orderFields), "changeOrderAddress", refused("NOT_SUPPORTED"), 0},
			{"virtual", fmt.Sprintf(`mutation { shipOrder(input: {idempotencyKey: "v", orderId: "%d", virtual: true}) { %s } }`, miniUnpaidID, orderFields), "shipOrder", refused("NOT_SUPPORTED"), 0},
		},
		"store": {
			{"ship in two parcels", ship(storeShipID, `parcels: [{deliveryId: "SF", waybillId: "SF100", items: [{productId: "11", skuId: "12", count: 2}]}, {deliveryId: "ZTO", waybillId: "ZT200", items: [{productId: "21", skuId: "22", count: 1}]}]`), "shipOrder", ok("order.status", "TO_BE_RECEIVED"), 1},
			{"tracking change", fmt.Sprintf(`mutation { updateShipment(input: {idempotencyKey: "u", orderId: "%d", parcels: [{deliveryId: "YTO", waybillId: "YT300", items: [{productId: "11", skuId: "12", count: 2}]}, {deliveryId: "ZTO", waybillId: "ZT200", items: [{productId: "21", skuId: "22", count: 1}]}]}) { %s } }`, storeShipID, orderFields), "updateShipment", ok("order.orderDetail.deliveryInfo.deliveryProductInfo.0.waybillId", "YT300"), 1},
			{"notes", fmt.Sprintf(`mutation { setMerchantNotes(input: {idempotencyKey: "n", orderId: "%d", notes: "%s"}) { %s } }`, storeShipID, secretNotes, orderFields), "setMerchantNotes", ok("order.extInfo.merchantNotes", secretNotes), 1},
			{"price and freight", fmt.Sprintf(`mutation { changeOrderPrice(input: {idempotencyKey: "p", orderId: "%d", lines: [{productId: "11", skuId: "12", newLineTotal: 3000}], freight: 0}) { %s } }`, storeUnpaidID, orderFields), "changeOrderPrice", ok("order.orderDetail.priceInfo.freight", "0"), 1},
			{"address", fmt.Sprintf(`mutation { changeOrderAddress(input: {idempotencyKey: "ad", orderId: "%d", address: {userName: "李四", telNumber: "%s", provinceName: "浙江省", cityName: "杭州市", countyName: "滨江区", detailInfo: "%s"}}) { %s } }`, storeUnpaidID, secretPhone, secretStreet, orderFields), "changeOrderAddress", ok("pending", "true"), 1},
			{"accept", fmt.Sprintf(`mutation { acceptAftersale(input: {idempotencyKey: "a", aftersaleOrderId: "%d"}) { %s } }`, storeRefundID, afterSaleFields), "acceptAftersale", ok("aftersaleOrder.status", "MERCHANT_REFUND_SUCCESS"), 1},
			{"reject", fmt.Sprintf(`mutation { rejectAftersale(input: {idempotencyKey: "r", aftersaleOrderId: "%d", reasonType: 1, reason: "商品已影响二次销售"}) { %s } }`, storeRefund2ID, afterSaleFields), "rejectAftersale", ok("aftersaleOrder.orderId", fmt.Sprint(storeShipID)), 1},
			{"reject without a reason type", fmt.Sprintf(`mutation { rejectAftersale(input: {idempotencyKey: "r2", aftersaleOrderId: "%d"}) { %s } }`, storeRefund2ID, afterSaleFields), "rejectAftersale", refused("INVALID_INPUT"), 0},
		},
	}
	for family, steps := range families {
		t.Run(family, func(t *testing.T) {
			s := actionServer(t, family)
			for _, st := range steps {
				before, calls := len(s.Fake.WriteCalls()), upstreamCalls(s)
				p := actionPayload(t, s.act(t, st.doc, nil), st.field)
				if st.writes == 0 && upstreamCalls(s) != calls {
					t.Errorf("%s: %d upstream calls for an action refused without one", st.name, upstreamCalls(s)-calls)
				}
				if msg := st.check(p); msg != "" {
					t.Errorf("%s: %s\n%v", st.name, msg, p)
				}
				if got := len(s.Fake.WriteCalls()) - before; got != st.writes {
					t.Errorf("%s: %d writes, want %d", st.name, got, st.writes)
				}
			}
			if s.Fake.PeakWritesPerOrder() > 1 {
				t.Errorf("writes overlapped")
			}
			// The audit holds every action, and no personal data.
			logs := s.logText()
			if n := strings.Count(logs, `"msg":"order action"`); n != len(steps) {
				t.Errorf("%d audit lines, want %d", n, len(steps))
			}
			for _, secret := range []string{secretNotes, secretPhone, secretStreet, "李四", "已超过售后期", "商品已影响二次销售"} {
				if strings.Contains(logs, secret) {
					t.Errorf("the log holds %q", secret)
				}
			}
		})
	}
}

// The same key and input answer the stored result and call nothing; the
// same key with another input is refused and calls nothing.
func TestActionReplayAndReuse(t *testing.T) {
	s := actionServer(t, "store")
	doc := `mutation($notes: String!) { setMerchantNotes(input: {idempotencyKey: "k-1", orderId: "9007199254740993", notes: $notes}) { ` + orderFields + ` } }`
	first := actionPayload(t, s.act(t, doc, map[string]any{"notes": "a"}), "setMerchantNotes")
	calls := upstreamCalls(s)
	again := actionPayload(t, s.act(t, doc, map[string]any{"notes": "a"}), "setMerchantNotes")
	if first["replayed"] != false || again["replayed"] != true || fmt.Sprint(again["order"]) != fmt.Sprint(first["order"]) {
		t.Fatalf("first %v\nagain %v", first, again)
	}
	other := actionPayload(t, s.act(t, doc, map[string]any{"notes": "b"}), "setMerchantNotes")
	if userErrorCodes(other) != "IDEMPOTENCY_KEY_REUSED" || at(other, "userErrors.0.field.1") != "idempotencyKey" {
		t.Fatalf("other input: %v", other)
	}
	if got := upstreamCalls(s); got != calls {
		t.Fatalf("the replay and the refusal made %d upstream calls", got-calls)
	}
	if s.Fake.WritesTo(storeShipID) != 1 {
		t.Fatalf("%d writes", s.Fake.WritesTo(storeShipID))
	}
}

// One key raced from 20 clients: one write, 19 replays of it.
func TestActionKeyRacedWritesOnce(t *testing.T) {
	s := actionServer(t, "minishop")
	doc := fmt.Sprintf(`mutation { shipOrder(input: {idempotencyKey: "race", orderId: "%d", parcels: [{deliveryId: "SF", waybillId: "SF1"}]}) { %s } }`, miniShipID, orderFields)
	var wg sync.WaitGroup
	var mu sync.Mutex
	replayed := 0
	for range 20 {
		wg.Go(func() {
			p := actionPayload(t, s.act(t, doc, nil), "shipOrder")
			if userErrorCodes(p) != "" || at(p, "order.status") != "TO_BE_RECEIVED" {
				t.Errorf("payload %v", p)
			}
			mu.Lock()
			defer mu.Unlock()
			if p["replayed"] == true {
				replayed++
			}
		})
	}
	wg.Wait()
	if w := s.Fake.WritesTo(miniShipID); w != 1 || replayed != 19 {
		t.Fatalf("%d writes, %d replayed; want 1 and 19", w, replayed)
	}
}

// Ten actions on one order with different keys, from two replicas sharing
// Redis, against writes slow enough to overlap: WeChat never sees two at
// once, so none is refused with 100003, and every one lands.
func TestActionsOnOneOrderNeverOverlap(t *testing.T) {
	redis := redistest.Start(t)
	env := map[string]string{"REDIS_URL": redis.URL()}
	a := actionServer(t, "store", env)
	env["WECHAT_API_BASE_URL"] = a.Fake.URL
	b := actionServer(t, "store", env)
	a.Fake.SetWriteLatency(20e6) // 20 ms
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			s := []*server{a, b}[i%2]
			doc := fmt.Sprintf(`mutation { setMerchantNotes(input: {idempotencyKey: "k%d", orderId: "%d", notes: "note %d"}) { %s } }`, i, storeShipID, i, orderFields)
			if p := actionPayload(t, s.act(t, doc, nil), "setMerchantNotes"); userErrorCodes(p) != "" || p["replayed"] != false {
				t.Errorf("action %d: %v", i, p)
			}
		})
	}
	wg.Wait()
	if peak, refused, writes := a.Fake.PeakWritesPerOrder(), a.Fake.Refused100003(), a.Fake.WritesTo(storeShipID); peak != 1 || refused != 0 || writes != 10 {
		t.Fatalf("peak %d writes at once, %d refused with 100003, %d writes; want 1, 0, 10", peak, refused, writes)
	}
}

// A key used on one replica replays on another that shares Redis.
func TestActionReplaysAcrossReplicas(t *testing.T) {
	redis := redistest.Start(t)
	env := map[string]string{"REDIS_URL": redis.URL()}
	a := actionServer(t, "minishop", env)
	env["WECHAT_API_BASE_URL"] = a.Fake.URL
	b := actionServer(t, "minishop", env)
	doc := fmt.Sprintf(`mutation { acceptAftersale(input: {idempotencyKey: "x", aftersaleOrderId: "%d"}) { %s } }`, miniRefundID, afterSaleFields)
	first := actionPayload(t, a.act(t, doc, nil), "acceptAftersale")
	again := actionPayload(t, b.act(t, doc, nil), "acceptAftersale")
	if first["replayed"] != false || again["replayed"] != true || at(again, "aftersaleOrder.status") != "MERCHANT_REFUND_SUCCESS" {
		t.Fatalf("first %v\nagain %v", first, again)
	}
	if w := a.Fake.WritesTo(miniShipID); w != 1 {
		t.Fatalf("%d writes", w)
	}
	// Without Redis a replica cannot know what the fleet did with a key:
	// it refuses actions rather than risk a second write.
	redis.Stop()
	r := b.act(t, fmt.Sprintf(`mutation { setMerchantNotes(input: {idempotencyKey: "y", orderId: "%d", notes: "n"}) { replayed } }`, miniShipID), nil)
	if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "UPSTREAM_UNAVAILABLE" || !strings.Contains(r.Errors[0].Message, "idempotency") {
		t.Fatalf("with Redis away: %s", r.Raw)
	}
	if w := a.Fake.WritesTo(miniShipID); w != 1 {
		t.Fatalf("%d writes with Redis away", w)
	}
}

// A write whose answer is lost is read back: when it landed, the action
// succeeded with one write; when it did not, it is sent once more.
func TestLostAnswersAreReadBack(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fault  func(attempt int) wechattest.WriteFault
		writes int
	}{
		{"landed, connection dropped", func(int) wechattest.WriteFault {
			return wechattest.WriteFault{Fault: wechattest.Fault{Drop: true}, Apply: true}
		}, 1},
		{"landed, busy answer", func(int) wechattest.WriteFault {
			return wechattest.WriteFault{Fault: wechattest.Fault{Errcode: -1}, Apply: true}
		}, 1},
		{"did not land", func(attempt int) wechattest.WriteFault {
			if attempt == 1 {
				return wechattest.WriteFault{Fault: wechattest.Fault{Drop: true}}
			}
			return wechattest.WriteFault{}
		}, 2},
		{"landed, timed out", func(int) wechattest.WriteFault {
			return wechattest.WriteFault{Fault: wechattest.Fault{Delay: 1 << 40}, Apply: true}
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := actionServer(t, "minishop", map[string]string{"UPSTREAM_TIMEOUT": "300ms"})
			s.Fake.SetWriteFaults(func(_ string, _ uint64, attempt int) wechattest.WriteFault { return tc.fault(attempt) })
			doc := fmt.Sprintf(`mutation { shipOrder(input: {idempotencyKey: "k", orderId: "%d", parcels: [{deliveryId: "SF", waybillId: "SF77"}]}) { %s } }`, miniShipID, orderFields)
			p := actionPayload(t, s.act(t, doc, nil), "shipOrder")
			if userErrorCodes(p) != "" || at(p, "order.status") != "TO_BE_RECEIVED" || at(p, "order.orderDetail.deliveryInfo.deliveryProductInfo.0.waybillId") != "SF77" {
				t.Fatalf("payload %v", p)
			}
			if w := s.Fake.WritesTo(miniShipID); w != tc.writes {
				t.Fatalf("%d writes, want %d", w, tc.writes)
			}
		})
	}
}

// When the read-back cannot tell either, the error says the outcome is
// unknown; a retry with the same key reads back before writing.
func TestUnknownOutcomeIsReadBackOnRetry(t *testing.T) {
	s := actionServer(t, "store")
	var mu sync.Mutex
	reading := true
	s.Fake.SetWriteFaults(func(_ string, _ uint64, attempt int) wechattest.WriteFault {
		if attempt == 1 {
			return wechattest.WriteFault{Fault: wechattest.Fault{Drop: true}, Apply: true}
		}
		return wechattest.WriteFault{}
	})
	s.Fake.SetFaults(func(uint64, int) wechattest.Fault {
		mu.Lock()
		defer mu.Unlock()
		if reading {
			return wechattest.Fault{Drop: true}
		}
		return wechattest.Fault{}
	})
	doc := fmt.Sprintf(`mutation { setMerchantNotes(input: {idempotencyKey: "u", orderId: "%d", notes: "packed"}) { %s } }`, storeShipID, orderFields)
	r := s.act(t, doc, nil)
	if len(r.Errors) != 1 || r.Errors[0].Extensions["outcome"] != "UNKNOWN" || r.Errors[0].Extensions["code"] != "UPSTREAM_UNAVAILABLE" {
		t.Fatalf("first: %s", r.Raw)
	}
	mu.Lock()
	reading = false
	mu.Unlock()
	p := actionPayload(t, s.act(t, doc, nil), "setMerchantNotes")
	if userErrorCodes(p) != "" || p["replayed"] != true || at(p, "order.extInfo.merchantNotes") != "packed" {
		t.Fatalf("retry: %v", p)
	}
	if w := s.Fake.WritesTo(storeShipID); w != 1 {
		t.Fatalf("%d writes, want 1", w)
	}
}

// WeChat's refusals are userErrors with the errcode and the order as it
// is; an errcode the doc does not list is REJECTED; the infrastructure's
// failures stay top-level errors.
func TestWeChatRefusals(t *testing.T) {
	s := actionServer(t, "minishop")
	doc := fmt.Sprintf(`mutation($k: String!) { shipOrder(input: {idempotencyKey: $k, orderId: "%d", parcels: [{deliveryId: "SF", waybillId: "SF1"}]}) { %s } }`, miniShipID, orderFields)
	for i, tc := range []struct {
		errcode int64
		code    string
	}{{109001, "ALREADY_SHIPPED"}, {100003, "CONCURRENT_UPDATE"}, {555555, "REJECTED"}, {45009, ""}} {
		s.Fake.SetWriteFaults(func(string, uint64, int) wechattest.WriteFault {
			return wechattest.WriteFault{Fault: wechattest.Fault{Errcode: tc.errcode}}
		})
		r := s.act(t, doc, map[string]any{"k": fmt.Sprint("k", i)})
		if tc.code == "" {
			if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "UPSTREAM_RATE_LIMITED" || r.Errors[0].Extensions["outcome"] != nil {
				t.Errorf("%d: %s", tc.errcode, r.Raw)
			}
			continue
		}
		p := actionPayload(t, r, "shipOrder")
		if userErrorCodes(p) != tc.code || at(p, "userErrors.0.upstreamErrcode") != jsonNumber(tc.errcode) || at(p, "order.status") != "TO_BE_SHIPPED" {
			t.Errorf("%d: %v", tc.errcode, p)
		}
	}
}

// Refusals before any call: bad input, callers without write permission,
// too many actions in one document.
func TestActionRefusalsCallNothing(t *testing.T) {
	s := actionServer(t, "store")
	merchantJWT := hs(t, claims("merchant", ""))
	writerJWT := hs(t, claims("merchant", "", func(c jwt.MapClaims) { c["scope"] = "orders:read orders:write" }))
	arrayJWT := hs(t, claims("merchant", "", func(c jwt.MapClaims) { c["scp"] = []string{"orders:read", "orders:write"} }))
	buyerJWT := hs(t, claims("buyer", "buyer-A", func(c jwt.MapClaims) { c["scope"] = "orders:write" }))
	ship := fmt.Sprintf(`mutation { shipOrder(input: {idempotencyKey: "k", orderId: "%d", virtual: true, parcels: [{deliveryId: "SF", waybillId: "SF1"}]}) { %s } }`, storeShipID, orderFields)
	var many strings.Builder
	many.WriteString("mutation {")
	for i := range 11 {
		fmt.Fprintf(&many, ` a%d: setMerchantNotes(input: {idempotencyKey: "m%d", orderId: "%d", notes: "x"}) { replayed }`, i, i, storeShipID)
	}
	many.WriteString(" }")
	for _, tc := range []struct {
		name, doc string
		header    map[string]string
		code      string // a top-level code, or a user error's
	}{
		{"virtual and parcels", ship, nil, "INVALID_INPUT"},
		{"buyer", ship, bearer(buyerJWT), "FORBIDDEN"},
		{"merchant token without the write scope", ship, bearer(merchantJWT), "FORBIDDEN"},
		{"read-only API key", ship, map[string]string{"X-API-Key": readKey}, "FORBIDDEN"},
		{"11 actions", many.String(), nil, "COST_LIMIT_EXCEEDED"},
		{"merchant token with the write scope", ship, bearer(writerJWT), "INVALID_INPUT"},
		{"merchant token with the write scope in an array", ship, bearer(arrayJWT), "INVALID_INPUT"},
	} {
		before := upstreamCalls(s)
		var r *gqlResponse
		if tc.header == nil {
			r = s.act(t, tc.doc, nil)
		} else {
			r = s.act(t, tc.doc, nil, tc.header)
		}
		got := ""
		if len(r.Errors) > 0 {
			got, _ = r.Errors[0].Extensions["code"].(string)
		} else {
			got = userErrorCodes(actionPayload(t, r, "shipOrder"))
		}
		if got != tc.code {
			t.Errorf("%s: %s, want %s: %s", tc.name, got, tc.code, r.Raw)
		}
		if n := upstreamCalls(s) - before; n != 0 {
			t.Errorf("%s: %d upstream calls", tc.name, n)
		}
	}
}

// The same rules over a WebSocket and over SSE: a read-only credential is
// refused before any call, a writing one acts, and its key replays across
// transports.
func TestActionsOverStreams(t *testing.T) {
	s := actionServer(t, "minishop")
	doc := fmt.Sprintf(`mutation { setMerchantNotes(input: {idempotencyKey: "ws", orderId: "%d", notes: "n"}) { replayed userErrors { code } } }`, miniShipID)
	readOnly, err := dialWS(t, s, map[string]any{"X-API-Key": readKey})
	if err != nil {
		t.Fatal(err)
	}
	readOnly.subscribe("1", doc)
	if m := readOnly.next(10 * time.Second); m.Type != "error" || !strings.Contains(string(m.Payload), "FORBIDDEN") {
		t.Fatalf("read-only key over WebSocket: %s %s", m.Type, m.Payload)
	}
	if n := upstreamCalls(s); n != 0 {
		t.Fatalf("%d upstream calls for a refused action", n)
	}
	writer, err := dialWS(t, s, map[string]any{"X-API-Key": writeKey})
	if err != nil {
		t.Fatal(err)
	}
	writer.subscribe("2", doc)
	if m := writer.next(10 * time.Second); m.Type != "next" || !strings.Contains(string(m.Payload), `"replayed":false`) {
		t.Fatalf("writing key over WebSocket: %s %s", m.Type, m.Payload)
	}
	body, _ := json.Marshal(map[string]any{"query": doc})
	if r := sse(t, s, string(body), map[string]string{"X-API-Key": writeKey}); at(r.Data, "setMerchantNotes.replayed") != true {
		t.Fatalf("the same key over SSE: %s", r.Raw)
	}
	if w := s.Fake.WritesTo(miniShipID); w != 1 {
		t.Fatalf("%d writes", w)
	}
}
