package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/app"
	"github.com/ordergraph/ordergraph/internal/playground"
	"github.com/ordergraph/ordergraph/internal/sandbox"
)

func sandboxServer(t *testing.T) *server {
	return mustOpenServer(t, map[string]string{"WECHAT_APP_ID": "", "WECHAT_APP_SECRET": ""})
}

// The playground's example query, against the sandbox, is the vendor example.
func TestSandboxServesThePlaygroundExample(t *testing.T) {
	s := sandboxServer(t)
	r := s.post(t, playground.ExampleQuery, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("%s", r.Raw)
	}
	for path, want := range map[string]any{
		"order.id": "12123121332", "order.status": "TO_BE_SHIPPED", "order.createTime": "2020-03-25T13:05:25+08:00",
		"order.orderDetail.priceInfo.orderPrice":                         jsonNumber(10500),
		"order.orderDetail.deliveryInfo.expressFee.0.shippingMethod":     "EXPRESS",
		"order.orderDetail.deliveryInfo.deliveryProductInfo.0.waybillId": "134654612313",
		"order.extInfo.merchantNotes":                                    "库存不足,取消",
	} {
		if got := at(r.Data, path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	if s.Fake.OrderCalls.Load() != 0 {
		t.Error("sandbox mode called the configured upstream")
	}
}

// With UPSTREAM_FAMILY=store the playground opens on the Store doc's
// example order, which the Store sandbox serves.
func TestStoreSandboxServesThePlaygroundExample(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"WECHAT_APP_ID": "", "WECHAT_APP_SECRET": "", "UPSTREAM_FAMILY": "store"})
	r := s.post(t, playground.Queries(sandbox.StoreVendorExampleID, sandbox.ShippableOrderID)[0], nil)
	if len(r.Errors) > 0 {
		t.Fatalf("%s", r.Raw)
	}
	for path, want := range map[string]any{
		"order.id": "3705115058471208928", "order.status": "TO_BE_SHIPPED", "order.createTime": "2024-04-26T14:20:00+08:00",
		"order.orderDetail.priceInfo.orderPrice": jsonNumber(2000), "order.extInfo.customerNotes": "发顺丰",
	} {
		if got := at(r.Data, path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
}

// The playground's second tab lists the sandbox's catalogue: the last 7
// days, 10 per page, newest first; each listed order is the one order/get
// answers for its id, and the page walk goes on.
func TestSandboxServesThePlaygroundList(t *testing.T) {
	s := sandboxServer(t)
	r := s.post(t, playground.ListExampleQuery, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("%s", r.Raw)
	}
	edges, _ := at(r.Data, "listOrders.edges").([]any)
	perWeek := int64(7 * 24 * time.Hour / sandbox.CatalogueEvery)
	if len(edges) != 10 || at(r.Data, "listOrders.totalCount") != jsonNumber(perWeek) || at(r.Data, "listOrders.pageInfo.hasNextPage") != true {
		t.Fatalf("the last week's first page: %s", r.Raw)
	}
	id := at(r.Data, "listOrders.edges.3.node.id")
	one := s.post(t, fmt.Sprintf(`{ order(id: "%v") { id status createTime } }`, id), nil)
	if at(one.Data, "order.createTime") != at(r.Data, "listOrders.edges.3.node.createTime") || at(one.Data, "order.status") != at(r.Data, "listOrders.edges.3.node.status") {
		t.Fatalf("order %v listed as %v, answered as %s", id, at(r.Data, "listOrders.edges.3.node"), one.Raw)
	}
	next := s.post(t, playground.ListExampleQuery, map[string]any{"after": at(r.Data, "listOrders.pageInfo.endCursor")})
	if at(next.Data, "listOrders.edges.0.node.id") != fmt.Sprint(sandbox.CatalogueFirstID+10) {
		t.Fatalf("the second page: %s", next.Raw)
	}
}

// The sandbox's catalogue orders with an after-sale order in progress
// answer it, the order's own.
func TestSandboxCatalogueAfterSales(t *testing.T) {
	s := sandboxServer(t)
	r := s.post(t, `{ listOrders(first: 11) { edges { node { id openid aftersaleDetail { aftersaleOrderList { aftersaleOrder { orderId openid status } } } } } } }`, nil)
	for _, i := range []int{0, 10} {
		node := fmt.Sprintf("listOrders.edges.%d.node", i)
		a := node + ".aftersaleDetail.aftersaleOrderList.0.aftersaleOrder"
		if at(r.Data, a+".orderId") != at(r.Data, node+".id") || at(r.Data, a+".openid") != at(r.Data, node+".openid") || at(r.Data, a+".status") != "MERCHANT_PROCESSING" {
			t.Fatalf("order %d's after-sale order: %s", i, r.Raw)
		}
	}
}

// The sandbox's search finds catalogue orders by a product title.
func TestSandboxSearch(t *testing.T) {
	s := sandboxServer(t)
	r := s.post(t, `{ searchOrders(first: 100, filter: {title: "保温杯"}) { totalCount edges { node { id orderDetail { productInfos { title } } } } } }`, nil)
	edges, _ := at(r.Data, "searchOrders.edges").([]any)
	if len(edges) == 0 || at(r.Data, "searchOrders.totalCount") != jsonNumber(int64(len(edges))) {
		t.Fatalf("%s", r.Raw)
	}
	for i := range edges {
		if !strings.Contains(fmt.Sprint(at(r.Data, fmt.Sprintf("searchOrders.edges.%d.node.orderDetail.productInfos", i))), "保温杯") {
			t.Fatalf("edge %d does not hold the title: %s", i, r.Raw)
		}
	}
}

func TestSandboxSpecialIDs(t *testing.T) {
	s := sandboxServer(t)
	codes := map[uint64]string{100002: "ORDER_NOT_FOUND", 48001: "UPSTREAM_PERMISSION_DENIED", 45009: "UPSTREAM_RATE_LIMITED",
		45011: "UPSTREAM_RATE_LIMITED", 30000: "UPSTREAM_RATE_LIMITED", 9401020: "BAD_USER_INPUT", 1400007: "UPSTREAM_UNAVAILABLE",
		900004: "UPSTREAM_UNAVAILABLE", 900005: "UPSTREAM_UNAVAILABLE", 999: "ORDER_NOT_FOUND"}
	for _, sp := range sandbox.Specials {
		if _, ok := codes[sp.ID]; !ok && sp.ID != sandbox.VendorExampleID && (sp.ID < 900001 || sp.ID > 900003) {
			t.Errorf("special id %d (%s) has no expectation here", sp.ID, sp.What)
		}
	}
	for id, code := range codes {
		r := s.post(t, fmt.Sprintf(`{ order(id: "%d") { id } }`, id), nil)
		if c := r.code("order"); c != code {
			t.Errorf("id %d: code %q, want %s", id, c, code)
		}
	}
	r := s.post(t, `{ a: order(id: "900001") { ...q } b: order(id: "900002") { ...q } c: order(id: "900003") { ...q } }
		fragment q on Order { id status statusCode orderType orderTypeCode createTime orderDetail { productInfos { productId skuCnt }
		payInfo { prepayId transactionId } couponInfo { couponId }
		deliveryInfo { expressFee { shippingMethod } deliveryProductInfo { deliveryTime productInfos { productCnt } } insuranceInfo { type } deliverType } } extInfo { customerNotes } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("%s", r.Raw)
	}
	for path, want := range map[string]any{
		"a.orderDetail.deliveryInfo.expressFee.0.shippingMethod":                     "SAME_CITY",
		"a.orderDetail.deliveryInfo.deliveryProductInfo.0.productInfos.0.productCnt": jsonNumber(1),
		"b.id": "900002", "b.status": "TO_BE_RECEIVED", "b.createTime": "2021-05-11T21:01:20+08:00",
		"b.orderDetail.payInfo.transactionId":                           "4200000123456789012",
		"b.orderDetail.couponInfo.couponId.0":                           "32423523451235145",
		"b.orderDetail.couponInfo.couponId.1":                           "9007199254740993",
		"b.orderDetail.deliveryInfo.deliveryProductInfo.0.deliveryTime": "2021-05-11T21:01:20+08:00",
		"c.status": "UNKNOWN", "c.statusCode": jsonNumber(77), "c.orderType": "UNKNOWN", "c.orderTypeCode": jsonNumber(42),
		"c.createTime": nil, "c.extInfo": nil,
		"c.orderDetail.deliveryInfo.expressFee.0.shippingMethod": "UNKNOWN",
		"c.orderDetail.deliveryInfo.insuranceInfo.type":          "UNKNOWN",
		"c.orderDetail.deliveryInfo.deliverType":                 "UNKNOWN",
	} {
		if got := at(r.Data, path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	if got := at(r.Data, "c.orderDetail.productInfos"); fmt.Sprint(got) != "[]" {
		t.Errorf("missing list: %v, want []", got)
	}
}

// runApp runs the real entry point on a free loopback port with env and
// waits until it listens. stop ends it and returns its exit status.
func runApp(t *testing.T, env map[string]string) (base string, out *syncBuf, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out = &syncBuf{}
	var errOut syncBuf
	done := make(chan int)
	go func() {
		done <- app.Run(ctx, []string{"-addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, out, &errOut)
	}()
	line, ok := out.waitFor(`"msg":"listening on `, 5*time.Second)
	if !ok {
		t.Fatalf("no start-up line: %s %s", out.String(), errOut.String())
	}
	base, _, _ = strings.Cut(line, `"`)
	return base, out, func() int { cancel(); return <-done }
}

// Run starts in sandbox mode with no configuration, says so, and stops
// cleanly when its context ends.
func TestRunSandboxAndGracefulShutdown(t *testing.T) {
	_, out, stop := runApp(t, nil)
	if !strings.Contains(out.String(), "SANDBOX MODE") || !strings.Contains(out.String(), `"playground":"http://127.0.0.1:`) {
		t.Errorf("start-up log does not say sandbox mode and the playground URL: %s", out.String())
	}
	if strings.Contains(out.String(), "ALLOW_ANONYMOUS") {
		t.Errorf("sandbox mode warned about anonymous access to real orders: %s", out.String())
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit %d after shutdown: %s", code, out.String())
	}
}

// runOnce runs the entry point with env until it returns by itself.
func runOnce(env map[string]string, out, errOut *syncBuf) int {
	return app.Run(context.Background(), nil, func(k string) string { return env[k] }, out, errOut)
}

func TestRunRejectsBadConfiguration(t *testing.T) {
	var out, errOut syncBuf
	code := runOnce(map[string]string{"WECHAT_APP_ID": "wx123", "UPSTREAM_TIMEOUT": "fast"}, &out, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "WECHAT_APP_SECRET") || !strings.Contains(errOut.String(), "UPSTREAM_TIMEOUT") {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
}

// UPSTREAM_FAMILY picks the family; one it does not know stops start-up
// with status 2 and a message naming the variable, before anything
// listens. Both families serve the sandbox's catalogue, each in its own
// upstream shape, and answer a query of what both send the same; the
// start-up log names the family. They differ where the contract says:
// payMethod is Mini Shop's text, and null on the Store, which sends a code.
func TestRunUpstreamFamily(t *testing.T) {
	var out, errOut syncBuf
	want := `UPSTREAM_FAMILY has "bogus"; want one of minishop, store`
	if code := runOnce(map[string]string{"UPSTREAM_FAMILY": "bogus"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), want) || out.String() != "" {
		t.Errorf("UPSTREAM_FAMILY=bogus: exit %d, stderr %q, stdout %q; want 2 and %q", code, errOut.String(), out.String(), want)
	}
	const query = `{"query":"{ orders(ids: [\"2000000\", \"2000001\", \"2000002\", \"2000003\"]) { id openid createTime updateTime orderType orderDetail { productInfos { productId skuId skuCnt salePrice title skuAttrs { attrKey attrValue } } priceInfo { productPrice orderPrice freight discountedPrice } payInfo { paymentMethod prepayId transactionId prepayTime payTime } deliveryInfo { addressInfo { userName telNumber } deliveryProductInfo { waybillId deliveryId deliveryTime productInfos { skuId productCnt } } } } } }"}`
	const payMethods = `{"query":"{ orders(ids: [\"2000000\", \"2000001\", \"2000002\", \"2000003\"]) { orderDetail { payInfo { payMethod } } } }"}`
	wantPayMethods := map[string]string{"minishop": `"payMethod":"微信支付"`, "store": `"payMethod":null`}
	answers := map[string]string{}
	for _, family := range []string{"minishop", "store"} {
		base, log, stop := runApp(t, map[string]string{"UPSTREAM_FAMILY": family})
		post := func(query string) string {
			resp, err := http.Post(base+"/graphql", "application/json", strings.NewReader(query))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return string(body)
		}
		body, methods := post(query), post(payMethods)
		stop()
		paid := strings.Count(body, `"paymentMethod":`)
		if paid == 0 || strings.Count(methods, wantPayMethods[family]) != paid {
			t.Errorf("%s family: %d paid orders, payMethods %s; want each %s", family, paid, methods, wantPayMethods[family])
		}
		if !strings.Contains(log.String(), `"family":"`+family+`"`) {
			t.Errorf("start-up log does not name the family %s: %s", family, log.String())
		}
		if strings.Contains(body, `"errors"`) || !strings.Contains(body, `"id":"2000003"`) {
			t.Fatalf("%s family answered %s", family, body)
		}
		answers[family] = body
	}
	if answers["minishop"] != answers["store"] {
		t.Fatalf("the families answer the same query differently:\nminishop %s\nstore    %s", answers["minishop"], answers["store"])
	}
}

// syncBuf collects a process's output; waitFor wakes on each write rather
// than polling.
type syncBuf struct {
	mu      sync.Mutex
	b       bytes.Buffer
	written chan struct{} // closed and replaced on every write
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.written != nil {
		close(s.written)
		s.written = nil
	}
	return s.b.Write(p)
}

func (s *syncBuf) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// waitFor waits until the output holds marker and returns what follows it.
func (s *syncBuf) waitFor(marker string, timeout time.Duration) (string, bool) {
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		if _, after, ok := strings.Cut(s.b.String(), marker); ok {
			s.mu.Unlock()
			return after, true
		}
		if s.written == nil {
			s.written = make(chan struct{})
		}
		written := s.written
		s.mu.Unlock()
		select {
		case <-written:
		case <-deadline:
			return "", false
		}
	}
}

// The README's example is what the sandbox answers, word for word.
func TestREADMEExampleIsTheSandboxAnswer(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(string(readme), "## Example\n")
	_, query, _ := strings.Cut(after, "```graphql\n")
	query, after, _ = strings.Cut(query, "```")
	_, answer, _ := strings.Cut(after, "```json\n")
	answer, _, _ = strings.Cut(answer, "```")
	if query == "" || answer == "" {
		t.Fatal("README's Example section has no graphql and json blocks")
	}
	r := sandboxServer(t).post(t, query, nil)
	var want, got any
	if err := json.Unmarshal([]byte(answer), &want); err != nil {
		t.Fatalf("README's example answer is not JSON: %v", err)
	}
	if err := json.Unmarshal(r.Raw, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("the sandbox answers\n%s\nthe README says\n%s", r.Raw, answer)
	}
}

// -h prints the usage, every variable beside its flag, and is no error.
func TestRunHelp(t *testing.T) {
	var out, errOut syncBuf
	if code := app.Run(context.Background(), []string{"-h"}, func(string) string { return "" }, &out, &errOut); code != 0 ||
		!strings.Contains(errOut.String(), "($UPSTREAM_FAMILY) (default minishop)") || strings.Contains(errOut.String(), "configuration error") {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
}

// The playground's order-action tab ships the sandbox's order on either
// family, and replays on the second run; on the WeChat Store the sandbox
// pushes the shipment's event, which subscribers see with the order as
// shipped.
func TestSandboxOrderActionTab(t *testing.T) {
	app.SetSandboxEventInterval(t, time.Hour) // only the action's event
	for _, family := range []string{"minishop", "store"} {
		t.Run(family, func(t *testing.T) {
			s := mustOpenServer(t, map[string]string{"WECHAT_APP_ID": "", "WECHAT_APP_SECRET": "", "UPSTREAM_FAMILY": family})
			var c *wsClient
			if family == "store" {
				var err error
				if c, err = dialWS(t, s, nil); err != nil {
					t.Fatal(err)
				}
				c.subscribe("1", fmt.Sprintf(`subscription { orderEvents(filter: {orderId: "%d"}) { kind orderId order { status } } }`, sandbox.ShippableOrderID))
				subscribed(t, s, 1)
			}
			tab := playground.Queries(sandbox.StoreVendorExampleID, sandbox.ShippableOrderID)[3]
			for run, replayed := range []bool{false, true} {
				r := s.post(t, tab, nil)
				if len(r.Errors) > 0 || at(r.Data, "shipOrder.replayed") != replayed || at(r.Data, "shipOrder.order.status") != "TO_BE_RECEIVED" ||
					at(r.Data, "shipOrder.order.orderDetail.deliveryInfo.deliveryProductInfo.0.waybillId") != "SF1234567890" {
					t.Fatalf("run %d: %s", run+1, r.Raw)
				}
			}
			if c == nil {
				return
			}
			var got struct {
				Data struct {
					OrderEvents struct {
						Kind, OrderID string
						Order         struct{ Status string }
					}
				}
			}
			if m := c.next(30 * time.Second); json.Unmarshal(m.Payload, &got) != nil || got.Data.OrderEvents.Kind != "SHIPPED" || got.Data.OrderEvents.Order.Status != "TO_BE_RECEIVED" {
				t.Fatalf("event %s", m.Payload)
			}
		})
	}
}

// The README's order-action example is what the sandbox answers: the
// first time, a retry with the same key, and another key.
func TestREADMEActionExampleIsTheSandboxAnswer(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(string(readme), "Order actions are mutations")
	_, doc, _ := strings.Cut(after, "```graphql\n")
	doc, after, _ = strings.Cut(doc, "```")
	_, answer, _ := strings.Cut(after, "answers `")
	answer, _, _ = strings.Cut(answer, "`")
	if doc == "" || answer == "" {
		t.Fatal("README has no order-action example")
	}
	s := sandboxServer(t)
	if r := s.post(t, doc, nil); string(bytes.TrimSpace(r.Raw)) != answer {
		t.Fatalf("the sandbox answers\n%s\nthe README says\n%s", r.Raw, answer)
	}
	if r := s.post(t, doc, nil); !strings.Contains(string(r.Raw), `"replayed":true`) {
		t.Fatalf("retry: %s", r.Raw)
	}
	other := strings.Replace(doc, "9b2f6c1e", "another", 1)
	if r := s.post(t, other, nil); !strings.Contains(string(r.Raw), `"userErrors":[{"code":"ALREADY_SHIPPED","message":"the order has shipped already"}]`) ||
		!strings.Contains(string(readme), `"userErrors":[{"code":"ALREADY_SHIPPED","message":"the order has shipped already"}]`) {
		t.Fatalf("another key: %s", r.Raw)
	}
}
