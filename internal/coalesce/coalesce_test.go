package coalesce

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
	s := New(up, nil, nil)
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
	s := New(&slow{boom: true}, nil, nil)
	if _, err := s.Order(context.Background(), 1); order.ErrorCode(err) != codes.Internal {
		t.Fatalf("got %v", err)
	}
}
