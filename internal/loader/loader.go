// Package loader gives each GraphQL request its own order dataloader, so that
// every order id a query names is fetched at most once per request, and the
// distinct ids go to the upstream concurrently with a bound.
package loader

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/graph-gophers/dataloader/v7"

	"github.com/ordergraph/ordergraph/internal/metrics"
	"github.com/ordergraph/ordergraph/internal/order"
)

// Config tunes the per-request loaders.
type Config struct {
	// Wait is how long a batch collects ids before it is sent. The upstream
	// has no batch call, so a longer wait buys nothing but latency.
	Wait time.Duration
	// Concurrency bounds the upstream calls in flight for one request
	// (UPSTREAM_CONCURRENCY).
	Concurrency int
	Logger      *slog.Logger
	Metrics     *metrics.Metrics
}

// DefaultConfig is the loaders' configuration unless told otherwise.
//
// The wait is short and not a setting: the ids of one query level arrive
// within microseconds of each other, late ones simply start another batch
// (dedupe comes from the loader's cache and the concurrency bound is per
// request, so a split batch costs nothing upstream), and on Linux any wait
// from ~50 µs up costs about a millisecond of timer granularity.
// BenchmarkBatchWait has the figures; bench/README.md explains them.
func DefaultConfig() Config {
	return Config{Wait: 10 * time.Microsecond, Concurrency: 16}
}

// Loaders is the set of loaders of one request.
type Loaders struct {
	orders *dataloader.Loader[uint64, *order.Order]
}

// New returns fresh loaders over src. Create one per request: the loader
// remembers results, and results must not outlive the request.
func New(src order.Source, cfg Config) *Loaders {
	def := DefaultConfig()
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = def.Concurrency
	}
	if cfg.Wait <= 0 {
		cfg.Wait = def.Wait
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	// The bound is per request, not per batch: one request's ids may arrive
	// in several batches (aliases at different depths), which share it.
	slots := make(chan struct{}, cfg.Concurrency)
	batch := func(ctx context.Context, ids []uint64) []*dataloader.Result[*order.Order] {
		cfg.Metrics.Batch(len(ids))
		results := make([]*dataloader.Result[*order.Order], len(ids))
		done := make(chan struct{}, len(ids))
		for i, id := range ids {
			slots <- struct{}{}
			go func() {
				defer func() { <-slots; done <- struct{}{} }()
				results[i] = fetch(ctx, src, id, cfg.Logger)
			}()
		}
		for range ids {
			<-done
		}
		return results
	}
	return &Loaders{orders: dataloader.NewBatchedLoader(batch, dataloader.WithWait[uint64, *order.Order](cfg.Wait))}
}

// fetch loads one order, marking failures that may pass so that the loader
// does not remember them for the rest of the request.
func fetch(ctx context.Context, src order.Source, id uint64, log *slog.Logger) *dataloader.Result[*order.Order] {
	o, err := order.FetchSafely(ctx, src, id, log)
	if err != nil {
		var e *order.Error
		if !errors.As(err, &e) || e.Transient() {
			err = dataloader.NewSkipCacheError(err)
		}
		return &dataloader.Result[*order.Order]{Error: err}
	}
	return &dataloader.Result[*order.Order]{Data: o}
}

// Order loads one order.
func (l *Loaders) Order(ctx context.Context, id uint64) (*order.Order, error) {
	return l.orders.Load(ctx, id)()
}

// Orders loads several orders; the results and errors are aligned with ids.
// All ids are queued before any result is awaited, so they share batches.
func (l *Loaders) Orders(ctx context.Context, ids []uint64) ([]*order.Order, []error) {
	thunks := make([]dataloader.Thunk[*order.Order], len(ids))
	for i, id := range ids {
		thunks[i] = l.orders.Load(ctx, id)
	}
	out := make([]*order.Order, len(ids))
	errs := make([]error, len(ids))
	for i, thunk := range thunks {
		out[i], errs[i] = thunk()
	}
	return out, errs
}

type ctxKey struct{}

// Middleware puts fresh loaders over src into each request's context.
func Middleware(src order.Source, cfg Config) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := context.WithValue(r.Context(), ctxKey{}, New(src, cfg))
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// For returns the request's loaders. It panics when Middleware did not run:
// that is a wiring mistake, not a runtime condition.
func For(ctx context.Context) *Loaders {
	l, ok := ctx.Value(ctxKey{}).(*Loaders)
	if !ok {
		panic("loader.For: no loaders in context; is loader.Middleware installed?")
	}
	return l
}
