package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/coder/websocket"
	"github.com/ordergraph/ordergraph/internal/app"
	"github.com/ordergraph/ordergraph/internal/playground"
	"github.com/ordergraph/ordergraph/internal/redistest"
)

// wsClient speaks graphql-transport-ws, the protocol of the graphql-ws
// library that Apollo Client and urql use.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
}

type wsMessage struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// dialWS connects and sends connection_init with payload; it returns the
// client once acknowledged, or the close error.
func dialWS(t *testing.T, s *server, payload map[string]any) (*wsClient, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http")+"/graphql", &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	c := &wsClient{t: t, conn: conn}
	body, _ := json.Marshal(payload)
	c.send(wsMessage{Type: "connection_init", Payload: body})
	m, err := c.read(5 * time.Second)
	if err != nil {
		return nil, err
	}
	if m.Type != "connection_ack" {
		t.Fatalf("want connection_ack, got %+v", m)
	}
	return c, nil
}

func (c *wsClient) send(m wsMessage) {
	b, _ := json.Marshal(m)
	if err := c.conn.Write(context.Background(), websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
}

// read returns the next message other than a ping.
func (c *wsClient) read(timeout time.Duration) (wsMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		_, b, err := c.conn.Read(ctx)
		if err != nil {
			return wsMessage{}, err
		}
		var m wsMessage
		if err := json.Unmarshal(b, &m); err != nil {
			c.t.Fatalf("not JSON: %s", b)
		}
		if m.Type != "ping" && m.Type != "pong" {
			return m, nil
		}
	}
}

func (c *wsClient) subscribe(id, query string) {
	payload, _ := json.Marshal(map[string]any{"query": query})
	c.send(wsMessage{Type: "subscribe", ID: id, Payload: payload})
}

// next waits for the next message of subscription id.
func (c *wsClient) next(timeout time.Duration) wsMessage {
	c.t.Helper()
	m, err := c.read(timeout)
	if err != nil {
		c.t.Fatalf("no message: %v", err)
	}
	return m
}

// quiet asserts nothing arrives for a while. The connection is closed
// after it (the WebSocket library closes on a read that times out).
func (c *wsClient) quiet(d time.Duration) {
	c.t.Helper()
	if m, err := c.read(d); err == nil {
		c.t.Fatalf("unexpected %s: %s", m.Type, m.Payload)
	}
}

const eventsQuery = `subscription { orderEvents { kind orderId at order { id openid } } }`

func storeEvent(name string, orderID uint64, createTime int64) string {
	return fmt.Sprintf(`{"ToUserName":"gh_1","FromUserName":"o1","CreateTime":%d,"MsgType":"event","Event":%q,"order_info":{"order_id":%d}}`, createTime, name, orderID)
}

// subscribed waits until the server holds n subscriptions, so that an
// event pushed next reaches them.
func subscribed(t *testing.T, s *server, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if s.App.Subscribers() == n {
			return
		}
	}
	t.Fatalf("%d subscriptions, want %d", s.App.Subscribers(), n)
}

// A pushed event reaches a graphql-transport-ws subscriber authenticated
// by its connection_init payload, under the production auth defaults,
// with the order fetched and its id exact beyond 2^53.
func TestSubscriptionOverGraphQLTransportWS(t *testing.T) {
	s := secureServer(t, pushEnv)
	const id = 9223372036854775807
	s.Fake.SetOrder(id, storeOrder(id, 20, "buyer-A", time.Unix(1714112400, 0), ""))
	c, err := dialWS(t, s, map[string]any{"authorization": "Bearer " + hs(t, claims("merchant", ""))})
	if err != nil {
		t.Fatal(err)
	}
	c.subscribe("1", eventsQuery)
	subscribed(t, s, 1)
	if code, _ := push(t, s, "wxfaketestapp0001", storeEvent("channels_ec_order_pay", id, 1714112445)); code != 200 {
		t.Fatalf("push %d", code)
	}
	m := c.next(5 * time.Second)
	if m.Type != "next" || m.ID != "1" {
		t.Fatalf("got %+v", m)
	}
	jsonEqual(t, decode(t, m.Payload), `{"data":{"orderEvents":{"kind":"PAID","orderId":"9223372036854775807","at":"2024-04-26T14:20:45+08:00","order":{"id":"9223372036854775807","openid":"buyer-A"}}},"extensions":{"cost":{"requested":1,"limit":100}}}`)
}

