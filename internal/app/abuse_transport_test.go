package app_test

// The attacker's side of WebSocket and SSE (issue 17): streams that end
// badly, floods of operations and connections, expired tokens on open
// sockets, clients that stop reading. Each test failed before its fix.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/ordergraph/ordergraph/internal/app"
	"github.com/ordergraph/ordergraph/internal/config"
)

// alarmClock is a clock for token expiry that moves only when told, and
// runs the timers that fall due as it moves.
type alarmClock struct {
	mu     sync.Mutex
	now    time.Time
	alarms []*alarm
}

type alarm struct {
	at      time.Time
	f       func()
	stopped bool
}

func newAlarmClock() *alarmClock { return &alarmClock{now: time.Now()} }

func (c *alarmClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *alarmClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := &alarm{at: c.now.Add(d), f: f}
	c.alarms = append(c.alarms, a)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !a.stopped
		a.stopped = true
		return was
	}
}

func (c *alarmClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	for _, a := range c.alarms {
		if !a.stopped && !a.at.After(c.now) {
			a.stopped = true
			due = append(due, a.f)
		}
	}
	c.mu.Unlock()
	for _, f := range due {
		f()
	}
}

// on makes the server time tokens by clk, for JWTs and open connections.
func (c *alarmClock) on(cfg *config.Config) {
	cfg.Auth.Now, cfg.HTTP.Clock = c.Now, c
}

// sseStream opens a graphql-sse stream of query with header; the caller
// reads and closes the body.
func sseStream(t *testing.T, client *http.Client, url, query string, header map[string]string) *http.Response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	// A stream that never ends fails the test rather than hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "POST", url+"/graphql/stream", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// sseEnd reads a stream to its end and returns its next events' data and
// whether it completed.
func sseEnd(t *testing.T, body io.Reader) (data []string, completed bool) {
	t.Helper()
	lines := bufio.NewScanner(body)
	for lines.Scan() {
		if d, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
			data = append(data, d)
		}
		if lines.Text() == "event: complete" {
			completed = true
		}
	}
	return data, completed
}

// An SSE subscription that falls behind is ended with SUBSCRIBER_TOO_SLOW
// as its last event; the process lives on (gqlgen's AddSubscriptionError,
// used before, dereferenced nil on SSE and killed it).
func TestSSESubscriberTooSlowDoesNotCrash(t *testing.T) {
	s := secureServer(t, pushEnv)
	s.Fake.SetLatency(200 * time.Millisecond)
	// Every event's document fetches one more record, so the subscriber
	// falls behind the events (the bus fetches their orders itself).
	for i := range 2 * app.EventBuffer {
		id := uint64(7100 + i)
		s.Fake.SetOrder(id, storeOrder(id, 20, "buyer-A", time.Unix(1714112400, 0),
			fmt.Sprintf(`,"aftersale_detail":{"aftersale_order_list":[{"aftersale_order_id":"%d","status":2}]}`, 17100+i)))
	}
	resp := sseStream(t, http.DefaultClient, s.URL, `subscription { orderEvents { order { aftersaleDetail { aftersaleOrderList { aftersaleOrder { status } } } } } }`, bearer(hs(t, claims("buyer", "buyer-A"))))
	defer resp.Body.Close()
	subscribed(t, s, 1)
	for i := range 2 * app.EventBuffer {
		if code, _ := push(t, s, "wxfaketestapp0001", storeEvent("channels_ec_order_new", uint64(7100+i), int64(i))); code != 200 {
			t.Fatalf("push %d: %d", i, code)
		}
	}
	data, completed := sseEnd(t, resp.Body)
	if len(data) == 0 || !strings.Contains(data[len(data)-1], "SUBSCRIBER_TOO_SLOW") || !completed {
		t.Fatalf("stream ended with %q, completed %v", data, completed)
	}
	if r := s.do(t, "GET", "/healthz", "", "", nil); r.Status != 200 {
		t.Fatalf("healthz %d after the stream ended", r.Status)
	}
}

