package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordergraph/ordergraph/internal/app"
	"github.com/ordergraph/ordergraph/internal/config"
	"github.com/ordergraph/ordergraph/internal/redistest"
	"github.com/ordergraph/ordergraph/internal/sandbox"
	"github.com/ordergraph/ordergraph/internal/tracing"
)

// upstreamTokens remembers the access tokens the server sent upstream:
// the sandbox's tokens are random, and no span may hold one.
type upstreamTokens struct {
	mu     sync.Mutex
	tokens []string
}

func (u *upstreamTokens) RoundTrip(r *http.Request) (*http.Response, error) {
	q := r.URL.Query()
	u.mu.Lock()
	for _, p := range []string{"access_token", "component_access_token"} {
		if v := q.Get(p); v != "" {
			u.tokens = append(u.tokens, v)
		}
	}
	u.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (u *upstreamTokens) all() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.tokens...)
}

// tracedServer is a server with tracing on (as OTEL_TRACES_EXPORTER=otlp
// would turn it on), its spans kept in memory.
func tracedServer(t *testing.T, env map[string]string) (*server, *tracetest.InMemoryExporter, *upstreamTokens) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	otel := map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SERVICE_NAME": "ordergraph-test"}
	shutdown, err := tracing.Setup(context.Background(), func(k string) string { return otel[k] }, tracing.WithExporter(exp))
	if err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs after the server has closed.
	t.Cleanup(func() { _ = shutdown(context.Background()) })
	if !tracing.Enabled() {
		t.Fatal("OTEL_TRACES_EXPORTER=otlp did not turn tracing on")
	}
	tokens := &upstreamTokens{}
	s := mustOpenServer(t, env, func(c *config.Config) { c.Upstream.Client = &http.Client{Transport: tokens} })
	return s, exp, tokens
}

const traceOrderFields = `id status openid
	orderDetail {
		productInfos { title skuAttrs { attrKey attrValue } }
		deliveryInfo { addressInfo { userName provinceName cityName countyName detailInfo telNumber } }
	}
	extInfo { customerNotes merchantNotes }`

