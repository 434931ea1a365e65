// Package coalesce shares one upstream call among all requests that ask for
// the same order while that call is in flight. Nothing is kept after the call
// returns: a request that starts later gets a fresh call (keeping orders is
// package ordercache's job).
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
	gate    *Gate
	metrics *metrics.Metrics
	log     *slog.Logger

	mu    sync.Mutex
	calls map[uint64]*call
}

var _ order.Starter = (*Source)(nil)

type call struct {
	done    chan struct{}
	o       *order.Order
	err     error
	waiters int                // guarded by Source.mu
	ready   []func()           // guarded by Source.mu: Start's callers, told when done
	cancel  context.CancelFunc // stops the call once nobody waits
	ticket  *ticket            // its place at the gate
}

// New wraps next; its calls go through gate (nil: no gate), which the
// process's shops share. m and log may be nil.
func New(next order.Source, gate *Gate, m *metrics.Metrics, log *slog.Logger) *Source {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Source{next: next, gate: gate, metrics: m, log: log, calls: map[uint64]*call{}}
}

// Order returns the order from the in-flight call for id, starting one if
// there is none. The call runs on a context that no single caller can
// cancel, so one client going away does not fail the others; each caller
// still stops waiting when its own context ends, and when the last one has
// gone the call is cancelled: nobody would read its answer.
func (s *Source) Order(ctx context.Context, id uint64) (*order.Order, error) {
	c, err := s.join(ctx, id, nil)
	if err != nil {
		return nil, err
	}
	select {
	case <-c.done:
		return c.o, c.err
	case <-ctx.Done():
		s.leave(id, c)
		return nil, order.Errorf(codes.UpstreamUnavailable, "request cancelled while waiting for the upstream", ctx.Err())
	}
}

// Start is Order for a caller that waits for many orders at once (the
// loader's batch): it joins or begins the call as Order does, and the call
// tells ready when it has its answer. Waiting costs the caller no
// goroutine; Fetch.Leave is Order's ending context.
func (s *Source) Start(ctx context.Context, id uint64, ready func()) order.Fetch {
	c, err := s.join(ctx, id, ready)
	if err != nil {
		ready()
		return order.Failed(err)
	}
	return &fetch{s: s, id: id, c: c}
}

type fetch struct {
	s  *Source
	id uint64
	c  *call
}

func (f *fetch) Result() (*order.Order, error) { return f.c.o, f.c.err }
func (f *fetch) Leave()                        { f.s.leave(f.id, f.c) }

// join makes the caller one of the call for id's waiters, beginning the
// call if there is none in flight; ready, when not nil, is told when the
// call is done.
func (s *Source) join(ctx context.Context, id uint64, ready func()) (*call, error) {
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
		// The call gets a goroutine once the gate admits it; until then it
		// is an entry in the gate's queue, and its callers wait on c.done.
		c.ticket = s.gate.start(func() { s.run(callCtx, id, c) })
	}
	c.waiters++
	if ready != nil {
		c.ready = append(c.ready, ready)
	}
	s.mu.Unlock()
	if joined {
		s.metrics.Coalesced()
	}
	return c, nil
}

// leave is a waiter of c giving up. The last one stops the call: it leaves
// the gate's queue if it has not started, and is cancelled if it has.
func (s *Source) leave(id uint64, c *call) {
	s.mu.Lock()
	if c.waiters--; c.waiters == 0 {
		c.cancel()
		s.gate.cancel(c.ticket)
		s.forget(id, c) // a later caller starts afresh
	}
	s.mu.Unlock()
}

func (s *Source) run(ctx context.Context, id uint64, c *call) {
	if err := ctx.Err(); err != nil {
		// Everyone left while the gate was letting it in.
		c.err = order.Errorf(codes.UpstreamUnavailable, "request cancelled before the upstream was asked", err)
	} else {
		c.o, c.err = order.FetchSafely(ctx, s.next, id, s.log)
	}
	c.cancel()
	s.mu.Lock()
	s.forget(id, c)
	ready := c.ready
	c.ready = nil
	s.mu.Unlock()
	close(c.done)
	for _, r := range ready {
		r()
	}
}

// Forget makes the next caller for id start a call of its own rather than
// join the one in flight, which may have been answered before the order
// changed; that call's waiters still get its answer.
func (s *Source) Forget(_ context.Context, id uint64) {
	s.mu.Lock()
	delete(s.calls, id)
	s.mu.Unlock()
}

// ForgetAll drops every call in flight: a later request gets a call of its
// own.
func (s *Source) ForgetAll(context.Context) {
	s.mu.Lock()
	clear(s.calls)
	s.mu.Unlock()
}

// forget removes c from the calls in flight if it is still the one for id.
// s.mu must be held.
func (s *Source) forget(id uint64, c *call) {
	if s.calls[id] == c {
		delete(s.calls, id)
	}
}
