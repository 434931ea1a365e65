// Package shops holds what serves each shop's orders: its sources, lists,
// actions and events, a Shop each. A server of one shop has one; in
// provider mode (a third-party platform serving the shops that authorized
// it) a Registry builds a shop's on its first request and forgets the
// least recently used ones past a bound, so that a process holds what its
// active shops need, however many shops have authorized the platform.
//
// Isolation between shops follows from it: a request reaches only its own
// shop's Shop, whose every piece (order cache, coalescing, loaders, list
// cursors, event bus, poller, rate limit, breaker, token) is that shop's,
// and whose shared state is kept under the shop's keys.
package shops

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ordergraph/ordergraph/internal/actions"
	"github.com/ordergraph/ordergraph/internal/events"
	"github.com/ordergraph/ordergraph/internal/order"
)

// Shop is what serves one shop.
type Shop struct {
	// ID is the shop's authorizer appid in provider mode; "" on a server
	// of one shop.
	ID string
	// Orders fetches orders (through the cache and coalescing).
	Orders order.Source
	// AfterSales fetches after-sale orders; nil: there are none.
	AfterSales order.AfterSaleSource
	// Lists pages through orders; nil: lists are not available.
	Lists order.Lister
	// Anchor is where Lists' page cache ends an open-ended range
	// (listing.Request.Anchor); nil: pages are not cached.
	Anchor func(ctx context.Context, scope string, now time.Time) time.Time
	// Actions runs order actions.
	Actions *actions.Service
	// Events is the shop's event bus; nil: events are off.
	Events *events.Bus
	// Publish hands on the shop's events (pushed or polled) to every
	// replica that holds the shop, when they share Redis; nil when events
	// are off.
	Publish func(order.Event)
	// Deliver hands an event to this process's subscribers of the shop,
	// having forgotten what the process holds of its order: what the
	// fan-out through Redis calls. Nil when events are off.
	Deliver func(order.Event)
	// Close stops what the shop runs (its poller, its bus); nil: nothing.
	Close func()
}

// subscribers is how many subscriptions the shop holds open.
func (s *Shop) subscribers() int {
	if s.Events == nil {
		return 0
	}
	return s.Events.Subscribers()
}

func (s *Shop) close() {
	if s.Close != nil {
		s.Close()
	}
}

type ctxKey struct{}

// With returns ctx carrying the shop an operation is for.
func With(ctx context.Context, s *Shop) context.Context { return context.WithValue(ctx, ctxKey{}, s) }

// From returns the shop of ctx's operation, nil outside one.
func From(ctx context.Context) *Shop {
	s, _ := ctx.Value(ctxKey{}).(*Shop)
	return s
}

// Registry finds the Shop of a shop id.
type Registry struct {
	// one is a single-shop server's Shop, whatever the id.
	one   *Shop
	build func(id string) *Shop
	limit int

	mu     sync.Mutex
	byID   map[string]*list.Element // of *held
	recent *list.List               // most recently used first
	// closing holds the shops being closed, until they are: a shop is not
	// built again beside its own closing, which forgets what it held.
	closing map[string]chan struct{}
	closed  bool
}

// held is a Shop the registry holds.
type held struct{ shop *Shop }

// ErrClosed is Get's answer once the registry is closed.
var ErrClosed = errors.New("shops: the server is shutting down")

// One is the registry of a server of one shop: every id is s.
func One(s *Shop) *Registry { return &Registry{one: s} }

// New returns a registry that builds a shop's Shop with build, and holds
// at most limit of them (at least 1): past that it closes and forgets the
// least recently used shop that holds no subscription open, to build it
// again when it is asked for. (An operation that found a shop just before
// it was forgotten still runs on it; a subscription to its closed bus
// fails, asking the client to subscribe again.)
// What is kept in Redis survives that; what a Shop keeps in memory (its
// cache, its breaker) starts afresh.
func New(limit int, build func(id string) *Shop) *Registry {
	return &Registry{build: build, limit: max(1, limit),
		byID: map[string]*list.Element{}, recent: list.New(), closing: map[string]chan struct{}{}}
}

// Get returns the Shop of id, building it on first use. Building makes no
// call: a shop's token is fetched on its first call to WeChat.
func (r *Registry) Get(id string) (*Shop, error) {
	if r.one != nil {
		return r.one, nil
	}
	r.mu.Lock()
	for {
		if r.closed {
			r.mu.Unlock()
			return nil, ErrClosed
		}
		if e, ok := r.byID[id]; ok {
			r.recent.MoveToFront(e)
			r.mu.Unlock()
			return e.Value.(*held).shop, nil
		}
		done, closing := r.closing[id]
		if !closing {
			break
		}
		r.mu.Unlock()
		<-done
		r.mu.Lock()
	}
	s := r.build(id)
	r.byID[id] = r.recent.PushFront(&held{shop: s})
	evicted := r.evictLocked()
	r.mu.Unlock()
	for _, e := range evicted {
		e.close()
		r.mu.Lock()
		close(r.closing[e.ID])
		delete(r.closing, e.ID)
		r.mu.Unlock()
	}
	return s, nil
}

// Held returns the Shop of id when this process holds it, without
// building it: where an event for a shop nobody here uses can be dropped.
func (r *Registry) Held(id string) (*Shop, bool) {
	if r.one != nil {
		// A single-shop server's events name no shop: an event naming one
		// is a platform's sharing the namespace, never this shop's.
		return r.one, id == ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.byID[id]
	if !ok {
		return nil, false
	}
	return e.Value.(*held).shop, true
}

// evictLocked forgets the least recently used shops past the limit, but
// never one with a subscription open (its subscribers would lose their
// events), nor the one just built; it marks them closing.
func (r *Registry) evictLocked() []*Shop {
	var out []*Shop
	for e := r.recent.Back(); e != nil && e != r.recent.Front() && r.recent.Len() > r.limit; {
		prev := e.Prev()
		if h := e.Value.(*held); h.shop.subscribers() == 0 {
			r.recent.Remove(e)
			delete(r.byID, h.shop.ID)
			r.closing[h.shop.ID] = make(chan struct{})
			out = append(out, h.shop)
		}
		e = prev
	}
	return out
}

// Active is how many shops this process holds.
func (r *Registry) Active() int {
	if r.one != nil {
		return 1
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.recent.Len()
}

// Each calls f for every shop this process holds.
func (r *Registry) Each(f func(*Shop)) {
	if r.one != nil {
		f(r.one)
		return
	}
	r.mu.Lock()
	shops := make([]*Shop, 0, r.recent.Len())
	for e := r.recent.Front(); e != nil; e = e.Next() {
		shops = append(shops, e.Value.(*held).shop)
	}
	r.mu.Unlock()
	for _, s := range shops {
		f(s)
	}
}

// Close closes every shop; Get fails from then on.
func (r *Registry) Close() {
	if r.one != nil {
		r.one.close()
		return
	}
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.Each(func(s *Shop) { s.close() })
}
