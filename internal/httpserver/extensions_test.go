package httpserver

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/graph"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/shops"
)

// extensionsOf posts query to h and returns the status, the headers and
// the response's errors and extensions.
func extensionsOf(t *testing.T, cfg Config, query string) (*httptest.ResponseRecorder, response) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	req := httptest.NewRequest("POST", "/graphql", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	New(cfg).ServeHTTP(rec, req)
	var r response
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	return rec, r
}

type response struct {
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
	Extensions map[string]any `json:"extensions"`
}

// nothing has no orders.
type nothing struct{}

func (nothing) Order(context.Context, uint64) (*order.Order, error) { return nil, nil }

func limitedConfig() Config {
	return Config{Shops: shops.One(&shops.Shop{Orders: nothing{}}),
		Limits: graph.Limits{MaxCost: 2, MaxDepth: 10, MaxAliases: 100}}
}

func TestEveryResponseCarriesItsCost(t *testing.T) {
	rec, r := extensionsOf(t, limitedConfig(), `{ a: order(id: "1") { id } b: order(id: "2") { id } }`)
	if got := r.Extensions["cost"]; !equalJSON(got, `{"requested":2,"limit":2}`) {
		t.Fatalf("extensions.cost %v: %s", got, rec.Body)
	}
	if _, ok := r.Extensions["rateLimit"]; ok || rec.Header().Get("RateLimit-Limit") != "" {
		t.Fatalf("RATE_LIMIT off, yet rateLimit told: %s %v", rec.Body, rec.Header())
	}
}

func TestCostRefusalSaysTheCostAndTheLimit(t *testing.T) {
	rec, r := extensionsOf(t, limitedConfig(), `{ a: order(id: "1") { id } b: order(id: "2") { id } c: order(id: "3") { id } }`)
	if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, "would make 3 upstream fetches; the limit is 2") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	e := r.Errors[0].Extensions
	if e["code"] != "COST_LIMIT_EXCEEDED" || !equalJSON(e["cost"], `{"requested":3,"limit":2}`) || e["value"] != 3.0 || e["limit"] != 2.0 {
		t.Fatalf("error extensions %v", e)
	}
	if !equalJSON(r.Extensions["cost"], `{"requested":3,"limit":2}`) {
		t.Fatalf("response extensions %v", r.Extensions)
	}
}

func TestRateLimitInExtensionsAndHeaders(t *testing.T) {
	cfg := limitedConfig()
	cfg.RateLimit, cfg.RateLimitWindow = 5, time.Minute
	h := New(cfg)
	for i := range 2 {
		body := `{"query":"{ __typename }"}`
		req := httptest.NewRequest("POST", "/graphql", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var r response
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		rl, _ := r.Extensions["rateLimit"].(map[string]any)
		remaining := 4 - i
		if rl["limit"] != 5.0 || rl["remaining"] != float64(remaining) {
			t.Fatalf("request %d: extensions.rateLimit %v", i+1, rl)
		}
		reset, _ := rl["resetSeconds"].(float64)
		if reset < 0 || reset > 60 {
			t.Fatalf("resetSeconds %v, want 0..60", reset)
		}
		hd := rec.Header()
		if hd.Get("RateLimit-Limit") != "5" || hd.Get("RateLimit-Remaining") != strconv.Itoa(remaining) || hd.Get("RateLimit-Reset") != strconv.Itoa(int(reset)) {
			t.Fatalf("headers %v", hd)
		}
	}
}

func equalJSON(v any, want string) bool {
	b, _ := json.Marshal(v)
	var a, w any
	_ = json.Unmarshal(b, &a)
	_ = json.Unmarshal([]byte(want), &w)
	ab, _ := json.Marshal(a)
	wb, _ := json.Marshal(w)
	return string(ab) == string(wb)
}
