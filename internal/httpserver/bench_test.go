package httpserver

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/ordergraph/ordergraph/internal/gqltest"
	"github.com/ordergraph/ordergraph/internal/minishop"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/sandbox"
	"github.com/ordergraph/ordergraph/internal/shops"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wechattest"
)

// memory serves one decoded order for every id: an upstream with no cost.
type memory struct{ o *order.Order }

func (m memory) Order(_ context.Context, id uint64) (*order.Order, error) {
	o := *m.o
	o.ID = id
	return &o, nil
}

// vendorOrder decodes the vendor example through the real client once.
func vendorOrder(b *testing.B) *order.Order {
	fake := wechattest.New(b)
	fake.SetResponse(sandbox.VendorExampleID, string(sandbox.VendorExample))
	client := wechat.NewClient(wechat.NewTransport(wechat.TransportConfig{BaseURL: fake.URL}), staticFakeToken{fake})
	o, err := minishop.NewOrders(client).Order(context.Background(), sandbox.VendorExampleID)
	if err != nil {
		b.Fatal(err)
	}
	return o
}

type staticFakeToken struct{ f *wechattest.Fake }

func (s staticFakeToken) Token(context.Context) (string, error) { return s.f.IssueToken(), nil }
func (staticFakeToken) Invalidate(string)                       {}

// benchmarkQuery posts query for one order through the whole HTTP handler
// against an in-memory upstream, from parallel clients, so that ns/op is the
// GraphQL layer's CPU cost per request rather than the loader's batch wait.
func benchmarkQuery(b *testing.B, query string, vars map[string]any) {
	h := New(Config{Shops: shops.One(&shops.Shop{Orders: memory{vendorOrder(b)}})})
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/graphql", strings.NewReader(string(body)))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 || strings.Contains(rec.Body.String(), `"errors"`) {
				b.Fatalf("%d %s", rec.Code, rec.Body.String())
			}
		}
	})
}

// BenchmarkFullQuery resolves every field of the vendor example order.
func BenchmarkFullQuery(b *testing.B) {
	benchmarkQuery(b, gqltest.EveryOrderQuery, map[string]any{"id": "12123121332"})
}

// BenchmarkSmallQuery is the fixed cost of a request: three fields.
func BenchmarkSmallQuery(b *testing.B) {
	benchmarkQuery(b, `query($id: ID!) { order(id: $id) { id status createTime } }`, map[string]any{"id": "12123121332"})
}

// BenchmarkTwentyOrders is the list screen: orders(ids:) with 20 ids, 17
// fields each, the GraphQL layer's cost for many orders in one response.
func BenchmarkTwentyOrders(b *testing.B) {
	ids := make([]string, 20)
	for i := range ids {
		ids[i] = strconv.Itoa(1000 + i)
	}
	benchmarkQuery(b, gqltest.TwentyOrdersQuery, map[string]any{"ids": ids})
}
