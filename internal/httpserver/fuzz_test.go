package httpserver

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/shops"
)

// FuzzGraphQLRequest posts arbitrary bodies to /graphql. Whatever arrives,
// the answer comes promptly and is a JSON GraphQL response with a
// client-error or success status: never a hang, a panic or a 5xx.
func FuzzGraphQLRequest(f *testing.F) {
	for _, seed := range []string{
		`{"query":"{ order(id: \"12123121332\") { id status } }"}`,
		`{"query":"query($ids: [ID!]!) { orders(ids: $ids) { id } }","variables":{"ids":["1","x"]}}`,
		`{"query":"{ a: order(id: \"1\") { id } ...F } fragment F on Query { order(id: \"2\") { id } }"}`,
		`{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"abc"}}}`,
		`{"query":`, `[]`, `{"query": 5}`, "\x00", `{"query":"{ __schema { types { name } } }"}`,
	} {
		f.Add([]byte(seed))
	}
	h := New(Config{Shops: shops.One(&shops.Shop{Orders: memory{&order.Order{ID: 1, Status: order.StatusToBeShipped, OrderType: order.TypeOrdinary}}}), MaxBodyBytes: 1 << 16})
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() { h.ServeHTTP(rec, req); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("no answer within 5 s for %q", body)
		}
		switch rec.Code {
		case 200, 400, 413, 422:
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body.String())
		}
		var resp struct {
			Data   json.RawMessage `json:"data"`
			Errors []any           `json:"errors"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("not JSON for %q: %s", body, rec.Body.String())
		}
		if rec.Code != 200 && len(resp.Errors) == 0 {
			t.Fatalf("status %d without errors: %s", rec.Code, rec.Body.String())
		}
	})
}