// An SSE subscription whose token expires (with the leeway of HTTP) ends
// with UNAUTHENTICATED as its last event, and the process lives on.
func TestSSETokenExpiryDoesNotCrash(t *testing.T) {
	clk := newAlarmClock()
	s := secureServer(t, pushEnv, clk.on)
	tok := hs(t, claims("merchant", "", func(c jwt.MapClaims) { c["exp"] = clk.Now().Add(time.Minute).Unix() }))
	resp := sseStream(t, http.DefaultClient, s.URL, eventsQuery, bearer(tok))
	defer resp.Body.Close()
	subscribed(t, s, 1)
	clk.Advance(time.Minute + 29*time.Second) // within the leeway
	if n := s.App.Subscribers(); n != 1 {
		t.Fatalf("ended within the leeway: %d subscriptions", n)
	}
	clk.Advance(2 * time.Second)
	data, completed := sseEnd(t, resp.Body)
	if len(data) != 1 || !strings.Contains(data[0], "UNAUTHENTICATED") || !completed {
		t.Fatalf("stream ended with %q, completed %v", data, completed)
	}
	subscribed(t, s, 0)
}

// SSE clients that go away while gqlgen's keep-alive ticks never make it
// flush a finished response (a panic in net/http, under chi's writer, that
// ended the process).
func TestSSEClientGoneDuringKeepAliveDoesNotCrash(t *testing.T) {
	s := mustOpenServer(t, pushEnv, func(c *config.Config) { c.HTTP.KeepAlive = time.Microsecond })
	for range 100 {
		resp := sseStream(t, http.DefaultClient, s.URL, eventsQuery, nil)
		_, _ = bufio.NewReader(resp.Body).ReadString('\n') // the stream is up and pinging
		_ = resp.Body.Close()                              // unread: the connection is closed
	}
	subscribed(t, s, 0)
	if r := s.do(t, "GET", "/healthz", "", "", nil); r.Status != 200 {
		t.Fatalf("healthz %d", r.Status)
	}
}

// Each operation on a WebSocket counts against its client's RATE_LIMIT
// bucket, the one its HTTP requests use: over it the operation gets
// RATE_LIMITED with nothing sent upstream, and the socket stays up.
func TestWebSocketOperationsAreRateLimited(t *testing.T) {
	s := secureServer(t, map[string]string{"RATE_LIMIT": "4"})
	c, err := dialWS(t, s, map[string]any{"X-API-Key": opsKey}) // the upgrade counts against the IP
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		c.subscribe(fmt.Sprint(i), `{ order(id: "3001") { id } }`)
		m := c.next(5 * time.Second)
		if limited := strings.Contains(string(m.Payload), "RATE_LIMITED"); limited != (i == 4) {
			t.Fatalf("operation %d: %s %s", i, m.Type, m.Payload)
		}
		if m := c.next(5 * time.Second); m.Type != "complete" {
			t.Fatalf("operation %d not completed: %+v", i, m)
		}
	}
	if n := s.Fake.CallsFor(3001); n != 4 {
		t.Errorf("%d upstream calls, want 4", n)
	}
	// The same client over HTTP is over the limit too.
	if r := s.do(t, "POST", "/graphql", "application/json", `{"query":"{ order(id: \"3001\") { id } }"}`, map[string]string{"X-API-Key": opsKey}); r.Status != http.StatusTooManyRequests {
		t.Errorf("HTTP after the socket's operations: %d", r.Status)
	}
	c.send(wsMessage{Type: "ping"})
	if _, b, err := c.conn.Read(context.Background()); err != nil || !strings.Contains(string(b), "pong") {
		t.Fatalf("the socket is down: %s %v", b, err)
	}
}

