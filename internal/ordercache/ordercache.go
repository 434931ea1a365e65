// Package ordercache is an optional short-lived cache of fetched orders, for
// dashboards that poll the same orders over and over. It trades freshness for
// upstream quota: an order changed upstream is served stale for up to the
// TTL. Only successes are cached; a missing order is asked for again, so a
// new order shows up at once.
package ordercache

import (
	"context"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/ordergraph/ordergraph/internal/metrics"
	"github.com/ordergraph/ordergraph/internal/order"
)

// Backend holds the cached orders: in process memory (Local), or shared by
// all replicas (redisstore.OrderCache). Entries expire by themselves.
type Backend interface {
	Get(ctx context.Context, id uint64) (*order.Order, bool)
	Add(ctx context.Context, id uint64, o *order.Order)
}

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
	if o, ok := s.backend.Get(ctx, id); ok {
		s.metrics.CacheHit()
		return o, nil
	}
	o, err := s.next.Order(ctx, id)
	if err == nil {
		s.backend.Add(ctx, id, o)
	}
	return o, err
}

// Config is the cache's configuration (ORDER_CACHE_TTL, ORDER_CACHE_SIZE).
type Config struct {
	// TTL is how long an order is served from the cache; 0 switches it off.
	TTL time.Duration
	// Size is how many orders a process-local cache holds at most.
	Size int
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// DefaultConfig is the cache's configuration unless told otherwise: off.
func DefaultConfig() Config { return Config{TTL: 0, Size: 10000} }

// Local is a Backend in process memory: at most Size orders, each for TTL,
// the least recently used going first.
type Local struct {
	lru *lru.Cache[uint64, entry]
	ttl time.Duration
	now func() time.Time
}

type entry struct {
	o       *order.Order
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
	c, _ := lru.New[uint64, entry](cfg.Size) // only fails for a size below 1
	return &Local{lru: c, ttl: cfg.TTL, now: cfg.Now}
}

func (l *Local) Get(_ context.Context, id uint64) (*order.Order, bool) {
	e, ok := l.lru.Get(id)
	if !ok {
		return nil, false
	}
	if !l.now().Before(e.expires) {
		l.lru.Remove(id)
		return nil, false
	}
	return e.o, true
}

func (l *Local) Add(_ context.Context, id uint64, o *order.Order) {
	l.lru.Add(id, entry{o: o, expires: l.now().Add(l.ttl)})
}
