package coalesce

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
)

// The gate runs n calls at once; the next waits until one ends, and they
// are admitted in the order they came. A call taken out of the queue never
// runs.
func TestGateAdmitsInTurn(t *testing.T) {
	g := NewGate(2)
	var running, peak atomic.Int64
	release := make([]chan struct{}, 5)
	ran := make(chan int, 5)
	tickets := make([]*ticket, 5)
	for i := range release {
		release[i] = make(chan struct{})
		tickets[i] = g.start(func() {
			n := running.Add(1)
			peak.Store(max(peak.Load(), n))
			ran <- i
			<-release[i]
			running.Add(-1)
		})
	}
	if a, b := <-ran, <-ran; a+b != 1 {
		t.Fatalf("calls %d and %d ran first; want 0 and 1", a, b)
	}
	g.cancel(tickets[3])
	close(release[1])
	if got := <-ran; got != 2 {
		t.Fatalf("call %d ran after call 1 ended; want 2, the first in the queue", got)
	}
	close(release[0])
	if got := <-ran; got != 4 {
		t.Fatalf("call %d ran after call 0 ended; want 4 (3 left the queue)", got)
	}
	close(release[2])
	close(release[4])
	deadline := time.Now().Add(5 * time.Second)
	for g.mu.Lock(); g.free < 2; g.mu.Lock() { // both slots back: the queue is empty
		g.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("the gate never freed its slots")
		}
		runtime.Gosched()
	}
	g.mu.Unlock()
	if p := peak.Load(); p > 2 {
		t.Fatalf("%d calls ran at once through a gate of 2", p)
	}
	select {
	case got := <-ran:
		t.Fatalf("call %d ran", got)
	default:
	}
}

// held answers each call once the test releases it, and reports each call
// as it starts.
type held struct {
	calls   atomic.Int64
	started chan uint64
	release chan struct{}
}

func (h *held) Order(ctx context.Context, id uint64) (*order.Order, error) {
	h.calls.Add(1)
	h.started <- id
	select {
	case <-h.release:
		return &order.Order{ID: id}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// A call queued at the gate whose callers all leave is never made; its
// callers got their error at once, and a later caller starts afresh.
func TestQueuedCallLeavesTheGateWhenNobodyWaits(t *testing.T) {
	up := &held{started: make(chan uint64, 8), release: make(chan struct{})}
	s := New(up, NewGate(1), nil, nil)
	first := make(chan error)
	go func() { _, err := s.Order(context.Background(), 1); first <- err }()
	<-up.started // order 1 holds the gate's only slot
	ctx, cancel := context.WithCancel(context.Background())
	queued := make(chan error)
	go func() { _, err := s.Order(ctx, 2); queued <- err }()
	waitForWaiters(t, s, 2, 1)
	cancel()
	if err := <-queued; order.ErrorCode(err) != codes.UpstreamUnavailable {
		t.Fatalf("the queued caller: %v", err)
	}
	close(up.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if o, err := s.Order(context.Background(), 2); err != nil || o.ID != 2 {
		t.Fatalf("a later caller: %v, %v", o, err)
	}
	if got := <-up.started; got != 2 {
		t.Fatalf("order %d called; want 2", got)
	}
	if n := up.calls.Load(); n != 2 {
		t.Fatalf("%d calls, want 2: the queued call was made with nobody waiting", n)
	}
}
