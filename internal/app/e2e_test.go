package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/config"
	"github.com/ordergraph/ordergraph/internal/gqltest"
	"github.com/ordergraph/ordergraph/internal/sandbox"
	"github.com/ordergraph/ordergraph/internal/token"
)

// The vendor example, every contract field, mapped as the contract says.
const vendorExampleGraphQL = `{
  "id": "12123121332", "status": "TO_BE_SHIPPED", "statusCode": 20,
  "createTime": "2020-03-25T13:05:25+08:00", "updateTime": "2020-03-25T14:05:25+08:00",
  "openid": "oDNt95V1edm_RT8K5GSLW4dQYciE", "orderType": "ORDINARY", "orderTypeCode": 0,
  "orderDetail": {
    "productInfos": [{"productId": "234245", "outProductId": null, "skuId": "23424", "outSkuId": null,
      "thumbImg": "http://img10.360buyimg.com/n1/s450x450_jfs/t1/85865/39/13611/488083/5e590a40E4bdf69c0/55c9bf645ea2b727.jpg",
      "skuCnt": 10, "salePrice": 2000, "title": "健身环", "skuAttrs": [{"attrKey": "选择颜色", "attrValue": "红蓝主机"}],
      "onAftersaleSkuCnt": 10, "finishAftersaleSkuCnt": 0, "skuCode": null, "marketPrice": 2000}],
    "priceInfo": {"productPrice": 20000, "orderPrice": 10500, "freight": 500, "discountedPrice": 10000, "isDiscounted": true,
      "originalOrderPrice": null, "estimateProductPrice": null, "changeDownPrice": null, "changeFreight": null, "isChangeFreight": null, "buyerInsurancePrice": null},
    "payInfo": {"payMethod": "微信支付", "paymentMethod": "WECHAT_PAY", "prepayId": "42526234625", "prepayTime": "2020-03-25T14:04:25+08:00", "payTime": "2020-03-25T14:05:25+08:00", "transactionId": "131456479687"},
    "deliveryInfo": {
      "addressInfo": {"userName": "陈先生", "postalCode": "2435245", "provinceName": "广东", "cityName": "广州", "countyName": "海珠区", "detailInfo": "大塘", "nationalCode": "234234", "telNumber": "24534252", "houseNumber": null},
      "deliveryMethod": "快递",
      "expressFee": [{"shippingMethod": "EXPRESS"}],
      "deliveryProductInfo": [{"waybillId": "134654612313", "deliveryId": "STO", "productInfos": [{"productId": "234245", "skuId": "23424", "productCnt": 1}],
        "deliveryName": null, "deliveryTime": "2021-05-11T21:01:20+08:00", "deliverType": "OPTIONAL_EXPRESS",
        "deliveryAddress": {"userName": "陈先生", "postalCode": "2435245", "provinceName": "广东", "cityName": "广州", "countyName": "海珠区", "detailInfo": "大塘", "nationalCode": "234234", "telNumber": "24534252", "houseNumber": null}}],
      "shipDoneTime": "2021-05-11T21:01:20+08:00",
      "insuranceInfo": {"type": "NONE", "insurancePrice": 0},
      "deliverType": "OPTIONAL_EXPRESS", "offlineDeliveryTime": null, "offlinePickupTime": null, "pickupAddress": null
    },
    "couponInfo": null, "couponcodeInfo": null
  },
  "aftersaleDetail": {"onAftersaleOrderCnt": 1, "aftersaleOrderList": [{"aftersaleOrderId": "1234", "status": 13}]},
  "extInfo": {"customerNotes": "发顺丰", "merchantNotes": "库存不足,取消"}
}`

func jsonEqual(t *testing.T, got any, want string) {
	t.Helper()
	g, _ := json.Marshal(got)
	var gv, wv any
	_ = json.Unmarshal(g, &gv)
	if err := json.Unmarshal([]byte(want), &wv); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gv, wv) {
		t.Fatalf("got  %s\nwant %s", g, want)
	}
}

