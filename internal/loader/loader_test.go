package loader

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/coalesce"
	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
)

// source is a scripted order.Source that counts calls per id.
type source struct {
	mu    sync.Mutex
	calls map[uint64]int
	fail  map[uint64]error
	panic map[uint64]bool
}

func (s *source) Order(_ context.Context, id uint64) (*order.Order, error) {
	s.mu.Lock()
	s.calls[id]++
	err, p := s.fail[id], s.panic[id]
	s.mu.Unlock()
	if p {
		panic("boom")
	}
	if err != nil {
		return nil, err
	}
	return &order.Order{ID: id}, nil
}

func (s *source) count(id uint64) int { s.mu.Lock(); defer s.mu.Unlock(); return s.calls[id] }

func newSource() *source {
	return &source{calls: map[uint64]int{}, fail: map[uint64]error{}, panic: map[uint64]bool{}}
}

// bothWays runs test with the loader fetching from a fresh src on a
// goroutine per id, and with src behind coalescing, whose fetches the
// loader starts without one (order.Starter).
func bothWays[S order.Source](t *testing.T, fresh func() S, test func(t *testing.T, src S, l *Loaders)) {
	t.Run("goroutine per id", func(t *testing.T) {
		src := fresh()
		test(t, src, New(src, nil, Config{}))
	})
	t.Run("started", func(t *testing.T) {
		src := fresh()
		test(t, src, New(coalesce.New(src, coalesce.NewGate(2), nil, nil), nil, Config{}))
	})
}

func TestOrdersAlignedWithPerKeyErrors(t *testing.T) {
	bothWays(t, newSource, testOrdersAlignedWithPerKeyErrors)
}

func testOrdersAlignedWithPerKeyErrors(t *testing.T, src *source, l *Loaders) {
	src.fail[2] = order.Errorf(codes.OrderNotFound, "order not found", nil)
	src.panic[3] = true
	got, errs := l.Orders(context.Background(), []uint64{1, 2, 3, 1, 4})
	for i, want := range []uint64{1, 0, 0, 1, 4} {
		if want == 0 {
			if got[i] != nil || errs[i] == nil {
				t.Errorf("entry %d: want an error, got %v, %v", i, got[i], errs[i])
			}
			continue
		}
		if errs[i] != nil || got[i] == nil || got[i].ID != want {
			t.Errorf("entry %d: got %v, %v; want order %d", i, got[i], errs[i], want)
		}
	}
	if c := order.ErrorCode(errs[1]); c != codes.OrderNotFound {
		t.Errorf("entry 1: code %s", c)
	}
	if c := order.ErrorCode(errs[2]); c != codes.Internal {
		t.Errorf("a panic must become an internal error for its id alone, got %s", c)
	}
	if src.count(1) != 1 {
		t.Errorf("id 1 fetched %d times", src.count(1))
	}
}

func TestTransientFailuresAreNotRemembered(t *testing.T) {
	bothWays(t, newSource, testTransientFailuresAreNotRemembered)
}

func testTransientFailuresAreNotRemembered(t *testing.T, src *source, l *Loaders) {
	src.fail[7] = order.Errorf(codes.UpstreamUnavailable, "upstream timed out", nil)
	src.fail[8] = order.Errorf(codes.OrderNotFound, "order not found", nil)
	for range 2 {
		_, _ = l.Order(context.Background(), 7)
		_, _ = l.Order(context.Background(), 8)
	}
	if src.count(7) != 2 {
		t.Errorf("a transient failure was cached: %d calls", src.count(7))
	}
	if src.count(8) != 1 {
		t.Errorf("a definite not-found was refetched: %d calls", src.count(8))
	}
}

// slow counts how many calls run at once.
type slow struct {
	mu        sync.Mutex
	now, peak int
}

func (s *slow) Order(_ context.Context, id uint64) (*order.Order, error) {
	s.mu.Lock()
	s.now++
	s.peak = max(s.peak, s.now)
	s.mu.Unlock()
	time.Sleep(5 * time.Millisecond)
	s.mu.Lock()
	s.now--
	s.mu.Unlock()
	return &order.Order{ID: id}, nil
}

func TestConcurrencyBoundSpansBatches(t *testing.T) {
	t.Run("goroutine per id", func(t *testing.T) {
		src := &slow{}
		testConcurrencyBoundSpansBatches(t, src, src)
	})
	t.Run("started", func(t *testing.T) {
		src := &slow{}
		testConcurrencyBoundSpansBatches(t, src, coalesce.New(src, coalesce.NewGate(100), nil, nil))
	})
}

func testConcurrencyBoundSpansBatches(t *testing.T, src *slow, from order.Source) {
	l := New(from, nil, Config{Concurrency: 3, Wait: time.Microsecond})
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() { _, _ = l.Order(context.Background(), uint64(i+1)) })
	}
	wg.Wait()
	if src.peak > 3 {
		t.Fatalf("%d calls in flight, bound is 3", src.peak)
	}
}

// An order primed from a listed page is served without a call; one already
// loaded keeps its own.
func TestPrimedOrdersCostNoCall(t *testing.T) {
	bothWays(t, newSource, testPrimedOrdersCostNoCall)
}

func testPrimedOrdersCostNoCall(t *testing.T, src *source, l *Loaders) {
	ctx := context.Background()
	l.Prime(ctx, &order.Order{ID: 5, StatusCode: 20})
	if o, err := l.Order(ctx, 5); err != nil || o.StatusCode != 20 || src.count(5) != 0 {
		t.Fatalf("primed order: %+v, %v, %d calls", o, err, src.count(5))
	}
	if _, err := l.Order(ctx, 6); err != nil || src.count(6) != 1 {
		t.Fatalf("order 6: %v, %d calls", err, src.count(6))
	}
	l.Prime(ctx, &order.Order{ID: 6, StatusCode: 30})
	if o, _ := l.Order(ctx, 6); o.StatusCode != 0 || src.count(6) != 1 {
		t.Fatalf("priming replaced a loaded order: %+v", o)
	}
}
