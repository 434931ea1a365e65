// Package coalesce shares one upstream call among all requests that ask for
// the same order while that call is in flight. Nothing is kept after the call
// returns: a request that starts later gets a fresh call (caching is package
// ordercache's job, and off by default).
package coalesce

import (
	"context"
	"log/slog"
	"sync"

	"github.com/ordergraph/ordergraph/internal/budget"
	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/metrics"
	"github.com/ordergraph/ordergraph/internal/order"
)

// Source is an order.Source that coalesces concurrent fetches of one id.
type Source struct {
	next    order.Source
	metrics *metrics.Metrics
	log     *slog.Logger

	mu    sync.Mutex
	calls map[uint64]*call
}

type call struct {
	done    chan struct{}
	o       *order.Order
	err     error
	waiters int                // guarded by Source.mu
	cancel  context.CancelFunc // stops the call once nobody waits
}

// New wraps next. m and log may be nil.
func New(next order.Source, m *metrics.Metrics, log *slog.Logger) *Source {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Source{next: next, metrics: m, log: log, calls: map[uint64]*call{}}
}

// Order returns the order from the in-flight call for id, starting one if
// there is none. The call runs on a context that no single caller can
// cancel, so one client going away does not fail the others; each caller
// still stops waiting when its own context ends, and when the last one has
// gone the call is cancelled: nobody would read its answer.
func (s *Source) Order(ctx context.Context, id uint64) (*order.Order, error) {
	if err := ctx.Err(); err != nil {
		return nil, order.Errorf(codes.UpstreamUnavailable, "request cancelled before the upstream was asked", err)
	}
	// Each caller pays for the call from its own operation's budget, joined
	// or not, and the shared call spends none: one operation's spent budget
	// must not fail the others that joined it.
	if !budget.Spend(ctx) {
		return nil, budget.ErrSpent
	}
	s.mu.Lock()
	c, joined := s.calls[id]
	if !joined {
		callCtx, cancel := context.WithCancel(budget.Without(context.WithoutCancel(ctx)))
		c = &call{done: make(chan struct{}), cancel: cancel}
		s.calls[id] = c
		go s.run(callCtx, id, c)
	}
	c.waiters++
	s.mu.Unlock()
	if joined {
		s.metrics.Coalesced()
	}
	select {
	case <-c.done:
		return c.o, c.err
	case <-ctx.Done():
		s.mu.Lock()
		if c.waiters--; c.waiters == 0 {
			c.cancel()
			s.forget(id, c) // a later caller starts afresh
		}
		s.mu.Unlock()
		return nil, order.Errorf(codes.UpstreamUnavailable, "request cancelled while waiting for the upstream", ctx.Err())
	}
}

func (s *Source) run(ctx context.Context, id uint64, c *call) {
	c.o, c.err = order.FetchSafely(ctx, s.next, id, s.log)
	c.cancel()
	s.mu.Lock()
	s.forget(id, c)
	s.mu.Unlock()
	close(c.done)
}

// Forget makes the next caller for id start a call of its own rather than
// join the one in flight, which may have been answered before the order
// changed; that call's waiters still get its answer.
func (s *Source) Forget(_ context.Context, id uint64) {
	s.mu.Lock()
	delete(s.calls, id)
	s.mu.Unlock()
}

// forget removes c from the calls in flight if it is still the one for id.
// s.mu must be held.
func (s *Source) forget(id uint64, c *call) {
	if s.calls[id] == c {
		delete(s.calls, id)
	}
}