func TestVendorExampleEveryField(t *testing.T) {
	s := mustOpenServer(t, nil)
	s.Fake.SetResponse(sandbox.VendorExampleID, string(sandbox.VendorExample))
	r := s.post(t, gqltest.EveryOrderQuery, map[string]any{"id": "12123121332"})
	if len(r.Errors) > 0 || r.Status != 200 {
		t.Fatalf("status %d, errors %+v", r.Status, r.Errors)
	}
	jsonEqual(t, r.Data["order"], vendorExampleGraphQL)
}

func TestIDsBeyond2To53StayExact(t *testing.T) {
	s := mustOpenServer(t, nil)
	s.Fake.SetOrder(32423523451235145, `{"order_id":32423523451235145,"order_detail":{"product_infos":[{"product_id":18446744073709551615,"sku_id":"9007199254740993"}],"coupon_info":{"coupon_id":[9007199254740995]}}}`)
	r := s.post(t, `{ order(id: "32423523451235145") { id orderDetail { productInfos { productId skuId } couponInfo { couponId } } } }`, nil)
	// An id sent as a JSON number in variables, or as an integer literal,
	// must not go through float64 on the way in either.
	for _, body := range []string{
		`{"query":"query($id: ID!) { order(id: $id) { id } }","variables":{"id":32423523451235145}}`,
		`{"query":"{ order(id: 32423523451235145) { id } }"}`,
	} {
		if in := s.do(t, "POST", "/graphql", "application/json", body, nil); at(in.Data, "order.id") != "32423523451235145" {
			t.Errorf("%s: %s", body, in.Raw)
		}
	}
	// Check the raw bytes: the ids must be strings with every digit.
	for _, want := range []string{`"id":"32423523451235145"`, `"productId":"18446744073709551615"`, `"skuId":"9007199254740993"`, `"couponId":["9007199254740995"]`} {
		if !bytes.Contains(r.Raw, []byte(want)) {
			t.Errorf("response lacks %s: %s", want, r.Raw)
		}
	}
}

func TestDedupeWithinARequest(t *testing.T) {
	s := mustOpenServer(t, nil)
	for _, id := range []uint64{1001, 1002, 1003} {
		s.Fake.SetOrder(id, fmt.Sprintf(`{"order_id":%d,"status":20}`, id))
	}
	r := s.post(t, `{
		a: order(id: "1001") { id }
		b: order(id: "1001") { status }
		list: orders(ids: ["1002", "1001", "1002", "1003"]) { id }
		again: orders(ids: ["1003"]) { id }
	}`, nil)
	if len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	jsonEqual(t, r.Data["list"], `[{"id":"1002"},{"id":"1001"},{"id":"1002"},{"id":"1003"}]`)
	for _, id := range []uint64{1001, 1002, 1003} {
		if n := s.Fake.CallsFor(id); n != 1 {
			t.Errorf("order %d fetched %d times, want 1", id, n)
		}
	}
	if n := s.Fake.OrderCalls.Load(); n != 3 {
		t.Errorf("%d upstream calls for 3 distinct ids", n)
	}
	// A new request is a new loader: nothing is remembered across requests.
	s.post(t, `{ order(id: "1001") { id } }`, nil)
	if n := s.Fake.CallsFor(1001); n != 2 {
		t.Errorf("order 1001 fetched %d times over two requests, want 2", n)
	}
}

func TestConcurrencyPerRequestIsBounded(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"UPSTREAM_CONCURRENCY": "4"})
	s.Fake.SetLatency(30 * time.Millisecond)
	ids := make([]string, 16)
	for i := range ids {
		s.Fake.SetOrder(uint64(2000+i), fmt.Sprintf(`{"order_id":%d}`, 2000+i))
		ids[i] = fmt.Sprint(2000 + i)
	}
	s.post(t, `{ order(id: "2000") { id } }`, nil) // warm the token
	r := s.post(t, `query($ids: [ID!]!) { orders(ids: $ids) { id } }`, map[string]any{"ids": ids})
	if len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	if peak := s.Fake.PeakOrders.Load(); peak > 4 || peak < 2 {
		t.Fatalf("peak of %d order calls in flight for one request; the bound is 4", peak)
	}
}

