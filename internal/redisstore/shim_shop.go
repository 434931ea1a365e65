package redisstore

// TEMPORARY: replaced by the cluster branch (hash tags, one fan-out per process).

import (
	"log/slog"

	"github.com/ordergraph/ordergraph/internal/order"
)

// Shop is s for one shop's keys.
func (s *Store) Shop(appid string) *Store {
	return &Store{rdb: s.rdb, prefix: s.prefix + "shop:" + appid + ":"}
}

// ShopEvents is Events keyed by shop.
func (s *Store) ShopEvents(deliver func(shop string, ev order.Event), log *slog.Logger) *ShimFanout {
	return &ShimFanout{f: s.Events(func(ev order.Event) { deliver("", ev) }, log)}
}

type ShimFanout struct{ f *EventFanout }

func (f *ShimFanout) Publisher(shop string) interface{ Publish(order.Event) } { return f.f }
func (f *ShimFanout) Close()                                                  { f.f.Close() }