// A WebSocket runs at most MAX_OPERATIONS_PER_CONNECTION operations at
// once: one more gets RATE_LIMITED, the socket stays up, and once one ends
// another may start.
func TestWebSocketOperationsPerConnection(t *testing.T) {
	s := secureServer(t, map[string]string{"UPSTREAM_FAMILY": "store", "WECHAT_PUSH_TOKEN": pushToken, "WECHAT_PUSH_AES_KEY": pushKey, "MAX_OPERATIONS_PER_CONNECTION": "2"})
	c, err := dialWS(t, s, map[string]any{"X-API-Key": opsKey})
	if err != nil {
		t.Fatal(err)
	}
	c.subscribe("1", eventsQuery)
	c.subscribe("2", eventsQuery)
	subscribed(t, s, 2)
	c.subscribe("3", eventsQuery)
	if m := c.next(5 * time.Second); m.ID != "3" || !strings.Contains(string(m.Payload), "RATE_LIMITED") || !strings.Contains(string(m.Payload), "MAX_OPERATIONS_PER_CONNECTION") {
		t.Fatalf("a third operation: %+v %s", m, m.Payload)
	}
	if m := c.next(5 * time.Second); m.ID != "3" || m.Type != "complete" {
		t.Fatalf("%+v", m)
	}
	c.send(wsMessage{Type: "complete", ID: "1"})
	subscribed(t, s, 1)
	// The slot is free once the operation's stream has ended.
	for i := 0; ; i++ {
		c.subscribe(fmt.Sprint("again", i), `{ order(id: "3001") { id } }`)
		m := c.next(5 * time.Second)
		c.next(5 * time.Second) // its complete
		if !strings.Contains(string(m.Payload), "RATE_LIMITED") {
			break
		}
		if i == 100 {
			t.Fatalf("the ended operation's slot was never freed: %s", m.Payload)
		}
	}
}