// Every kind of span is produced, and none holds anything a request or an
// answer carried: variables, order content, the access token.
func TestTracingSpansCarryNoData(t *testing.T) {
	app.SetSandboxEventInterval(t, 20*time.Millisecond)
	s, exp, tokens := tracedServer(t, map[string]string{"WECHAT_APP_ID": "", "WECHAT_APP_SECRET": "", "UPSTREAM_FAMILY": "store"})

	// Values sent in variables: none may reach a span.
	sent := []string{fmt.Sprint(sandbox.StoreVendorExampleID), "2000001", "2000003", "标题-SECRET-TITLE", "idem-SECRET-77ab", "SFSECRET998877", "3000010", "777"}
	var answers []*gqlResponse
	run := func(query string, vars map[string]any, header map[string]string) *gqlResponse {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		r := s.do(t, "POST", "/graphql", "application/json", string(body), header)
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		answers = append(answers, r)
		return r
	}
	// A caller's traceparent is continued.
	const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	if r := run(`query TraceOrder($id: ID!) { order(id: $id) { `+traceOrderFields+` } }`, map[string]any{"id": sent[0]},
		map[string]string{"traceparent": "00-" + callerTrace + "-00f067aa0ba902b7-01"}); at(r.Data, "order.id") != sent[0] {
		t.Fatalf("%s", r.Raw)
	}
	run(`query TraceOrders($ids: [ID!]!) { orders(ids: $ids) { `+traceOrderFields+` } }`, map[string]any{"ids": []string{sent[1], sent[2]}}, nil)
	run(`query TraceList($first: Int) { listOrders(first: $first) { edges { node { `+traceOrderFields+` } } } }`, map[string]any{"first": 5}, nil)
	run(`query TraceSearch($title: String) { searchOrders(filter: {title: $title}) { edges { node { id } } } }`, map[string]any{"title": sent[3]}, nil)
	run(`query TraceAftersale($id: ID!) { aftersaleOrder(id: $id) { id orderId status } }`, map[string]any{"id": sent[6]}, nil)
	ship := run(`mutation TraceShip($input: ShipOrderInput!) { shipOrder(input: $input) { replayed userErrors { code } order { `+traceOrderFields+` } } }`,
		map[string]any{"input": map[string]any{"idempotencyKey": sent[4], "orderId": fmt.Sprint(sandbox.ShippableOrderID), "parcels": []any{map[string]any{"deliveryId": "SF", "waybillId": sent[5]}}}}, nil)
	if at(ship.Data, "shipOrder.order.status") != "TO_BE_SHIPPED" && at(ship.Data, "shipOrder.order.status") != "TO_BE_RECEIVED" {
		t.Fatalf("ship: %s", ship.Raw)
	}
	// The Store sandbox answers an id below 1000 with errcode 100002.
	if r := run(`query TraceFailing($id: ID!) { order(id: $id) { id } }`, map[string]any{"id": sent[7]}, nil); len(r.Errors) == 0 {
		t.Fatalf("no error: %s", r.Raw)
	}

	// One delivered event over SSE.
	stream := sseStream(t, http.DefaultClient, s.URL, `subscription TraceEvents { orderEvents { kind orderId order { `+traceOrderFields+` } } }`, nil)
	data, err := firstSSEData(stream.Body)
	stream.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	answers = append(answers, payload(t, []byte(data)))

	var spans tracetest.SpanStubs
	waitUntil(t, "the subscription's spans", func() bool {
		spans = exp.GetSpans()
		// The stream's server span ends once its handler has seen the
		// client go.
		return named(spans, "graphql subscription TraceEvents") != nil && named(spans, "deliver orderEvents") != nil &&
			named(spans, "POST /graphql/stream") != nil
	})

	// Each kind of span, with what it should carry.
	server := named(spans, "POST /graphql")
	if server == nil || server.SpanKind != trace.SpanKindServer || attr(server, "http.route") != "/graphql" || attr(server, "http.response.status_code") != "200" {
		t.Fatalf("server span: %+v", server)
	}
	if named(spans, "POST /graphql/stream") == nil {
		t.Error("no server span for the SSE stream")
	}
	op := named(spans, "graphql query TraceOrder")
	if op == nil || attr(op, "graphql.operation.name") != "TraceOrder" || attr(op, "graphql.operation.type") != "query" {
		t.Fatalf("operation span: %+v", op)
	}
	if op.SpanContext.TraceID().String() != callerTrace {
		t.Errorf("the caller's traceparent was not continued: trace %s", op.SpanContext.TraceID())
	}
	if len(op.Events) < 2 {
		t.Errorf("parse and validation events: %+v", op.Events)
	}
	if m := named(spans, "graphql mutation TraceShip"); m == nil || attr(m, "graphql.operation.type") != "mutation" {
		t.Error("no mutation span")
	}
	for _, field := range []string{"Query.order", "Query.orders", "Query.listOrders", "Query.searchOrders", "Query.aftersaleOrder", "Mutation.shipOrder"} {
		sp := named(spans, field)
		if sp == nil || attr(sp, "graphql.field.name") != strings.Split(field, ".")[1] {
			t.Errorf("no resolver span %s", field)
		}
	}
	if named(spans, "Order.id") != nil || named(spans, "OrderDetail.productInfos") != nil {
		t.Error("struct fields have spans")
	}
	if named(spans, "loader orders batch") == nil {
		t.Error("no loader batch span")
	}
	var calls, failed int
	for _, sp := range spans {
		if sp.SpanKind != trace.SpanKindClient || attr(&sp, "url.path") == "" {
			continue
		}
		calls++
		if sp.Name != "POST "+attr(&sp, "url.path") || attr(&sp, "http.response.status_code") != "200" || attr(&sp, "wechat.errcode") == "" {
			t.Errorf("WeChat call span: %+v", sp)
		}
		if attr(&sp, "wechat.errcode") == "100002" {
			failed++
			if sp.Status.Description != "100002" || attr(&sp, "wechat.attempt") != "1" {
				t.Errorf("failed WeChat call span: %+v", sp)
			}
		}
	}
	if calls == 0 || failed == 0 {
		t.Errorf("WeChat call spans: %d, failing: %d", calls, failed)
	}
	if named(spans, "token refresh") == nil || named(spans, "POST /cgi-bin/stable_token") == nil {
		t.Error("no token refresh span")
	}
	deliver, sub := named(spans, "deliver orderEvents"), named(spans, "graphql subscription TraceEvents")
	if len(deliver.Links) != 1 || deliver.Links[0].SpanContext.SpanID() != sub.SpanContext.SpanID() {
		t.Errorf("the delivery does not link to its subscription: %+v", deliver.Links)
	}
	if deliver.SpanContext.TraceID() == sub.SpanContext.TraceID() {
		t.Error("the delivery is not a trace of its own")
	}

	// Log lines name their trace.
	if !strings.Contains(s.logText(), `"trace_id":"`+callerTrace+`"`) {
		t.Error("the request's log line has no trace_id")
	}

	// Nothing sensitive in any span.
	secrets := append(sent, sandbox.Secret)
	secrets = append(secrets, tokens.all()...)
	if len(tokens.all()) == 0 {
		t.Fatal("no access token was seen")
	}
	for _, r := range answers {
		secrets = append(secrets, dataStrings(r.Data)...)
	}
	assertSpansHold(t, spans, secrets)
}

