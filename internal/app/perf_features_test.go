package app_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/config"
)

func TestConcurrentRequestsForOneOrderShareOneCall(t *testing.T) {
	s := mustOpenServer(t, nil)
	s.Fake.SetOrder(4242, `{"order_id":4242}`)
	s.post(t, `{ order(id: "1") { id } }`, nil) // warm the token
	s.Fake.SetLatency(50 * time.Millisecond)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 200 {
		wg.Go(func() {
			if r := s.post(t, `{ order(id: "4242") { id } }`, nil); at(r.Data, "order.id") != "4242" {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	calls := s.Fake.CallsFor(4242)
	t.Logf("200 concurrent requests for one order: %d upstream calls", calls)
	if failed.Load() > 0 || calls > 20 {
		t.Fatalf("%d failed; %d upstream calls for 200 concurrent requests, want a handful", failed.Load(), calls)
	}
	// Once the call has returned its result is not reused.
	s.post(t, `{ order(id: "4242") { id } }`, nil)
	if s.Fake.CallsFor(4242) != calls+1 {
		t.Fatal("a finished call's result was reused without a cache")
	}
}

func TestOrderCache(t *testing.T) {
	clk := newClock()
	s := mustOpenServer(t, map[string]string{"ORDER_CACHE_TTL": "1s"}, func(c *config.Config) { c.OrderCache.Now = clk.Now })
	s.Fake.SetOrder(1001, `{"order_id":1001}`)
	s.Fake.SetErrcode(1002, 45011)
	for range 3 {
		s.post(t, `{ a: order(id: "1001") { id } b: order(id: "1002") { id } }`, nil)
	}
	if s.Fake.CallsFor(1001) != 1 || s.Fake.CallsFor(1002) != 3 {
		t.Fatalf("calls: 1001=%d (want 1, cached), 1002=%d (want 3, errors are not cached)", s.Fake.CallsFor(1001), s.Fake.CallsFor(1002))
	}
	clk.Advance(999 * time.Millisecond)
	s.post(t, `{ order(id: "1001") { id } }`, nil)
	if s.Fake.CallsFor(1001) != 1 {
		t.Fatal("an entry was not served for its whole TTL")
	}
	clk.Advance(time.Millisecond)
	s.post(t, `{ order(id: "1001") { id } }`, nil)
	if s.Fake.CallsFor(1001) != 2 {
		t.Fatal("an expired entry was served")
	}
}

func TestCostLimit(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"MAX_QUERY_COST": "5", "MAX_QUERY_TOKENS": "100000", "MAX_ALIASES": "100000"})
	s.Fake.SetOrder(1001, `{"order_id":1001}`)
	var aliases strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&aliases, "a%d: order(id: \"1001\") { id }\n", i)
	}
	tests := []struct {
		name  string
		query string
		vars  map[string]any
		cost  int
	}{
		{"1000 aliases", "{" + aliases.String() + "}", nil, 1000},
		{"aliases and ids", `{ a: order(id: "1") { id } b: order(id: "1") { id } orders(ids: ["1", "1", "2", "3"]) { id } }`, nil, 6},
		{"ids in a variable", `query($ids: [ID!]!) { orders(ids: $ids) { id } }`, map[string]any{"ids": []string{"1", "2", "3", "4", "5", "6"}}, 6},
		{"fragments count", `{ ...f ... on Query { order(id: "2") { id } } } fragment f on Query { a: order(id: "1") { id } orders(ids: ["1","2","3","4"]) { id } }`, nil, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.post(t, tt.query, tt.vars)
			e := r.errorAt("")
			if e == nil || e.Extensions["code"] != "COST_LIMIT_EXCEEDED" || !strings.Contains(e.Message, fmt.Sprintf("would make %d", tt.cost)) || !strings.Contains(e.Message, "limit is 5") {
				t.Fatalf("%.300s", r.Raw)
			}
			if r.Data != nil {
				t.Fatalf("a refused query executed: %.200s", r.Raw)
			}
		})
	}
	if n := s.Fake.OrderCalls.Load() + s.Fake.TokenCalls.Load(); n != 0 {
		t.Fatalf("refused queries reached the upstream: %d calls", n)
	}
	if r := s.post(t, `{ a: order(id: "1001") { id } orders(ids: ["1001", "1001", "1001", "1001"]) { id } }`, nil); len(r.Errors) > 0 {
		t.Fatalf("a query at the limit was refused: %s", r.Raw)
	}
	accept := map[string]string{"Accept": "application/graphql-response+json"}
	if r := s.do(t, "POST", "/graphql", "application/json", `{"query":"{`+aliasQuery(6)+`}"}`, accept); r.Status != 400 {
		t.Fatalf("graphql-response+json: refused query answered %d", r.Status)
	}
}

