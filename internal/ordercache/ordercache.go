// Package ordercache is an optional short-lived cache of fetched orders, for
// dashboards that poll the same orders over and over. It trades freshness for
// upstream quota: an order changed upstream is served stale for up to the
// TTL. Only successes are cached; a missing order is asked for again, so a
// new order shows up at once.
package ordercache

import (
	"context"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

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

// Local is a Backend in process memory: at most size orders, each for ttl.
type Local struct {
	lru *expirable.LRU[uint64, *order.Order]
}

// NewLocal returns a process-local backend.
func NewLocal(ttl time.Duration, size int) Local {
	return Local{expirable.NewLRU[uint64, *order.Order](size, nil, ttl)}
}

func (l Local) Get(_ context.Context, id uint64) (*order.Order, bool) { return l.lru.Get(id) }
func (l Local) Add(_ context.Context, id uint64, o *order.Order)      { l.lru.Add(id, o) }
