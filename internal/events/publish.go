package events

import (
	"context"
	"log/slog"
	"strconv"

	"github.com/ordergraph/ordergraph/internal/metrics"
	"github.com/ordergraph/ordergraph/internal/order"
)

// Publisher hands an order event on to subscribers: this process's
// (Local), or through Redis every replica's (redisstore.EventFanout, which
// hands each to every replica's Local).
type Publisher interface {
	Publish(order.Event)
}

// Local delivers events to this process's subscribers. Before each, the
// process forgets what it holds of the event's order (the order cache, a
// fetch in flight), so that the order subscribers are shown is fetched
// after the change; it does so on every replica, since each runs its own
// Local.
type Local struct {
	Bus     *Bus
	Forget  order.Forgetter // nil: nothing is held
	Metrics *metrics.Metrics
	Logger  *slog.Logger
}

// Publish forgets, delivers, counts and logs ev.
func (l Local) Publish(ev order.Event) {
	if l.Forget != nil {
		l.Forget.Forget(context.Background(), ev.OrderID)
	}
	delivered, dropped := l.Bus.Publish(ev)
	l.Metrics.Published(delivered, dropped, l.Bus.Subscribers())
	l.Logger.Info("order event", slog.String("kind", string(ev.Kind)), slog.String("order_id", strconv.FormatUint(ev.OrderID, 10)), slog.Time("at", ev.At),
		slog.Int("subscribers", delivered), slog.Int("slow_subscribers_dropped", dropped))
}