// Refused credentials in connection_init close the socket with 4403.
func TestSubscriptionRefusesBadCredentials(t *testing.T) {
	s := secureServer(t, pushEnv)
	for _, payload := range []map[string]any{nil, {"Authorization": "Bearer nope"}, {"x-api-key": "wrong"}} {
		_, err := dialWS(t, s, payload)
		if websocket.CloseStatus(err) != 4403 {
			t.Errorf("payload %v: %v, want close 4403", payload, err)
		}
	}
	if !strings.Contains(s.logText(), "websocket refused") {
		t.Error("refusals are not logged")
	}
}

// A buyer receives the events of their own orders only, decided on the
// fetched order; filters by kind and order id apply; a bad order id in the
// filter is BAD_USER_INPUT.
func TestSubscriptionBuyerAndFilters(t *testing.T) {
	s := secureServer(t, pushEnv)
	s.Fake.SetOrder(5001, storeOrder(5001, 20, "buyer-A", time.Unix(1714112400, 0), ""))
	s.Fake.SetOrder(5002, storeOrder(5002, 20, "buyer-B", time.Unix(1714112400, 0), ""))
	buyer, err := dialWS(t, s, map[string]any{"Authorization": "Bearer " + hs(t, claims("buyer", "buyer-A"))})
	if err != nil {
		t.Fatal(err)
	}
	buyer.subscribe("b", `subscription { orderEvents { kind orderId } }`)
	merchant, err := dialWS(t, s, map[string]any{"Authorization": "Bearer " + hs(t, claims("merchant", ""))})
	if err != nil {
		t.Fatal(err)
	}
	merchant.subscribe("m", `subscription { orderEvents(filter: {kinds: [SHIPPED], orderId: "5002"}) { kind orderId } }`)
	merchant.subscribe("bad", `subscription { orderEvents(filter: {orderId: "12x"}) { kind } }`)
	if m := merchant.next(5 * time.Second); m.ID != "bad" || !strings.Contains(string(m.Payload), "BAD_USER_INPUT") {
		t.Fatalf("a bad orderId: %+v %s", m, m.Payload)
	}
	if m := merchant.next(5 * time.Second); m.ID != "bad" || m.Type != "complete" {
		t.Fatalf("a refused subscription goes on: %+v", m)
	}
	subscribed(t, s, 2)
	for i, ev := range []string{
		storeEvent("channels_ec_order_pay", 5002, 1),     // B's: not for buyer A; not SHIPPED
		storeEvent("channels_ec_order_deliver", 5001, 2), // A's: the buyer's; not 5002
		storeEvent("channels_ec_order_deliver", 5002, 3), // the merchant's filter
	} {
		if code, _ := push(t, s, "wxfaketestapp0001", ev); code != 200 {
			t.Fatalf("push %d: %d", i, code)
		}
	}
	if m := buyer.next(5 * time.Second); !strings.Contains(string(m.Payload), `"orderId":"5001"`) {
		t.Fatalf("buyer got %s", m.Payload)
	}
	if m := merchant.next(5 * time.Second); !strings.Contains(string(m.Payload), `{"kind":"SHIPPED","orderId":"5002"}`) {
		t.Fatalf("merchant got %s", m.Payload)
	}
	buyer.quiet(200 * time.Millisecond)
	merchant.quiet(10 * time.Millisecond)
}

// The legacy graphql-ws protocol (gqlgen's test client speaks it) works
// too, with anonymous access where it is allowed.
func TestSubscriptionOverLegacyGraphQLWS(t *testing.T) {
	s := mustOpenServer(t, pushEnv)
	s.Fake.SetOrder(6001, storeOrder(6001, 30, "o1", time.Unix(1714112400, 0), ""))
	sub := client.New(s.App, client.Path("/graphql")).Websocket(`subscription { orderEvents { kind orderId order { id } } }`)
	defer sub.Close()
	subscribed(t, s, 1)
	push(t, s, "wxfaketestapp0001", storeEvent("channels_ec_order_confirm", 6001, 7))
	var resp struct {
		OrderEvents struct {
			Kind, OrderID string
			Order         struct{ ID string }
		}
	}
	if err := sub.Next(&resp); err != nil || resp.OrderEvents.Kind != "CONFIRMED" || resp.OrderEvents.OrderID != "6001" || resp.OrderEvents.Order.ID != "6001" {
		t.Fatalf("%+v, %v", resp, err)
	}
}