// With Redis, the commands of traced work have spans that name the
// command alone: no key, no value.
func TestTracingRedisCommands(t *testing.T) {
	redis := redistest.Start(t)
	s, exp, tokens := tracedServer(t, map[string]string{"WECHAT_APP_ID": "", "WECHAT_APP_SECRET": "", "REDIS_URL": redis.URL()})
	const id = "2000007"
	r := s.post(t, `query TraceRedis($id: ID!) { order(id: $id) { `+traceOrderFields+` } }`, map[string]any{"id": id})
	if at(r.Data, "order.id") != id {
		t.Fatalf("%s", r.Raw)
	}
	spans := exp.GetSpans()
	var commands int
	for _, sp := range spans {
		if attr(&sp, "db.system.name") != "redis" {
			continue
		}
		commands++
		// Only within a traced request or refresh (here, the token's).
		if sp.Name != attr(&sp, "db.operation.name") || !sp.Parent.IsValid() {
			t.Errorf("Redis span %q: %+v", sp.Name, sp)
		}
	}
	if commands == 0 {
		t.Error("no Redis command spans")
	}
	assertSpansHold(t, spans, append(append(dataStrings(r.Data), id, sandbox.AppID), tokens.all()...))
}

// With no OTEL_* variable, tracing is off: no span, no trace ids in logs.
func TestTracingOffByDefault(t *testing.T) {
	for _, env := range []map[string]string{
		{},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_SDK_DISABLED": "true"},
		{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1", "OTEL_TRACES_EXPORTER": "none"},
	} {
		exp := tracetest.NewInMemoryExporter()
		shutdown, err := tracing.Setup(context.Background(), func(k string) string { return env[k] }, tracing.WithExporter(exp))
		if err != nil {
			t.Fatal(err)
		}
		if tracing.Enabled() {
			t.Fatalf("%v: tracing is on", env)
		}
		s := sandboxServer(t)
		r := s.do(t, "POST", "/graphql", "application/json", `{"query":"{ order(id: \"2000001\") { id } }"}`,
			map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
		if at(r.Data, "order.id") != "2000001" {
			t.Fatalf("%s", r.Raw)
		}
		if n := len(exp.GetSpans()); n != 0 {
			t.Errorf("%v: %d spans", env, n)
		}
		_ = shutdown(context.Background())
		if strings.Contains(s.logText(), "trace_id") {
			t.Errorf("%v: log lines carry trace ids", env)
		}
	}
}

// assertSpansHold fails for any secret in a span's name, attributes,
// events, links, status or resource.
func assertSpansHold(t *testing.T, spans tracetest.SpanStubs, secrets []string) {
	t.Helper()
	for _, sp := range spans {
		texts := []string{sp.Name, sp.Status.Description}
		kv := func(attrs []attribute.KeyValue) {
			for _, a := range attrs {
				texts = append(texts, string(a.Key), a.Value.String())
			}
		}
		kv(sp.Attributes)
		for _, e := range sp.Events {
			texts = append(texts, e.Name)
			kv(e.Attributes)
		}
		for _, l := range sp.Links {
			kv(l.Attributes)
		}
		if sp.Resource != nil {
			kv(sp.Resource.Attributes())
		}
		for _, text := range texts {
			for _, secret := range secrets {
				if secret != "" && strings.Contains(text, secret) {
					t.Errorf("span %q holds %q in %q", sp.Name, secret, text)
				}
			}
		}
	}
}

// dataStrings are the string values of a GraphQL answer's data that could
// be personal: longer than 3 characters and not an enum value.
func dataStrings(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			out = append(out, dataStrings(e)...)
		}
	case []any:
		for _, e := range x {
			out = append(out, dataStrings(e)...)
		}
	case string:
		if enum := strings.Trim(x, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == ""; len(x) > 3 && !enum {
			out = append(out, x)
		}
	}
	return out
}

func named(spans tracetest.SpanStubs, name string) *tracetest.SpanStub {
	for i := range spans {
		if spans[i].Name == name {
			return &spans[i]
		}
	}
	return nil
}

func attr(sp *tracetest.SpanStub, key string) string {
	if sp == nil {
		return ""
	}
	for _, a := range sp.Attributes {
		if string(a.Key) == key {
			return a.Value.String()
		}
	}
	return ""
}

func firstSSEData(body io.Reader) (string, error) {
	lines := bufio.NewScanner(body)
	for lines.Scan() {
		if d, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
			return d, nil
		}
	}
	return "", fmt.Errorf("the stream ended without data: %v", lines.Err())
}

func waitUntil(t *testing.T, what string, done func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !done(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
