// Package loader gives each GraphQL request its own dataloaders, so that
// every order id a query names is fetched at most once per request, and the
// distinct ids go to the upstream concurrently with a bound; and so that all
// the after-sale orders a query names go to the upstream together, in its
// batches; and so that each list page a query names is walked once.
package loader

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/graph-gophers/dataloader/v7"

	"github.com/ordergraph/ordergraph/internal/budget"
	"github.com/ordergraph/ordergraph/internal/codes"
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
	// AfterSaleWait is how long after-sale ids are collected before a batch
	// goes; zero: afterSaleWait. Not a setting: tests that count batches
	// lengthen it, so that a machine too busy to run the request within
	// 5 ms does not split them.
	AfterSaleWait time.Duration
	Logger        *slog.Logger
	Metrics       *metrics.Metrics
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
	orders     *dataloader.Loader[uint64, *order.Order]
	aftersales *dataloader.Loader[uint64, *order.AfterSaleOrder]

	mu    sync.Mutex
	pages map[string]*page
}

// page is one list page of the request, loaded once.
type page struct {
	once sync.Once
	conn *order.OrderConnection
	err  error
}

// New returns fresh loaders over src and after. Create one per operation:
// the loader remembers results, and results must not outlive it.
func New(src order.Source, after order.AfterSaleSource, cfg Config) *Loaders {
	def := DefaultConfig()
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = def.Concurrency
	}
	if cfg.Wait <= 0 {
		cfg.Wait = def.Wait
	}
	if cfg.AfterSaleWait <= 0 {
		cfg.AfterSaleWait = afterSaleWait
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	// The bound is per request, not per batch: one request's ids may arrive
	// in several batches (aliases at different depths), which share it.
	slots := make(chan struct{}, cfg.Concurrency)
	batch := func(ctx context.Context, ids []uint64) []*dataloader.Result[*order.Order] {
		cfg.Metrics.Batch(len(ids))
		ctx, span := batchSpan(ctx, "orders", len(ids))
		defer span.End()
		if starter, ok := src.(order.Starter); ok {
			return startAll(ctx, starter, ids, slots, cfg.Logger)
		}
		return fetchAll(ctx, src, ids, slots, cfg.Logger)
	}
	return &Loaders{
		orders:     dataloader.NewBatchedLoader(batch, dataloader.WithWait[uint64, *order.Order](cfg.Wait), dataloader.WithInputCapacity[uint64, *order.Order](inputCapacity)),
		aftersales: afterSaleLoader(after, cfg.AfterSaleWait, slots),
		pages:      map[string]*page{},
	}
}

// inputCapacity is how many ids a batch takes before its collector has read
// them. The library's 1,000 costs 8 KiB a batch, and every request has one:
// 2 MiB of a loaded server's live heap at 256 requests, which the GC's
// target doubles. A batch's ids come from one query, and past 32 a Load
// hands its id to the collector, which is reading them.
const inputCapacity = 32

// afterSaleWait is how long after-sale ids are collected before a batch
// goes. Unlike orders, after-sale orders have a batch call, so waiting buys
// fewer calls: every after-sale id a query names (root fields resolve
// concurrently, and so do the elements of a list with a resolver anywhere
// below them, see cmd/graphgen) arrives within a few milliseconds, and 50 of
// them go at once whatever the wait. On a machine too busy to run the
// request within the wait, late ids start another batch: one more call.
const afterSaleWait = 5 * time.Millisecond

// afterSaleLoader batches after-sale ids up to the source's batch size: a
// query that names 120 ids makes three calls, which the loader sends at once
// within the request's bound (slots, shared with its order calls). A source
// without a batch call (MaxBatch 1) thus gets one call per distinct id.
func afterSaleLoader(after order.AfterSaleSource, wait time.Duration, slots chan struct{}) *dataloader.Loader[uint64, *order.AfterSaleOrder] {
	opts := []dataloader.Option[uint64, *order.AfterSaleOrder]{
		dataloader.WithWait[uint64, *order.AfterSaleOrder](wait), dataloader.WithInputCapacity[uint64, *order.AfterSaleOrder](inputCapacity),
	}
	if after != nil {
		opts = append(opts, dataloader.WithBatchCapacity[uint64, *order.AfterSaleOrder](after.MaxBatch()))
	}
	return dataloader.NewBatchedLoader(afterSaleBatch(after, slots), opts...)
}

// afterSaleBatch asks after for one batch of after-sale orders. An id it
// does not return is not found; a failure of the call is every id's in the
// batch, and is not remembered.
func afterSaleBatch(after order.AfterSaleSource, slots chan struct{}) dataloader.BatchFunc[uint64, *order.AfterSaleOrder] {
	return func(ctx context.Context, ids []uint64) []*dataloader.Result[*order.AfterSaleOrder] {
		ctx, span := batchSpan(ctx, "aftersales", len(ids))
		defer span.End()
		results := make([]*dataloader.Result[*order.AfterSaleOrder], len(ids))
		var found map[uint64]*order.AfterSaleOrder
		err := error(order.Errorf(codes.UpstreamUnavailable, "after-sale orders are not available from this upstream", nil))
		if after != nil {
			slots <- struct{}{}
			found, err = fetchAfterSales(budget.ForAftersales(ctx), after, ids)
			<-slots
		}
		for i, id := range ids {
			switch a := found[id]; {
			case err != nil:
				results[i] = &dataloader.Result[*order.AfterSaleOrder]{Error: skipCacheIfTransient(err)}
			case a == nil:
				results[i] = &dataloader.Result[*order.AfterSaleOrder]{Error: order.Errorf(codes.AfterSaleNotFound, "after-sale order not found", nil)}
			default:
				results[i] = &dataloader.Result[*order.AfterSaleOrder]{Data: a}
			}
		}
		return results
	}
}