// At shutdown every stream is completed at once.
func TestShutdownCompletesSubscriptions(t *testing.T) {
	s := mustOpenServer(t, pushEnv)
	c, err := dialWS(t, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.subscribe("1", eventsQuery)
	subscribed(t, s, 1)
	s.App.EndSubscriptions()
	if m := c.next(5 * time.Second); m.Type != "complete" || m.ID != "1" {
		t.Fatalf("got %+v", m)
	}
}

// Without the push configured, orderEvents says why it is unavailable.
func TestSubscriptionWithoutPush(t *testing.T) {
	s := mustOpenServer(t, nil)
	c, err := dialWS(t, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.subscribe("1", eventsQuery)
	if m := c.next(5 * time.Second); !strings.Contains(string(m.Payload), "WECHAT_PUSH_TOKEN") {
		t.Fatalf("got %+v %s", m, m.Payload)
	}
}

func decode(t *testing.T, raw json.RawMessage) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// A subscriber that falls behind (here one whose document makes an
// upstream call of its own for every event: the order's after-sale, from
// a slow upstream) is ended with SUBSCRIBER_TOO_SLOW; a merchant's
// subscription on the same server, and the webhook, go on unhindered. The
// events' orders themselves, fetched once by the bus before fan-out, slow
// nobody down.
func TestSlowSubscriberIsEndedAlone(t *testing.T) {
	s := secureServer(t, pushEnv)
	s.Fake.SetLatency(50 * time.Millisecond)
	n := 2 * app.EventBuffer
	for i := range n {
		id := uint64(7000 + i)
		s.Fake.SetOrder(id, storeOrder(id, 20, "buyer-A", time.Unix(1714112400, 0),
			fmt.Sprintf(`,"aftersale_detail":{"aftersale_order_list":[{"aftersale_order_id":"%d","status":2}]}`, 17000+i)))
	}
	slow, err := dialWS(t, s, map[string]any{"Authorization": "Bearer " + hs(t, claims("merchant", ""))})
	if err != nil {
		t.Fatal(err)
	}
	slow.subscribe("slow", `subscription { orderEvents { order { aftersaleDetail { aftersaleOrderList { aftersaleOrder { status } } } } } }`)
	fast, err := dialWS(t, s, map[string]any{"Authorization": "Bearer " + hs(t, claims("merchant", ""))})
	if err != nil {
		t.Fatal(err)
	}
	fast.subscribe("fast", `subscription { orderEvents { orderId } }`)
	subscribed(t, s, 2)
	start := time.Now()
	for i := range n {
		if code, _ := push(t, s, "wxfaketestapp0001", storeEvent("channels_ec_order_new", uint64(7000+i), int64(i))); code != 200 {
			t.Fatalf("push %d: %d", i, code)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("%d pushes took %v: the webhook waited for a subscriber", n, d)
	}
	for i := range n {
		if m := fast.next(5 * time.Second); !strings.Contains(string(m.Payload), fmt.Sprintf(`"orderId":"%d"`, 7000+i)) {
			t.Fatalf("merchant event %d: %s", i, m.Payload)
		}
	}
	metrics := s.do(t, "GET", "/metrics", "", "", nil)
	if !strings.Contains(string(metrics.Raw), `ordergraph_event_deliveries_total{result="dropped"} 1`) || !strings.Contains(string(metrics.Raw), `ordergraph_push_events_total{result="published"} `+fmt.Sprint(n)) {
		t.Errorf("metrics do not count the drop and the pushes:\n%s", metrics.Raw)
	}
	for {
		m := slow.next(10 * time.Second)
		if m.Type == "next" && strings.Contains(string(m.Payload), "SUBSCRIBER_TOO_SLOW") || m.Type == "error" && strings.Contains(string(m.Payload), "SUBSCRIBER_TOO_SLOW") {
			return
		}
		if m.Type == "complete" {
			t.Fatalf("the slow subscription ended without SUBSCRIBER_TOO_SLOW")
		}
	}
}

// graphql-sse's distinct-connections mode on POST /graphql/stream,
// authenticated by the HTTP header, delivers a pushed event.
func TestSubscriptionOverSSE(t *testing.T) {
	s := secureServer(t, pushEnv)
	s.Fake.SetOrder(6101, storeOrder(6101, 20, "o1", time.Unix(1714112400, 0), ""))
	body := `{"query":"subscription { orderEvents { kind orderId order { id } } }"}`
	req, _ := http.NewRequest("POST", s.URL+"/graphql/stream", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if resp, err := http.DefaultClient.Do(req.Clone(context.Background())); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no credentials: %v %v", resp.StatusCode, err)
	}
	req.Header.Set("Authorization", "Bearer "+hs(t, claims("merchant", "")))
	req.Body = io.NopCloser(strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	subscribed(t, s, 1)
	push(t, s, "wxfaketestapp0001", storeEvent("channels_ec_order_settle", 6101, 9))
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if data, ok := strings.CutPrefix(lines.Text(), "data: "); ok && strings.Contains(data, "orderEvents") {
			jsonEqual(t, decode(t, json.RawMessage(data)), `{"data":{"orderEvents":{"kind":"SETTLED","orderId":"6101","order":{"id":"6101"}}},"extensions":{"cost":{"requested":1,"limit":100}}}`)
			return
		}
	}
	t.Fatalf("the stream ended without the event: %v", lines.Err())
}

// A client holds at most MAX_SUBSCRIPTIONS_PER_CLIENT subscriptions; over
// it, RATE_LIMITED, and another client is not affected.
func TestSubscriptionsPerClient(t *testing.T) {
	s := secureServer(t, map[string]string{"UPSTREAM_FAMILY": "store", "WECHAT_PUSH_TOKEN": pushToken, "WECHAT_PUSH_AES_KEY": pushKey, "MAX_SUBSCRIPTIONS_PER_CLIENT": "2"})
	a, err := dialWS(t, s, map[string]any{"Authorization": "Bearer " + hs(t, claims("merchant", ""))})
	if err != nil {
		t.Fatal(err)
	}
	a.subscribe("1", eventsQuery)
	a.subscribe("2", eventsQuery)
	subscribed(t, s, 2)
	a.subscribe("3", eventsQuery)
	if m := a.next(5 * time.Second); m.ID != "3" || !strings.Contains(string(m.Payload), "RATE_LIMITED") {
		t.Fatalf("a third subscription: %+v %s", m, m.Payload)
	}
	b, err := dialWS(t, s, map[string]any{"X-API-Key": opsKey})
	if err != nil {
		t.Fatal(err)
	}
	b.subscribe("1", eventsQuery)
	subscribed(t, s, 3)
}

// In sandbox mode with the Store family, the sandbox plays WeChat: orders
// move on and their events, signed and encrypted, go through the server's
// own push handler to subscribers of the playground's events tab; the
// order they carry has changed.
func TestStoreSandboxPushesEvents(t *testing.T) {
	app.SetSandboxEventInterval(t, 20*time.Millisecond)
	s := mustOpenServer(t, map[string]string{"WECHAT_APP_ID": "", "WECHAT_APP_SECRET": "", "UPSTREAM_FAMILY": "store"})
	c, err := dialWS(t, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.subscribe("1", playground.EventsExampleQuery) // the playground's tab
	for range 3 {
		m := c.next(5 * time.Second)
		var got struct {
			Data struct {
				OrderEvents struct {
					Kind, OrderID string
					Order         struct{ ID, Status, UpdateTime string }
				}
			}
		}
		if err := json.Unmarshal(m.Payload, &got); err != nil || got.Data.OrderEvents.Order.ID != got.Data.OrderEvents.OrderID || got.Data.OrderEvents.Kind == "" {
			t.Fatalf("%s", m.Payload)
		}
		if at, err := time.Parse(time.RFC3339, got.Data.OrderEvents.Order.UpdateTime); err != nil || time.Since(at) > time.Minute {
			t.Fatalf("the order did not change: %s", m.Payload)
		}
	}
}

// Two replicas sharing Redis: an event pushed to one (twice: WeChat's
// retry landing on the other) reaches every subscriber on both exactly
// once. With Redis gone, a replica still delivers what is posted to it.
func TestEventsAcrossReplicas(t *testing.T) {
	redis := redistest.Start(t)
	env := map[string]string{"UPSTREAM_FAMILY": "store", "WECHAT_PUSH_TOKEN": pushToken, "WECHAT_PUSH_AES_KEY": pushKey, "REDIS_URL": redis.URL()}
	a, b := mustOpenServer(t, env), mustOpenServer(t, env)
	var subs []*wsClient
	for _, s := range []*server{a, b, b} {
		s.Fake.SetOrder(6201, storeOrder(6201, 20, "o1", time.Unix(1714112400, 0), ""))
		c, err := dialWS(t, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.subscribe("1", `subscription { orderEvents { kind orderId order { id } } }`)
		subs = append(subs, c)
	}
	subscribed(t, a, 1)
	subscribed(t, b, 2)
	event := storeEvent("channels_ec_order_pay", 6201, 11)
	push(t, a, "wxfaketestapp0001", event)
	push(t, b, "wxfaketestapp0001", event) // the retry, on the other replica
	for i, c := range subs {
		if m := c.next(5 * time.Second); !strings.Contains(string(m.Payload), `"orderId":"6201","order":{"id":"6201"}`) {
			t.Fatalf("subscriber %d: %s", i, m.Payload)
		}
	}
	redis.Stop()
	push(t, b, "wxfaketestapp0001", storeEvent("channels_ec_order_deliver", 6201, 12))
	// The next message is SHIPPED, not the pay event again: each got
	// PAID once. Replica a's subscriber gets nothing more at all.
	for _, c := range subs[1:] {
		if m := c.next(5 * time.Second); !strings.Contains(string(m.Payload), `"kind":"SHIPPED"`) {
			t.Fatalf("with Redis down: %s", m.Payload)
		}
	}
	subs[0].quiet(200 * time.Millisecond)
	if !strings.Contains(b.logText(), "events: Redis unreachable") {
		t.Errorf("the outage was not logged: %s", b.logText())
	}
}

// Mini Shop pushes nothing: the poller lists recently updated orders and
// makes exactly one UPDATED event per change (a new order is one), none
// for an order seen again unchanged by the overlapping polls.
func TestMiniShopPollerEvents(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"ORDER_POLL_INTERVAL": "30ms"})
	china := time.FixedZone("CST", 8*3600)
	set := func(id uint64, status int, updated time.Time) {
		s.Fake.SetOrder(id, fmt.Sprintf(`{"order_id":%d,"status":%d,"create_time":"2024-05-01 10:00:00","update_time":%q}`, id, status, updated.In(china).Format("2006-01-02 15:04:05")))
	}
	polls := func(n int) {
		for calls := len(s.Fake.ListRequests()); len(s.Fake.ListRequests()) < calls+n; time.Sleep(5 * time.Millisecond) {
		}
	}
	c, err := dialWS(t, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.subscribe("1", `subscription { orderEvents { kind orderId order { status } } }`)
	subscribed(t, s, 1)
	polls(2) // past the baseline
	set(8102, 20, time.Now().Add(-10*time.Second))
	m := c.next(5 * time.Second)
	jsonEqual(t, decode(t, m.Payload), `{"data":{"orderEvents":{"kind":"UPDATED","orderId":"8102","order":{"status":"TO_BE_SHIPPED"}}},"extensions":{"cost":{"requested":1,"limit":100}}}`)
	polls(2)
	set(8102, 30, time.Now()) // shipped
	m = c.next(5 * time.Second)
	jsonEqual(t, decode(t, m.Payload), `{"data":{"orderEvents":{"kind":"UPDATED","orderId":"8102","order":{"status":"TO_BE_RECEIVED"}}},"extensions":{"cost":{"requested":1,"limit":100}}}`)
	polls(3)
	c.quiet(100 * time.Millisecond) // seen again by the overlapping polls: no more events
}

// When the server is told to stop, open streams are completed before it
// exits, and it exits promptly.
func TestStopCompletesStreams(t *testing.T) {
	app.SetSandboxEventInterval(t, 20*time.Millisecond)
	base, _, stop := runApp(t, map[string]string{"UPSTREAM_FAMILY": "store"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/graphql", &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	c := &wsClient{t: t, conn: conn}
	c.send(wsMessage{Type: "connection_init"})
	if m := c.next(5 * time.Second); m.Type != "connection_ack" {
		t.Fatalf("%+v", m)
	}
	c.subscribe("1", eventsQuery)
	if m := c.next(5 * time.Second); m.Type != "next" { // a sandbox event: the subscription stands
		t.Fatalf("%+v", m)
	}
	exited := make(chan int)
	start := time.Now()
	go func() { exited <- stop() }()
	for {
		m := c.next(5 * time.Second)
		if m.Type == "complete" && m.ID == "1" {
			break
		}
	}
	if code := <-exited; code != 0 || time.Since(start) > 10*time.Second {
		t.Fatalf("exit %d after %v", code, time.Since(start))
	}
}

// A browser's WebSocket from an origin outside CORS_ORIGINS is refused;
// one from a listed origin is accepted.
func TestWebSocketOrigins(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"UPSTREAM_FAMILY": "store", "WECHAT_PUSH_TOKEN": pushToken, "WECHAT_PUSH_AES_KEY": pushKey, "CORS_ORIGINS": "https://app.example"})
	for origin, ok := range map[string]bool{"https://app.example": true, "https://evil.example": false} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http")+"/graphql", &websocket.DialOptions{
			Subprotocols: []string{"graphql-transport-ws"}, HTTPHeader: http.Header{"Origin": {origin}}})
		cancel()
		if (err == nil) != ok {
			t.Errorf("origin %s: err %v, want accepted %v", origin, err, ok)
		}
		if err == nil {
			_ = conn.CloseNow()
		} else if resp != nil && resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %s refused with %d", origin, resp.StatusCode)
		}
	}
}
