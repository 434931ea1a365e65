package httpserver

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/shops"
)

// panicky panics on every order: a bug in an adapter.
type panicky struct{}

func (panicky) Order(context.Context, uint64) (*order.Order, error) {
	panic("secret-ish panic text")
}

func TestPanicsBecomeCodedErrorsWithoutDetails(t *testing.T) {
	var logs bytes.Buffer
	h := New(Config{Shops: shops.One(&shops.Shop{Orders: panicky{}}), Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	req := httptest.NewRequest("POST", "/graphql", strings.NewReader(`{"query":"{ order(id: \"1\") { id } }"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `"code":"INTERNAL_SERVER_ERROR"`) || !strings.Contains(body, `"path":["order"]`) {
		t.Fatalf("%d %s", rec.Code, body)
	}
	for _, out := range []string{body, logs.String()} {
		if strings.Contains(out, "secret-ish") || strings.Contains(out, "goroutine ") {
			t.Fatalf("panic text or stack escaped: %s", out)
		}
	}
}

func TestHandlerPanicIsA500GraphQLError(t *testing.T) {
	var logs bytes.Buffer
	h := recoverer(slog.New(slog.NewJSONHandler(&logs, nil)))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("secret-ish")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "INTERNAL_SERVER_ERROR") {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
	if strings.Contains(rec.Body.String()+logs.String(), "secret-ish") {
		t.Fatal("panic text escaped")
	}
}
