package httpserver

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ordergraph/ordergraph/internal/tracing"
)

// The request span's wrapper keeps what WebSockets (Hijacker) and SSE
// (Flusher) need, and names the span by the route, not the path.
func TestTracedPassesHijackerAndFlusher(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	shutdown, err := tracing.Setup(context.Background(), func(k string) string {
		return map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}[k]
	}, tracing.WithExporter(exp))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = shutdown(context.Background()) }()

	r := chi.NewRouter()
	r.Use(traced)
	r.Get("/stream/{id}", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "data: 1\n\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush: %v", err)
		}
	})
	r.Get("/upgrade", func(w http.ResponseWriter, _ *http.Request) {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n")
		_ = rw.Flush()
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/stream/secret-id-42?q=secret")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n")
	if line, _ := bufio.NewReader(conn).ReadString('\n'); line != "HTTP/1.1 101 Switching Protocols\r\n" {
		t.Fatalf("upgrade answered %q", line)
	}

	// The upgrade's span ends once its handler has returned, after the
	// client read its answer: wait for it.
	var spans tracetest.SpanStubs
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if spans = exp.GetSpans(); len(spans) >= 2 || time.Now().After(deadline) {
			break
		}
	}
	names := map[string]bool{}
	for _, s := range spans {
		names[s.Name] = true
		for _, a := range s.Attributes {
			if v := a.Value.String(); v == "/stream/secret-id-42" || v == "secret" {
				t.Errorf("span %q records the path or query: %s", s.Name, a.Key)
			}
		}
	}
	if !names["GET /stream/{id}"] || !names["GET /upgrade"] {
		t.Errorf("spans: %v", names)
	}
}

// BenchmarkSmallQueryTraced is BenchmarkSmallQuery with every request
// traced (spans ended into an exporter that drops them): tracing's cost.
func BenchmarkSmallQueryTraced(b *testing.B) {
	shutdown, err := tracing.Setup(context.Background(), func(k string) string {
		return map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}[k]
	}, tracing.WithExporter(tracetest.NewNoopExporter()))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = shutdown(context.Background()) }()
	BenchmarkSmallQuery(b)
}
