package events

import (
	"context"
	"log/slog"
	"strconv"

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
// fetch in flight), so that the order the bus then fetches, and
// subscribers are shown, is the order after the change; it does so on
// every replica, since each runs its own Local.
type Local struct {
	Bus    *Bus
	Forget order.Forgetter // nil: nothing is held
	Logger *slog.Logger
}

// Publish forgets, logs and hands ev to the bus.
func (l Local) Publish(ev order.Event) {
	if l.Forget != nil {
		l.Forget.Forget(context.Background(), ev.OrderID)
	}
	l.Logger.Info("order event", slog.String("kind", string(ev.Kind)), slog.String("order_id", strconv.FormatUint(ev.OrderID, 10)), slog.Time("at", ev.At))
	l.Bus.Publish(ev)
}

// ForgetFirst forgets an event's order in this process before handing the
// event on through Next (the fan-out through Redis): the caches kept in
// Redis have dropped it before the push that told of it is answered,
// rather than once the fan-out has come back.
type ForgetFirst struct {
	Forget order.Forgetter
	Next   Publisher
}

func (f ForgetFirst) Publish(ev order.Event) {
	f.Forget.Forget(context.Background(), ev.OrderID)
	f.Next.Publish(ev)
}