func TestProcessWideCapOnUpstreamCalls(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"UPSTREAM_CONCURRENCY": "16", "UPSTREAM_MAX_IN_FLIGHT": "5"})
	ids := make([]string, 16)
	for i := range ids {
		s.Fake.SetOrder(uint64(3000+i), fmt.Sprintf(`{"order_id":%d}`, 3000+i))
		ids[i] = fmt.Sprint(3000 + i)
	}
	s.post(t, `{ order(id: "3000") { id } }`, nil) // warm the token
	s.Fake.SetLatency(20 * time.Millisecond)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if r := s.post(t, `query($ids: [ID!]!) { orders(ids: $ids) { id } }`, map[string]any{"ids": ids}); len(r.Errors) > 0 {
				t.Error(r.Errors)
			}
		})
	}
	wg.Wait()
	if peak := s.Fake.PeakOrders.Load(); peak > 5 || peak < 2 {
		t.Fatalf("peak of %d order calls in flight; the process-wide cap is 5", peak)
	}
}

func TestTokenSingleFlightForConcurrentColdRequests(t *testing.T) {
	s := mustOpenServer(t, nil)
	s.Fake.SetOrder(1001, `{"order_id":1001}`)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if r := s.post(t, `{ order(id: "1001") { id } }`, nil); len(r.Errors) > 0 {
				t.Error(r.Errors)
			}
		})
	}
	wg.Wait()
	if n := s.Fake.TokenCalls.Load(); n != 1 {
		t.Fatalf("%d token calls for 50 concurrent cold requests, want 1", n)
	}
}

func TestRevokedTokenIsRefreshedAndTheCallRetried(t *testing.T) {
	for _, sticky := range []bool{false, true} {
		t.Run(fmt.Sprintf("sticky=%v", sticky), func(t *testing.T) {
			s := mustOpenServer(t, nil)
			for _, id := range []uint64{1001, 1002, 1003} {
				s.Fake.SetOrder(id, fmt.Sprintf(`{"order_id":%d}`, id))
			}
			s.post(t, `{ order(id: "1001") { id } }`, nil)
			s.Fake.RevokeAll(sticky)
			r := s.post(t, `{ orders(ids: ["1001", "1002", "1003"]) { id } }`, nil)
			if len(r.Errors) > 0 {
				t.Fatalf("the client saw the revocation: %+v", r.Errors)
			}
			jsonEqual(t, r.Data["orders"], `[{"id":"1001"},{"id":"1002"},{"id":"1003"}]`)
			wantForce := int64(0)
			if sticky {
				wantForce = 1
			}
			// normal mode once; when it insists on the revoked token, one force refresh
			if got, want := s.Fake.TokenCalls.Load(), 2+wantForce; got != want {
				t.Errorf("%d token calls, want %d", got, want)
			}
			if n := s.Fake.ForceCalls.Load(); n != wantForce {
				t.Errorf("%d force refreshes, want %d", n, wantForce)
			}
		})
	}
}

func TestErrorTable(t *testing.T) {
	s := mustOpenServer(t, nil)
	s.Fake.SetOrder(1001, `{"order_id":1001}`)
	tests := []struct {
		errcode int64
		code    string
	}{
		{100002, "ORDER_NOT_FOUND"},
		{9401020, "BAD_USER_INPUT"},
		{48001, "UPSTREAM_PERMISSION_DENIED"},
		{45009, "UPSTREAM_RATE_LIMITED"},
		{45011, "UPSTREAM_RATE_LIMITED"},
		{30000, "UPSTREAM_RATE_LIMITED"},
		{-1, "UPSTREAM_UNAVAILABLE"},
		{1400007, "UPSTREAM_UNAVAILABLE"},
		{77777, "UPSTREAM_UNAVAILABLE"},
	}
	for i, tt := range tests {
		t.Run(tt.code+fmt.Sprint(tt.errcode), func(t *testing.T) {
			id := uint64(5000 + i)
			s.Fake.SetErrcode(id, tt.errcode)
			r := s.post(t, fmt.Sprintf(`{ good: order(id: "1001") { id } bad: order(id: "%d") { id } }`, id), nil)
			e := r.errorAt("bad")
			if e == nil {
				t.Fatalf("no error at path bad: %s", r.Raw)
			}
			if e.Extensions["code"] != tt.code || e.Extensions["upstreamErrcode"] != json.Number(fmt.Sprint(tt.errcode)) {
				t.Fatalf("extensions %v, want code %s and upstreamErrcode %d", e.Extensions, tt.code, tt.errcode)
			}
			if at(r.Data, "bad") != nil || at(r.Data, "good.id") != "1001" {
				t.Fatalf("data %v: the failing order must be null and the other intact", r.Data)
			}
		})
	}
}

