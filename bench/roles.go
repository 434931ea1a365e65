package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ordergraph/ordergraph/internal/app"
	"github.com/ordergraph/ordergraph/internal/metrics"
	"github.com/ordergraph/ordergraph/internal/minishop"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/sandbox"
	"github.com/ordergraph/ordergraph/internal/token"
	"github.com/ordergraph/ordergraph/internal/wechat"
)

func numCPU() int { return runtime.NumCPU() }

// serveUntilSignal serves h on addr until SIGTERM or SIGINT.
func serveUntilSignal(addr string, h http.Handler) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.ListenAndServe() }()
	<-ctx.Done()
	_ = srv.Close()
}

func healthz(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) }

// runSandbox serves the sandbox upstream with latency on every order call.
func runSandbox(addr string, latency time.Duration) { serveUntilSignal(addr, sandbox.New(latency)) }

// runServer runs the real server, as `go run .` would, against upstream.
func runServer(addr, upstream string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := map[string]string{
		"ADDR": addr, "WECHAT_APP_ID": sandbox.AppID, "WECHAT_APP_SECRET": sandbox.Secret,
		"WECHAT_API_BASE_URL": upstream, "LOG_LEVEL": "error",
		"ALLOW_ANONYMOUS": "true", "RATE_LIMIT": "0", // the load comes from one client
	}
	return app.Run(ctx, nil, func(k string) string { return env[k] }, os.Stdout, os.Stderr)
}

// runFloor serves GET /orders?ids=1,2,3: the same upstream client and token
// code as the server, the distinct ids fetched concurrently (16 at a time,
// as the server's default), the orders written back as a JSON list aligned
// with the ids. No GraphQL, no dataloader, no coalescing.
func runFloor(addr, upstream string) {
	m := metrics.New()
	transport := wechat.NewTransport(wechat.TransportConfig{BaseURL: upstream, Metrics: m})
	tokens := token.NewManager(func(ctx context.Context, force bool) (string, time.Duration, error) {
		return transport.StableToken(ctx, sandbox.AppID, sandbox.Secret, force)
	}, token.Config{})
	orders := minishop.NewOrders(wechat.NewClient(transport, tokens))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /orders", func(w http.ResponseWriter, r *http.Request) {
		var ids []uint64
		for f := range strings.SplitSeq(r.URL.Query().Get("ids"), ",") {
			id, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				http.Error(w, "bad id", http.StatusBadRequest)
				return
			}
			ids = append(ids, id)
		}
		found := map[uint64]*order.Order{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		slots := make(chan struct{}, 16)
		for _, id := range ids {
			mu.Lock()
			_, seen := found[id]
			found[id] = nil
			mu.Unlock()
			if seen {
				continue
			}
			slots <- struct{}{}
			wg.Go(func() {
				defer func() { <-slots }()
				o, _ := orders.Order(r.Context(), id)
				mu.Lock()
				found[id] = o
				mu.Unlock()
			})
		}
		wg.Wait()
		out := make([]*order.Order, len(ids))
		for i, id := range ids {
			out[i] = found[id]
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	serveUntilSignal(addr, mux)
}
