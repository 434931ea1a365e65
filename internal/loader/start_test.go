package loader

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ordergraph/ordergraph/internal/coalesce"
	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
)

// blockedUpstream holds every call until released, and reports each start.
type blockedUpstream struct {
	calls, inFlight, peak atomic.Int64
	started               chan struct{}
	release               chan struct{}
}

func (b *blockedUpstream) Order(ctx context.Context, id uint64) (*order.Order, error) {
	b.calls.Add(1)
	n := b.inFlight.Add(1)
	defer b.inFlight.Add(-1)
	for p := b.peak.Load(); n > p && !b.peak.CompareAndSwap(p, n); p = b.peak.Load() {
	}
	b.started <- struct{}{}
	select {
	case <-b.release:
		return &order.Order{ID: id}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// starts reports each fetch the loader starts.
type starts struct {
	order.Starter
	each chan struct{}
}

func (s starts) Start(ctx context.Context, id uint64, ready func()) order.Fetch {
	f := s.Starter.Start(ctx, id, ready)
	s.each <- struct{}{}
	return f
}

// A fetch waiting for the process's cap on upstream calls holds no
// goroutine of its own: requests of many orders each behind a cap of one
// hold their own goroutines (the caller's, the batch's) and the one call
// in flight holds one, however many orders they wait for.
func TestWaitingFetchesHoldNoGoroutine(t *testing.T) {
	const requests, perRequest = 4, 50
	up := &blockedUpstream{started: make(chan struct{}, requests*perRequest), release: make(chan struct{})}
	src := starts{coalesce.New(up, coalesce.NewGate(1), nil, nil), make(chan struct{}, requests*perRequest)}
	before := runtime.NumGoroutine()
	var wg sync.WaitGroup
	for r := range requests {
		l := New(src, nil, Config{Concurrency: perRequest})
		ids := make([]uint64, perRequest)
		for i := range ids {
			ids[i] = uint64(r*perRequest + i + 1)
		}
		wg.Go(func() {
			got, errs := l.Orders(context.Background(), ids)
			for i, o := range got {
				if errs[i] != nil || o.ID != ids[i] {
					t.Errorf("order %d: %v, %v", ids[i], o, errs[i])
				}
			}
		})
	}
	for range requests * perRequest {
		<-src.each
	}
	<-up.started // the one call the cap lets through
	// Per request: the caller and the loader's batch; the loader's batch
	// timer may not have ended yet. Then the call in flight.
	if held, most := runtime.NumGoroutine()-before, 3*requests+1; held > most {
		t.Errorf("%d goroutines for %d requests of %d orders waiting behind a cap of 1; want at most %d", held, requests, perRequest, most)
	}
	close(up.release)
	wg.Wait()
	if n, p := up.calls.Load(), up.peak.Load(); n != requests*perRequest || p != 1 {
		t.Fatalf("%d calls, %d at once; want %d, 1 at once", n, p, requests*perRequest)
	}
}

// A request that goes away while its fetches wait gets its errors at once,
// and its fetches stop: the one in flight is cancelled, the queued ones are
// never made.
func TestCancelledRequestLeavesItsFetches(t *testing.T) {
	up := &blockedUpstream{started: make(chan struct{}, 10), release: make(chan struct{})}
	src := starts{coalesce.New(up, coalesce.NewGate(1), nil, nil), make(chan struct{}, 10)}
	l := New(src, nil, Config{Concurrency: 4})
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan []error)
	go func() { _, e := l.Orders(ctx, []uint64{1, 2, 3, 4, 5, 6}); errs <- e }()
	for range 4 { // the request's bound: two ids are not started
		<-src.each
	}
	<-up.started
	cancel()
	for i, err := range <-errs {
		if order.ErrorCode(err) != codes.UpstreamUnavailable {
			t.Errorf("id %d: %v", i+1, err)
		}
	}
	// The next call through the gate is a later request's: the queued
	// fetches of the cancelled one were never made.
	later := make(chan error)
	go func() { _, err := New(src, nil, Config{}).Order(context.Background(), 9); later <- err }()
	<-up.started
	close(up.release)
	if err := <-later; err != nil {
		t.Fatal(err)
	}
	if n := up.calls.Load(); n != 2 {
		t.Fatalf("%d upstream calls; want 2, the cancelled request's first and the later one", n)
	}
}