func TestGarbageAndTransportFailures(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"UPSTREAM_TIMEOUT": "100ms"})
	s.Fake.SetOrder(1001, `{"order_id":1001}`)
	s.Fake.SetResponse(7001, `{"errcode":0,"order":{"order_id":`)
	s.Fake.SetResponse(7002, `<html>502 Bad Gateway</html>`)
	s.Fake.SetResponse(7003, `{"errcode":0,"order":{"order_id":7003,"status":"twenty"}}`)
	r := s.post(t, `{ orders(ids: ["7001", "1001", "7002", "7003"]) { id } }`, nil)
	for _, p := range []string{"orders.0", "orders.2", "orders.3"} {
		if c := r.code(p); c != "UPSTREAM_UNAVAILABLE" {
			t.Errorf("%s: code %q, want UPSTREAM_UNAVAILABLE (%s)", p, c, r.Raw)
		}
	}
	if at(r.Data, "orders.1.id") != "1001" {
		t.Errorf("the good order did not resolve: %s", r.Raw)
	}
	// A slow upstream: the call times out, the client gets a coded error.
	s.Fake.SetLatency(300 * time.Millisecond)
	r = s.post(t, `{ order(id: "1001") { id } }`, nil)
	if c := r.code("order"); c != "UPSTREAM_UNAVAILABLE" || !strings.Contains(r.errorAt("order").Message, "timed out") {
		t.Errorf("slow upstream: %s", r.Raw)
	}
	// An upstream that is down.
	s.Fake.Close()
	r = s.post(t, `{ order(id: "1002") { id } }`, nil)
	if c := r.code("order"); c != "UPSTREAM_UNAVAILABLE" {
		t.Errorf("upstream down: %s", r.Raw)
	}
	// No internal text reaches clients: no URL, no Go error string.
	for _, e := range r.Errors {
		for _, bad := range []string{"http://", "127.0.0.1", "dial tcp", "access_token", "json:"} {
			if strings.Contains(e.Message, bad) {
				t.Errorf("message leaks %q: %s", bad, e.Message)
			}
		}
	}
}

func TestTokenEndpointFailures(t *testing.T) {
	for errcode, hint := range map[int64]string{40013: "WECHAT_APP_ID", 40125: "WECHAT_APP_SECRET", 40164: "allow list"} {
		t.Run(fmt.Sprint(errcode), func(t *testing.T) {
			clk := newClock()
			s := mustOpenServer(t, nil, func(c *config.Config) { c.Token.Now = clk.Now })
			s.Fake.SetOrder(1001, `{"order_id":1001}`)
			s.Fake.SetTokenErrcode(errcode)
			var wg sync.WaitGroup
			for range 10 {
				wg.Go(func() {
					r := s.post(t, `{ order(id: "1001") { id } }`, nil)
					e := r.errorAt("order")
					if e == nil || e.Extensions["code"] != "UPSTREAM_AUTH_FAILED" || !strings.Contains(e.Message, hint) {
						t.Errorf("got %s, want UPSTREAM_AUTH_FAILED naming %s", r.Raw, hint)
					}
				})
			}
			wg.Wait()
			if n := s.Fake.TokenCalls.Load(); n != 1 {
				t.Errorf("%d token calls for 10 concurrent requests, want 1 shared attempt", n)
			}
			if r := s.do(t, "GET", "/readyz", "", "", nil); r.Status != http.StatusServiceUnavailable {
				t.Errorf("/readyz answered %d while no token can be had", r.Status)
			}
			// The server recovers by itself once the upstream answers again.
			s.Fake.SetTokenErrcode(0)
			if r := s.post(t, `{ order(id: "1001") { id } }`, nil); r.code("order") != "UPSTREAM_AUTH_FAILED" || s.Fake.TokenCalls.Load() != 1 {
				t.Errorf("the failure was not remembered for its cooldown: %d token calls, %s", s.Fake.TokenCalls.Load(), r.Raw)
			}
			clk.Advance(token.DefaultConfig().FailureCooldown)
			if r := s.post(t, `{ order(id: "1001") { id } }`, nil); len(r.Errors) > 0 {
				t.Errorf("no recovery: %s", r.Raw)
			}
		})
	}
}