// fetchAfterSales calls after, turning a panic into an error of this batch.
func fetchAfterSales(ctx context.Context, after order.AfterSaleSource, ids []uint64) (found map[uint64]*order.AfterSaleOrder, err error) {
	defer func() {
		if p := recover(); p != nil {
			found, err = nil, order.Errorf(codes.Internal, "internal server error", nil)
		}
	}()
	return after.AfterSaleOrders(ctx, ids)
}

// startAll fetches ids from src within the request's bound (slots), with
// no goroutine per id: a fetch waiting for the upstream is the source's
// data, and this goroutine waits for them all.
func startAll(ctx context.Context, src order.Starter, ids []uint64, slots chan struct{}, log *slog.Logger) []*dataloader.Result[*order.Order] {
	results := make([]*dataloader.Result[*order.Order], len(ids))
	fetches := make([]order.Fetch, len(ids))
	ready := make(chan int, len(ids)) // room for every answer: ready never blocks
	// Each fetch is told ready once: a Start that panicked after its source
	// took ready is told by StartSafely, and may be told again.
	told := make([]atomic.Bool, len(ids))
	started, pending := 0, 0
	for started < len(ids) || pending > 0 {
		admit := slots
		if started == len(ids) {
			admit = nil // nothing left to start
		}
		select {
		case admit <- struct{}{}:
			i := started
			started++
			pending++
			fetches[i] = order.StartSafely(ctx, src, ids[i], func() {
				if told[i].CompareAndSwap(false, true) {
					ready <- i
				}
			}, log)
		case i := <-ready:
			<-slots
			pending--
			o, err := fetches[i].Result()
			results[i] = result(o, err)
		case <-ctx.Done():
			// Last first: the fetches started last are the ones still
			// queued, and leaving them before those running ends one
			// never lets the gate admit another of this request's.
			for i := len(ids) - 1; i >= 0; i-- {
				switch {
				case results[i] != nil:
				case i < started:
					fetches[i].Leave()
					<-slots
					results[i] = result(nil, order.Errorf(codes.UpstreamUnavailable, "request cancelled while waiting for the upstream", ctx.Err()))
				default:
					results[i] = result(nil, order.Errorf(codes.UpstreamUnavailable, "request cancelled before the upstream was asked", ctx.Err()))
				}
			}
			return results
		}
	}
	return results
}

// fetchAll fetches ids from src within the request's bound (slots), each
// on a goroutine, for a source that cannot start fetches without one (an
// order cache, whose lookups may block on Redis).
func fetchAll(ctx context.Context, src order.Source, ids []uint64, slots chan struct{}, log *slog.Logger) []*dataloader.Result[*order.Order] {
	results := make([]*dataloader.Result[*order.Order], len(ids))
	done := make(chan struct{}, len(ids))
	for i, id := range ids {
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; done <- struct{}{} }()
			results[i] = result(order.FetchSafely(ctx, src, id, log))
		}()
	}
	for range ids {
		<-done
	}
	return results
}

// result is one order's answer for the loader, marking failures that may
// pass so that the loader does not remember them for the rest of the
// request.
func result(o *order.Order, err error) *dataloader.Result[*order.Order] {
	if err != nil {
		return &dataloader.Result[*order.Order]{Error: skipCacheIfTransient(err)}
	}
	return &dataloader.Result[*order.Order]{Data: o}
}

// skipCacheIfTransient marks a failure that may pass, so that the loader
// does not remember it for the rest of the request.
func skipCacheIfTransient(err error) error {
	var e *order.Error
	if !errors.As(err, &e) || e.Transient() {
		return dataloader.NewSkipCacheError(err)
	}
	return err
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

// Prime gives the loader an order fetched another way (a listed page), so
// that a lookup of its id later in the request costs no upstream call. An
// id already loaded or in flight keeps its own.
func (l *Loaders) Prime(ctx context.Context, o *order.Order) {
	l.orders.Prime(ctx, o.ID, o)
}

// Page returns the list page that key names (the field and all its
// arguments), loading it with load the first time the request asks for it:
// aliases of one page cost one walk of the upstream's list, and wait for
// the same answer. Its failure, too, is the request's answer for that page,
// since the walk has had its retries.
func (l *Loaders) Page(key string, load func() (*order.OrderConnection, error)) (*order.OrderConnection, error) {
	l.mu.Lock()
	p, ok := l.pages[key]
	if !ok {
		p = &page{}
		l.pages[key] = p
	}
	l.mu.Unlock()
	p.once.Do(func() { p.conn, p.err = load() })
	return p.conn, p.err
}

// AfterSaleOrder loads one after-sale order.
func (l *Loaders) AfterSaleOrder(ctx context.Context, id uint64) (*order.AfterSaleOrder, error) {
	return l.aftersales.Load(ctx, id)()
}

// With returns ctx carrying l: one operation's loaders. Every operation
// gets fresh ones, so nothing it remembers outlives it, however long the
// connection that sent it lives (a WebSocket carries many).
func With(ctx context.Context, l *Loaders) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// For returns the operation's loaders. It panics when With did not run:
// that is a wiring mistake, not a runtime condition.
func For(ctx context.Context) *Loaders {
	l, ok := ctx.Value(ctxKey{}).(*Loaders)
	if !ok {
		panic("loader.For: no loaders in context; does every operation get them (loader.With)?")
	}
	return l
}
