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

// Source is an order.Source that remembers orders for a TTL.
type Source struct {
	next    order.Source
	cache   *expirable.LRU[uint64, *order.Order]
	metrics *metrics.Metrics
}

// New wraps next with a cache of at most size orders, each kept for ttl.
func New(next order.Source, ttl time.Duration, size int, m *metrics.Metrics) *Source {
	return &Source{next: next, cache: expirable.NewLRU[uint64, *order.Order](size, nil, ttl), metrics: m}
}

// Order returns the cached order or fetches and caches it.
func (s *Source) Order(ctx context.Context, id uint64) (*order.Order, error) {
	if o, ok := s.cache.Get(id); ok {
		s.metrics.CacheHit()
		return o, nil
	}
	o, err := s.next.Order(ctx, id)
	if err == nil {
		s.cache.Add(id, o)
	}
	return o, err
}