func TestStaticTokenIsNeverFetched(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"WECHAT_APP_ID": "", "WECHAT_APP_SECRET": "", "WECHAT_ACCESS_TOKEN": "STATIC_TOKEN_abc123"})
	s.Fake.SetOrder(1001, `{"order_id":1001}`)
	r := s.post(t, `{ order(id: "1001") { id } }`, nil)
	// The fake does not know the static token: the call is refused, and
	// with no way to refresh the client gets UPSTREAM_AUTH_FAILED, once.
	if c := r.code("order"); c != "UPSTREAM_AUTH_FAILED" {
		t.Fatalf("got %s", r.Raw)
	}
	if s.Fake.TokenCalls.Load() != 0 || s.Fake.OrderCalls.Load() != 1 {
		t.Fatalf("%d token calls, %d order calls; want 0 and 1", s.Fake.TokenCalls.Load(), s.Fake.OrderCalls.Load())
	}
}

func TestBadInput(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"MAX_IDS_PER_QUERY": "5"})
	s.Fake.SetOrder(1001, `{"order_id":1001}`)
	for _, id := range []string{"0", "-1", "abc", "18446744073709551616", "007", " 12", "1e5", ""} {
		r := s.post(t, `query($id: ID!) { order(id: $id) { id } }`, map[string]any{"id": id})
		if c := r.code("order"); c != "BAD_USER_INPUT" {
			t.Errorf("id %q: %s", id, r.Raw)
		}
	}
	r := s.post(t, `{ orders(ids: ["1001", "x", "1001"]) { id } }`, nil)
	if r.code("orders.1") != "BAD_USER_INPUT" || at(r.Data, "orders.0.id") != "1001" || at(r.Data, "orders.2.id") != "1001" {
		t.Errorf("a bad entry must fail alone: %s", r.Raw)
	}
	r = s.post(t, `{ orders(ids: ["1", "2", "3", "4", "5", "6"]) { id } }`, nil)
	if c := r.code("orders"); c != "BAD_USER_INPUT" || !strings.Contains(r.errorAt("orders").Message, "at most 5") {
		t.Errorf("too many ids: %s", r.Raw)
	}
	if n := s.Fake.OrderCalls.Load(); n != 1 {
		t.Errorf("%d upstream calls; bad ids must be refused before any call", n)
	}
}