// WebSocket and SSE connections are capped per client and in all: over
// either, the upgrade (or the stream) answers 429; closing one makes room.
func TestStreamConnectionsAreCapped(t *testing.T) {
	s := secureServer(t, map[string]string{"UPSTREAM_FAMILY": "store", "WECHAT_PUSH_TOKEN": pushToken, "WECHAT_PUSH_AES_KEY": pushKey,
		"MAX_CONNECTIONS_PER_CLIENT": "2", "MAX_CONNECTIONS": "3"})
	wsURL := "ws" + strings.TrimPrefix(s.URL, "http") + "/graphql"
	dial := func(header http.Header) (*websocket.Conn, int) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}, HTTPHeader: header})
		if err != nil {
			if resp == nil {
				t.Fatal(err)
			}
			return nil, resp.StatusCode
		}
		t.Cleanup(func() { _ = conn.CloseNow() })
		return conn, http.StatusSwitchingProtocols
	}
	first, _ := dial(nil)
	if _, code := dial(nil); code != http.StatusSwitchingProtocols {
		t.Fatalf("second connection of a client: %d", code)
	}
	if _, code := dial(nil); code != http.StatusTooManyRequests {
		t.Fatalf("third connection of a client: %d, want 429", code)
	}
	stream := sseStream(t, http.DefaultClient, s.URL, eventsQuery, bearer(hs(t, claims("merchant", ""))))
	defer stream.Body.Close()
	if stream.StatusCode != http.StatusOK {
		t.Fatalf("another client's stream: %d", stream.StatusCode)
	}
	subscribed(t, s, 1)
	if _, code := dial(http.Header{"X-API-Key": {opsKey}}); code != http.StatusTooManyRequests {
		t.Fatalf("a connection over MAX_CONNECTIONS: %d, want 429", code)
	}
	_ = first.Close(websocket.StatusNormalClosure, "")
	for i := 0; ; i++ {
		if _, code := dial(nil); code == http.StatusSwitchingProtocols {
			break
		}
		if i == 500 {
			t.Fatal("a closed connection never made room")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Each event of a subscription gets fresh loaders: an order's after-sale
// order changed between two events is shown as it is now, not as the
// first event loaded it.
func TestSubscriptionEventsGetFreshLoaders(t *testing.T) {
	s := mustOpenServer(t, pushEnv)
	s.Fake.SetOrder(9101, storeOrder(9101, 20, "o1", time.Unix(1714112400, 0), `,"aftersale_detail":{"aftersale_order_list":[{"aftersale_order_id":"6000000000000777"}]}`))
	afterSale := func(status string) {
		s.Fake.SetAfterSale(6000000000000777, `{"after_sale_order_id":"6000000000000777","order_id":"9101","status":"`+status+`","type":"REFUND"}`)
	}
	afterSale("USER_WAIT_RETURN")
	c, err := dialWS(t, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.subscribe("1", `subscription { orderEvents { order { aftersaleDetail { aftersaleOrderList { aftersaleOrder { status } } } } } }`)
	subscribed(t, s, 1)
	for i, status := range []string{"USER_WAIT_RETURN", "MERCHANT_REFUND_SUCCESS"} {
		afterSale(status)
		push(t, s, "wxfaketestapp0001", storeEvent("channels_ec_aftersale_update", 9101, int64(100+i)))
		if m := c.next(5 * time.Second); !strings.Contains(string(m.Payload), `"status":"`+status+`"`) {
			t.Fatalf("event %d: %s", i, m.Payload)
		}
	}
}

// When the token of a WebSocket's connection_init expires (past the leeway
// of HTTP), the socket is closed with 4403 and its operations end.
func TestWebSocketClosesWhenItsTokenExpires(t *testing.T) {
	clk := newAlarmClock()
	s := secureServer(t, pushEnv, clk.on)
	tok := hs(t, claims("merchant", "", func(c jwt.MapClaims) { c["exp"] = clk.Now().Add(time.Minute).Unix() }))
	c, err := dialWS(t, s, map[string]any{"Authorization": "Bearer " + tok})
	if err != nil {
		t.Fatal(err)
	}
	c.subscribe("1", eventsQuery)
	subscribed(t, s, 1)
	clk.Advance(time.Minute + 29*time.Second) // within the leeway: still served
	c.subscribe("2", `{ order(id: "3001") { id } }`)
	if m := c.next(5 * time.Second); m.ID != "2" || !strings.Contains(string(m.Payload), `"id":"3001"`) {
		t.Fatalf("within the leeway: %+v %s", m, m.Payload)
	}
	c.next(5 * time.Second) // its complete
	clk.Advance(2 * time.Second)
	for {
		if _, err := c.read(5 * time.Second); err != nil {
			if websocket.CloseStatus(err) != 4403 {
				t.Fatalf("closed with %v, want 4403", err)
			}
			break
		}
	}
	subscribed(t, s, 0)
}

// smallBuffers is a listener whose connections buffer little, so that a
// client that stops reading blocks the server's writes after a few events.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

// stalledClient reads almost nothing from its connections.
var stalledClient = &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
	return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
}}).DialContext}}

// slowReaderServer serves s's handler on small buffers, with a short write
// timeout.
func slowReaderServer(t *testing.T, env map[string]string) (*server, string) {
	s := mustOpenServer(t, env, func(c *config.Config) { c.HTTP.StreamWriteTimeout = 100 * time.Millisecond })
	hs := httptest.NewUnstartedServer(s.App)
	hs.Listener = smallBuffers{hs.Listener}
	hs.Start()
	t.Cleanup(hs.Close)
	return s, hs.URL
}

// bigOrders sets orders that make large events.
func bigOrders(s *server, n int) {
	note := strings.Repeat("备注", 2000)
	for i := range n {
		s.Fake.SetOrder(uint64(7300+i), storeOrder(uint64(7300+i), 20, "o1", time.Unix(1714112400, 0), `,"order_detail":{"ext_info":{"merchant_notes":"`+note+`"}}`))
	}
}

const bigEventsQuery = `subscription { orderEvents { orderId order { extInfo { merchantNotes } } } }`

