// Package ordercache is the cache of fetched orders, for dashboards that
// ask for the same orders over and over (on by default where events come). It follows the upstream where
// it can: an order event (pushed by WeChat or found by the poller) makes
// every replica forget the order before anyone is shown it, and the TTL
// bounds how long an order is kept when no event comes. Only successes are
// cached; a missing order is asked for again, so a new order shows up at
// once.
//
// A fetch that began before the order was forgotten may end after it; its
// answer is then not cached (Backend.Add's stamp), nor does it replace
// what a later fetch kept, so a forgotten order never comes back stale.
package ordercache

import (
	"context"
	"strconv"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/ordergraph/ordergraph/internal/metrics"
	"github.com/ordergraph/ordergraph/internal/order"
)

// Backend holds the cached orders: in process memory (Local), or shared by
// all replicas (redisstore.OrderCache). Entries expire by themselves.
type Backend interface {
	// Get returns the cached order of id or, on a miss, the stamp that Add
	// of the order then fetched needs.
	Get(ctx context.Context, id uint64) (o *order.Order, stamp string, ok bool)
	// Add caches o, fetched after a Get of id gave stamp, unless id has
	// been forgotten since.
	Add(ctx context.Context, id uint64, o *order.Order, stamp string)
	// Forget drops id, and refuses the Adds of fetches that began before.
	Forget(ctx context.Context, id uint64)
	// ForgetAll drops every order, and refuses the Adds of fetches that
	// began before.
	ForgetAll(ctx context.Context)
}

// ForgetFor is how long a backend remembers that it forgot an order: longer
// than any fetch runs (every attempt's timeout, a token refresh), so that
// the answer of a fetch that began before the change is never cached.
func ForgetFor(ttl time.Duration) time.Duration { return max(ttl, 2*time.Minute) }

// Source is an order.Source that remembers orders in a Backend.
type Source struct {
	next    order.Source
	backend Backend
	metrics *metrics.Metrics
}

// New wraps next with backend.
func New(next order.Source, backend Backend, m *metrics.Metrics) *Source {
	return &Source{next: next, backend: backend, metrics: m}
}

// Order returns the cached order or fetches and caches it.
func (s *Source) Order(ctx context.Context, id uint64) (*order.Order, error) {
	o, stamp, ok := s.backend.Get(ctx, id)
	if ok {
		s.metrics.CacheHit()
		return o, nil
	}
	o, err := s.next.Order(ctx, id)
	if err == nil {
		s.backend.Add(ctx, id, o, stamp)
	}
	return o, err
}

// Forget drops the order from what next holds (a fetch in flight), then
// from the backend. In that order: a fetch that joins the call in flight
// after the backend's forget would carry the new stamp, and cache the
// order from before the change.
func (s *Source) Forget(ctx context.Context, id uint64) {
	if f, ok := s.next.(order.Forgetter); ok {
		f.Forget(ctx, id)
	}
	s.backend.Forget(ctx, id)
}

// ForgetAll drops every order in flight in next, then in the backend.
func (s *Source) ForgetAll(ctx context.Context) {
	if f, ok := s.next.(order.AllForgetter); ok {
		f.ForgetAll(ctx)
	}
	s.backend.ForgetAll(ctx)
}

