package coalesce

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/budget"
	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
)

type slow struct {
	calls   atomic.Int64
	delay   time.Duration
	boom    bool
	started chan struct{} // when set, hears of each call as it starts
}

func (s *slow) Order(ctx context.Context, id uint64) (*order.Order, error) {
	s.calls.Add(1)
	select {
	case s.started <- struct{}{}: // buffered; a nil channel never takes it
	default:
	}
	if s.boom {
		panic("boom")
	}
	select {
	case <-time.After(s.delay):
		return &order.Order{ID: id}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func TestOneCallForConcurrentFetchesAndCancelledCallersDoNotFailOthers(t *testing.T) {
	up := &slow{delay: 50 * time.Millisecond, started: make(chan struct{}, 1)}
	s := New(up, nil, nil, nil)
	cctx, cancel := context.WithCancel(context.Background())
	first := make(chan error)
	go func() { _, err := s.Order(cctx, 7); first <- err }()
	<-up.started // the first caller's call is in flight; the others join it
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if o, err := s.Order(context.Background(), 7); err != nil || o.ID != 7 {
				t.Errorf("got %v, %v", o, err)
			}
		})
	}
	waitForWaiters(t, s, 7, 21)
	cancel() // the caller that started the call goes away
	if err := <-first; order.ErrorCode(err) != codes.UpstreamUnavailable {
		t.Errorf("cancelled caller: %v", err)
	}
	wg.Wait()
	if n := up.calls.Load(); n != 1 {
		t.Fatalf("%d upstream calls, want 1", n)
	}
}

func TestPanicFailsTheCallNotTheProcess(t *testing.T) {
	s := New(&slow{boom: true}, nil, nil, nil)
	if _, err := s.Order(context.Background(), 1); order.ErrorCode(err) != codes.Internal {
		t.Fatalf("got %v", err)
	}
}

// blocking's first call waits until its context ends; later calls answer.
type blocking struct {
	calls            atomic.Int64
	started, stopped chan struct{}
}

func (b *blocking) Order(ctx context.Context, id uint64) (*order.Order, error) {
	if b.calls.Add(1) == 1 {
		close(b.started)
		<-ctx.Done()
		close(b.stopped)
		return nil, ctx.Err()
	}
	return &order.Order{ID: id}, nil
}

// When every caller waiting on a call has gone away, the call is cancelled,
// and a later caller starts a fresh one rather than joining it.
func TestCallStopsWhenNobodyWaits(t *testing.T) {
	up := &blocking{started: make(chan struct{}), stopped: make(chan struct{})}
	s := New(up, nil, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	for range 2 {
		go func() { _, err := s.Order(ctx, 9); errs <- err }()
	}
	<-up.started
	waitForWaiters(t, s, 9, 2)
	cancel()
	for range 2 {
		if err := <-errs; order.ErrorCode(err) != codes.UpstreamUnavailable {
			t.Fatalf("cancelled caller: %v", err)
		}
	}
	select {
	case <-up.stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the call went on with nobody waiting")
	}
	if o, err := s.Order(context.Background(), 9); err != nil || o.ID != 9 {
		t.Fatalf("a later caller: %v, %v", o, err)
	}
	if n := up.calls.Load(); n != 2 {
		t.Fatalf("%d upstream calls, want 2: the cancelled one and a fresh one", n)
	}
}

// waitForWaiters waits until n callers wait on the call for id.
func waitForWaiters(t *testing.T, s *Source, id uint64, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		c := s.calls[id]
		joined := c != nil && c.waiters >= n
		s.mu.Unlock()
		if joined {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d callers never waited on order %d", n, id)
		}
		runtime.Gosched()
	}
}

// After Forget, a caller does not join the call in flight, which may
// answer with the order from before the change; that call's own callers
// still get its answer.
func TestForgetStartsAFreshCall(t *testing.T) {
	up := &slow{delay: 50 * time.Millisecond, started: make(chan struct{}, 2)}
	s := New(up, nil, nil, nil)
	first := make(chan error)
	go func() { _, err := s.Order(context.Background(), 7); first <- err }()
	<-up.started
	s.Forget(context.Background(), 7)
	if _, err := s.Order(context.Background(), 7); err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatalf("the forgotten call's caller: %v", err)
	}
	if n := up.calls.Load(); n != 2 {
		t.Fatalf("%d calls, want 2: the caller after Forget joined the old call", n)
	}
}

// Each caller pays from its own operation's budget: one whose budget is
// spent is refused without a call, and does not fail the call that others
// share, which spends no one's budget.
func TestEachCallerPaysItsOwnWay(t *testing.T) {
	up := &slow{delay: 20 * time.Millisecond}
	s := New(up, nil, nil, nil)
	spent := budget.With(context.Background(), 0, 0)
	if _, err := s.Order(spent, 7); !errors.Is(err, budget.ErrSpent) {
		t.Fatalf("a spent budget: %v", err)
	}
	paid := budget.With(context.Background(), 1, 0)
	if o, err := s.Order(paid, 7); err != nil || o.ID != 7 || budget.Left(paid) != 0 || up.calls.Load() != 1 {
		t.Fatalf("%v %v, %d left, %d calls", o, err, budget.Left(paid), up.calls.Load())
	}
}