// A WebSocket client that stops reading is disconnected once a write has
// waited the write timeout, and its subscription, goroutines and
// connection slot are released.
func TestWebSocketSlowReaderIsDropped(t *testing.T) {
	env := map[string]string{"UPSTREAM_FAMILY": "store", "WECHAT_PUSH_TOKEN": pushToken, "WECHAT_PUSH_AES_KEY": pushKey, "MAX_CONNECTIONS_PER_CLIENT": "1"}
	s, url := slowReaderServer(t, env)
	bigOrders(s, 20)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(url, "http") + "/graphql"
	conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}, HTTPClient: stalledClient})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	c := &wsClient{t: t, conn: conn}
	c.send(wsMessage{Type: "connection_init"})
	if m := c.next(5 * time.Second); m.Type != "connection_ack" {
		t.Fatalf("%+v", m)
	}
	c.subscribe("1", bigEventsQuery)
	subscribed(t, s, 1)
	// Fewer events than the bus buffers: the bus never drops this
	// subscriber; only the write timeout can.
	for i := range 20 {
		push(t, s, "wxfaketestapp0001", storeEvent("channels_ec_order_new", uint64(7300+i), int64(i)))
	}
	subscribed(t, s, 0)
	// Its connection slot is free again.
	for i := 0; ; i++ {
		conn2, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
		if err == nil {
			_ = conn2.CloseNow()
			break
		}
		if resp == nil || resp.StatusCode != http.StatusTooManyRequests || i == 500 {
			t.Fatalf("a new connection: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// An SSE client that stops reading is disconnected likewise.
func TestSSESlowReaderIsDropped(t *testing.T) {
	s, url := slowReaderServer(t, pushEnv)
	bigOrders(s, 20)
	resp := sseStream(t, stalledClient, url, bigEventsQuery, nil)
	defer resp.Body.Close()
	subscribed(t, s, 1)
	for i := range 20 {
		push(t, s, "wxfaketestapp0001", storeEvent("channels_ec_order_new", uint64(7300+i), int64(i)))
	}
	subscribed(t, s, 0)
}

// Shutdown does not wait beyond SHUTDOWN_TIMEOUT for an SSE client that
// stopped reading, and the process exits 0.
func TestShutdownDoesNotWaitForSlowReaders(t *testing.T) {
	app.SetSandboxEventInterval(t, time.Millisecond)
	// Small send buffers, so that the stalled stream blocks after a few
	// events rather than after the kernel's megabytes.
	app.WrapListener(t, func(ln net.Listener) net.Listener { return smallBuffers{ln} })
	base, out, stop := runApp(t, map[string]string{"UPSTREAM_FAMILY": "store", "SHUTDOWN_TIMEOUT": "100ms", "PUSH_RATE_LIMIT": "0"})
	// Events as large as a document makes them, so that the stream's
	// buffers fill soon even though the sandbox repeats itself (a repeated
	// push is deduped).
	resp := sseStream(t, stalledClient, base, `subscription { orderEvents { orderId order { id status statusCode createTime updateTime openid
		orderDetail { productInfos { productId skuId title skuCnt salePrice thumbImg skuAttrs { attrKey attrValue } }
			priceInfo { productPrice orderPrice freight } payInfo { prepayId transactionId payTime }
			deliveryInfo { addressInfo { userName telNumber provinceName cityName countyName detailInfo } } } } } }`, nil)
	defer resp.Body.Close()
	// The bus drops the subscriber only once the stream's writes block.
	for i := 0; ; i++ {
		metrics, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		text, _ := io.ReadAll(metrics.Body)
		metrics.Body.Close()
		if strings.Contains(string(text), `ordergraph_event_deliveries_total{result="dropped"} 1`) {
			break
		}
		if i == 6000 {
			t.Fatalf("the stalled stream never blocked: %s", text)
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	if code := stop(); code != 0 || time.Since(start) > 5*time.Second {
		t.Fatalf("exit %d after %v: %s", code, time.Since(start), out.String())
	}
}
