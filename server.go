// Command ordergraph serves WeChat Mini Shop orders over GraphQL. With no
// WeChat credentials configured it runs against a built-in sandbox upstream.
// See README.md for the configuration.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ordergraph/ordergraph/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(app.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