func TestHTTPProtocol(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"MAX_BODY_BYTES": "2048"})
	s.Fake.SetOrder(1001, `{"order_id":1001}`)

	t.Run("GET", func(t *testing.T) {
		r := s.do(t, "GET", `/graphql?query={order(id:"1001"){id}}`, "", "", nil)
		if r.Status != 200 || at(r.Data, "order.id") != "1001" {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	})
	t.Run("graphql-response+json when asked", func(t *testing.T) {
		accept := map[string]string{"Accept": "application/graphql-response+json"}
		r := s.do(t, "POST", "/graphql", "application/json", `{"query":"{ order(id: \"1001\") { id } }"}`, accept)
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/graphql-response+json") {
			t.Fatalf("%d %q", r.Status, r.Header.Get("Content-Type"))
		}
		r = s.do(t, "POST", "/graphql", "application/json", `{"query":"{ order(id: \"1001\") { nope } }"}`, accept)
		if r.Status != 400 || len(r.Errors) == 0 {
			t.Fatalf("invalid query with graphql-response+json: %d %s", r.Status, r.Raw)
		}
		r = s.do(t, "POST", "/graphql", "application/json", `{"query":"{ order(id: \"1001\") { nope } }"}`, nil)
		if r.Status != 200 || r.code("") != "GRAPHQL_VALIDATION_FAILED" {
			t.Fatalf("invalid query with application/json: %d %s", r.Status, r.Raw)
		}
	})
	t.Run("malformed bodies are 400", func(t *testing.T) {
		for _, body := range []string{`{"query":`, `[]`, `{"query": 5}`, `{"query":"{a}","variables":[1]}`, "\x00\x01"} {
			r := s.do(t, "POST", "/graphql", "application/json", body, nil)
			if r.Status != 400 || len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "BAD_REQUEST" {
				t.Errorf("%q: %d %s", body, r.Status, r.Raw)
			}
			if strings.Contains(string(r.Raw), "json:") || strings.Contains(string(r.Raw), "unexpected") {
				t.Errorf("%q: decoder text reached the client: %s", body, r.Raw)
			}
		}
	})
	t.Run("oversized body is 413", func(t *testing.T) {
		big := `{"query":"{ order(id: \"1001\") { id } }","variables":{"pad":"` + strings.Repeat("x", 4096) + `"}}`
		r := s.do(t, "POST", "/graphql", "application/json", big, nil)
		if r.Status != 413 {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	})
	t.Run("introspection is on with the playground", func(t *testing.T) {
		r := s.post(t, `{ __type(name: "Order") { fields { name } } }`, nil)
		if len(r.Errors) > 0 || at(r.Data, "__type.fields.0.name") != "id" {
			t.Fatalf("%s", r.Raw)
		}
	})
	t.Run("security headers", func(t *testing.T) {
		r := s.do(t, "GET", "/", "", "", nil)
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
			if got := r.Header.Get(k); got != v {
				t.Errorf("%s: %q, want %q", k, got, v)
			}
		}
	})
	t.Run("health", func(t *testing.T) {
		if r := s.do(t, "GET", "/healthz", "", "", nil); r.Status != 200 {
			t.Fatal(r.Status)
		}
		if r := s.do(t, "GET", "/readyz", "", "", nil); r.Status != 200 {
			t.Fatal(r.Status, string(r.Raw))
		}
	})
	t.Run("playground works offline", func(t *testing.T) {
		page := s.do(t, "GET", "/", "", "", nil)
		if page.Status != 200 || !strings.Contains(string(page.Raw), "ExampleOrder") {
			t.Fatalf("%d %.200s", page.Status, page.Raw)
		}
		if strings.Contains(string(page.Raw), "https://") || strings.Contains(string(page.Raw), "http://") {
			t.Fatalf("the page loads something from the network: %s", page.Raw)
		}
		for _, asset := range []string{"graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js", "graphql-ws.min.js"} {
			if !strings.Contains(string(page.Raw), asset) {
				t.Errorf("page does not load %s", asset)
			}
			if r := s.do(t, "GET", "/playground/assets/"+asset, "", "", nil); r.Status != 200 || len(r.Raw) < 1000 {
				t.Errorf("%s: %d, %d bytes", asset, r.Status, len(r.Raw))
			}
		}
	})
}

func TestPlaygroundOffMeansNoIntrospection(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"PLAYGROUND": "false"})
	if r := s.do(t, "GET", "/", "", "", nil); r.Status != 404 {
		t.Errorf("playground served with PLAYGROUND=false: %d", r.Status)
	}
	r := s.post(t, `{ __schema { types { name } } }`, nil)
	if len(r.Errors) == 0 {
		t.Errorf("introspection answered with the playground off: %.200s", r.Raw)
	}
}

func TestRequestLog(t *testing.T) {
	s := mustOpenServer(t, nil)
	s.Fake.SetOrder(1001, `{"order_id":1001}`)
	s.do(t, "POST", "/graphql", "application/json", `{"query":"query FetchOne { order(id: \"1001\") { id } }"}`, map[string]string{"X-Request-Id": "req-42"})
	s.mu.Lock()
	logs := s.logs.String()
	s.mu.Unlock()
	for line := range strings.SplitSeq(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if rec["msg"] == "request" && rec["operation"] == "FetchOne" {
			if rec["request_id"] != "req-42" || rec["status"] != float64(200) || rec["latency_ms"] == nil {
				t.Fatalf("incomplete request log: %s", line)
			}
			return
		}
	}
	t.Fatalf("no request log line for FetchOne in:\n%s", logs)
}