func aliasQuery(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `o%d: order(id: \"1\") { id } `, i)
	}
	return b.String()
}

func TestAutomaticPersistedQueries(t *testing.T) {
	s := mustOpenServer(t, nil)
	s.Fake.SetOrder(1001, `{"order_id":1001}`)
	query := `{ order(id: "1001") { id } }`
	sum := sha256.Sum256([]byte(query))
	hash := hex.EncodeToString(sum[:])
	ext := fmt.Sprintf(`"extensions":{"persistedQuery":{"version":1,"sha256Hash":"%s"}}`, hash)

	r := s.do(t, "POST", "/graphql", "application/json", `{`+ext+`}`, nil)
	if len(r.Errors) == 0 || r.Errors[0].Message != "PersistedQueryNotFound" {
		t.Fatalf("unknown hash: %s", r.Raw)
	}
	r = s.do(t, "POST", "/graphql", "application/json", fmt.Sprintf(`{"query":%q,%s}`, query, ext), nil)
	if at(r.Data, "order.id") != "1001" {
		t.Fatalf("registering: %s", r.Raw)
	}
	r = s.do(t, "GET", "/graphql?extensions="+fmt.Sprintf(`{"persistedQuery":{"version":1,"sha256Hash":"%s"}}`, hash), "", "", nil)
	if at(r.Data, "order.id") != "1001" {
		t.Fatalf("hash only: %s", r.Raw)
	}
}

func TestMetrics(t *testing.T) {
	s := mustOpenServer(t, nil)
	s.Fake.SetOrder(1001, `{"order_id":1001}`)
	s.post(t, `query Dash { a: order(id: "1001") { id } b: order(id: "404404") { id } }`, nil)
	r := s.do(t, "GET", "/metrics", "", "", nil)
	body := string(r.Raw)
	for _, want := range []string{
		`ordergraph_http_requests_total{code="200"} 1`,
		`ordergraph_graphql_operation_duration_seconds_count{operation="Dash"} 1`,
		`ordergraph_upstream_calls_total{endpoint="/product/order/get",errcode="0"} 1`,
		`ordergraph_upstream_calls_total{endpoint="/product/order/get",errcode="100002"} 1`,
		`ordergraph_upstream_calls_total{endpoint="/cgi-bin/stable_token",errcode="0"} 1`,
		`ordergraph_upstream_duration_seconds_count{endpoint="/product/order/get"} 2`,
		`ordergraph_loader_batch_size_count`,
		`ordergraph_token_refreshes_total{mode="normal",result="ok"} 1`,
		`ordergraph_upstream_in_flight 0`,
		`ordergraph_coalesced_fetches_total`,
		`go_goroutines`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestPprofOnlyOnTheAdminAddress(t *testing.T) {
	base, out, stop := runApp(t, map[string]string{"ADMIN_ADDR": "127.0.0.1:0"})
	defer stop()
	_, after, ok := strings.Cut(out.String(), `"admin_addr":"`)
	if !ok {
		t.Fatalf("no admin listener in the log: %s", out.String())
	}
	admin, _, _ := strings.Cut(after, `"`)
	for url, want := range map[string]int{"http://" + admin + "/debug/pprof/": 200, base + "/debug/pprof/": 404} {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", url, resp.StatusCode, want)
		}
	}
}
