package redisstore

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ordergraph/ordergraph/internal/order"
)

// EventFanout carries order events to every replica through Redis pub/sub:
// the replica WeChat posts an event to publishes it, and every replica,
// itself included, delivers it to its own subscribers. Delivery is at most
// once, like the in-process bus: a replica that is not subscribed when an
// event passes misses it (no replay is promised to clients). While Redis is
// unreachable each replica delivers what it receives itself; the outage and
// the recovery are logged once each.
type EventFanout struct {
	s       *Store
	channel string
	pubsub  *redis.PubSub
	deliver func(order.Event)
	log     *slog.Logger
	done    chan struct{}
	outage
}

// wireEvent is an event on the channel; the id is text, so that it stays
// exact in any client of the channel.
type wireEvent struct {
	Kind    order.EventKind `json:"kind"`
	OrderID uint64          `json:"order_id,string"`
	At      int64           `json:"at"`
	Key     string          `json:"key"`
}

// Events subscribes this replica to the fleet's events, handing each to
// deliver, and returns once the subscription stands (or Redis has been
// found away: go-redis then resubscribes when it returns).
func (s *Store) Events(deliver func(order.Event), log *slog.Logger) *EventFanout {
	f := &EventFanout{s: s, channel: s.key("events"), deliver: deliver, log: log, done: make(chan struct{}),
		outage: outage{what: "events", fallback: "each replica delivers the events posted to it alone until it returns", log: log}}
	f.pubsub = s.rdb.Subscribe(context.Background(), f.channel)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := f.pubsub.Receive(ctx); err != nil {
		f.failed(err)
	}
	go f.run()
	return f
}

func (f *EventFanout) run() {
	defer close(f.done)
	for msg := range f.pubsub.Channel() {
		var w wireEvent
		if err := json.Unmarshal([]byte(msg.Payload), &w); err != nil || w.OrderID == 0 {
			f.log.Warn("events: an unreadable event on the Redis channel was dropped")
			continue
		}
		f.deliver(order.Event{Kind: w.Kind, OrderID: w.OrderID, At: time.Unix(w.At, 0), Key: w.Key})
	}
}

// Publish sends ev to every replica, or, with Redis away, delivers it here.
func (f *EventFanout) Publish(ev order.Event) {
	b, _ := json.Marshal(wireEvent{Kind: ev.Kind, OrderID: ev.OrderID, At: ev.At.Unix(), Key: ev.Key})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := f.s.rdb.Publish(ctx, f.channel, b).Err(); err != nil {
		f.failed(err)
		f.deliver(ev)
		return
	}
	f.answered()
}

// Close ends the subscription.
func (f *EventFanout) Close() {
	_ = f.pubsub.Close()
	<-f.done
}