// Config is the cache's configuration (ORDER_CACHE_TTL, ORDER_CACHE_SIZE),
// which the page cache (package pagecache) follows too.
type Config struct {
	// TTL is the longest an order is served from the cache; an event about
	// it ends that earlier. 0 switches the cache off.
	TTL time.Duration
	// FollowEvents says TTL was not set: the cache is on only where order
	// events come (For).
	FollowEvents bool
	// Size is how many orders a process-local cache holds at most.
	Size int
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// DefaultConfig is the cache's configuration unless told otherwise: off
// (config turns it on where events come), and 2,000 orders per shop in
// process memory, about 5 KB each decoded: enough for the pages and
// orders dashboards keep open, and 10 MB, not 50, of a process's live heap
// (which the GC's target doubles) when fresh orders stream through it.
func DefaultConfig() Config { return Config{TTL: 0, Size: 2000} }

// EventTTL is the TTL where order events come and none was set: events
// end an entry when its order changes, and the TTL only bounds what a
// lost event could leave.
const EventTTL = 10 * time.Minute

// For is the configuration of a shop with order events (a push or the
// poller) or without: one that follows events is off without them.
func (c Config) For(events bool) Config {
	if c.FollowEvents && !events {
		c.TTL = 0
	}
	return c
}

// Local is a Backend in process memory: at most Size orders, each for TTL,
// the least recently used going first.
//
// Stamps are the count of forgets when a fetch began, so they order
// fetches and forgets: every entry carries one (a forgotten order's is its
// forget's; a kept order's, its fetch's), and an Add is refused under an
// entry with a later stamp. So neither a fetch that began before a forget
// nor one that began before the fetch that is kept now replaces what a
// later one found. A forget evicted while fetches from before it may still
// run raises the floor under which no Add is taken.
type Local struct {
	lru *lru.Cache[uint64, entry]
	ttl time.Duration
	now func() time.Time

	mu        sync.Mutex // orders Add against Forget
	forgotten uint64     // how many forgets there have been: each one's stamp
	floor     uint64     // the latest evicted forget's stamp
}

type entry struct {
	o       *order.Order // nil: forgotten
	stamp   uint64
	expires time.Time
}

// NewLocal returns a process-local backend.
func NewLocal(cfg Config) *Local {
	if cfg.Size <= 0 {
		cfg.Size = DefaultConfig().Size
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l := &Local{ttl: cfg.TTL, now: cfg.Now}
	// The callback runs inside lru.Add and lru.Remove, which run under mu.
	l.lru, _ = lru.NewWithEvict(cfg.Size, func(_ uint64, e entry) { // only fails for a size below 1
		if e.o == nil && l.now().Before(e.expires) {
			l.floor = max(l.floor, e.stamp)
		}
	})
	return l
}

func (l *Local) Get(_ context.Context, id uint64) (*order.Order, string, bool) {
	if e, ok := l.lru.Get(id); ok && e.o != nil && l.now().Before(e.expires) {
		return e.o, "", true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return nil, strconv.FormatUint(l.forgotten, 10), false
}

func (l *Local) Add(_ context.Context, id uint64, o *order.Order, stamp string) {
	began, _ := strconv.ParseUint(stamp, 10, 64) // "": before any forget
	l.mu.Lock()
	defer l.mu.Unlock()
	if began < l.floor {
		return // a forget since it began may have been evicted
	}
	if e, ok := l.lru.Peek(id); ok && e.stamp > began && l.now().Before(e.expires) {
		return // forgotten, or fetched by a later fetch, after this one began
	}
	l.lru.Add(id, entry{o: o, stamp: began, expires: l.now().Add(l.ttl)})
}

// ForgetAll drops every order; fetches that began before are refused.
func (l *Local) ForgetAll(context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forgotten++
	l.floor = l.forgotten
	l.lru.Purge()
}

func (l *Local) Forget(_ context.Context, id uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forgotten++
	l.lru.Add(id, entry{stamp: l.forgotten, expires: l.now().Add(ForgetFor(l.ttl))})
}

// Starting is a Source over a process-local backend and a next that starts
// fetches without a goroutine of its own (order.Starter, coalescing): its
// lookups never wait, so it starts fetches that way too, and a request
// naming many orders holds no goroutine per order (package loader).
type Starting struct {
	*Source
	next order.Starter
}

var _ order.Starter = (*Starting)(nil)

// NewStarting wraps next with a process-local backend.
func NewStarting(next order.Starter, backend *Local, m *metrics.Metrics) *Starting {
	return &Starting{Source: New(next, backend, m), next: next}
}

// Start answers a kept order at once, or starts next's fetch, whose order
// is kept when it is read.
func (s *Starting) Start(ctx context.Context, id uint64, ready func()) order.Fetch {
	o, stamp, ok := s.backend.Get(ctx, id)
	if ok {
		s.metrics.CacheHit()
		ready()
		return kept{o}
	}
	return &keeping{Fetch: s.next.Start(ctx, id, ready), s: s.Source, id: id, stamp: stamp}
}

type kept struct{ o *order.Order }

func (k kept) Result() (*order.Order, error) { return k.o, nil }
func (kept) Leave()                          {}

// keeping is next's fetch of id, begun after a lookup gave stamp.
type keeping struct {
	order.Fetch
	s     *Source
	id    uint64
	stamp string
}

func (k *keeping) Result() (*order.Order, error) {
	o, err := k.Fetch.Result()
	if err == nil {
		k.s.backend.Add(context.Background(), k.id, o, k.stamp) // a Local's Add does not wait
	}
	return o, err
}
