// Command ordergraph serves WeChat shop orders over GraphQL, from the Mini
// Shop or the WeChat Store (UPSTREAM_FAMILY), with their after-sale orders,
// lists and live order events. With no WeChat credentials configured it runs
// against a built-in sandbox of the chosen family. See README.md for the
// configuration.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ordergraph/ordergraph/internal/app"
	// The container image has no CA files; without these roots the server
	// could not verify WeChat's TLS certificate there. The system's roots
	// still win wherever it has them.
	_ "golang.org/x/crypto/x509roots/fallback"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(app.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
