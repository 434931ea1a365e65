// Command sandbox serves the built-in sandbox upstream on its own, for
// running several server replicas against one fake WeChat API (see
// docs/operations.md, "Running several replicas"). It logs every call it
// answers, so you can watch how many access tokens the replicas fetch
// between them.
//
//	go run ./cmd/sandbox -addr 127.0.0.1:9000
package main

import (
	"flag"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/ordergraph/ordergraph/internal/sandbox"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "listen address")
	latency := flag.Duration("latency", 0, "added latency of each order call")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stdout, nil))
	sb := sandbox.New(*latency)
	logged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Info("call", slog.String("method", r.Method), slog.String("path", r.URL.Path))
		sb.ServeHTTP(w, r)
	})
	log.Info("sandbox upstream", slog.String("base_url", "http://"+*addr), slog.String("app_id", sandbox.AppID), slog.String("app_secret", sandbox.Secret))
	srv := &http.Server{Addr: *addr, Handler: logged, ReadHeaderTimeout: 5 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		log.Error("stopped", slog.String("error", err.Error()))
		os.Exit(1)
	}
}
