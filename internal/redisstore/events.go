package redisstore

import (
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ordergraph/ordergraph/internal/order"
)

// EventFanout carries order events to every replica through Redis pub/sub:
// the replica WeChat posts an event to publishes it, and every replica,
// itself included, delivers it to its own subscribers. One channel carries
// the events of every shop of the namespace, each message naming its shop,
// so that a process holds one subscription however many shops it serves.
// Delivery is at most once, like the in-process bus: a replica that is not
// subscribed when an event passes misses it (no replay is promised to
// clients). While Redis is unreachable each replica delivers what it
// receives itself; the outage and the recovery are logged once each.
type EventFanout struct {
	s       *Store
	channel string
	pubsub  *redis.PubSub
	deliver func(shop string, ev order.Event)
	log     *slog.Logger
	done    chan struct{}
	outage
}

// wireEvent is an event on the channel; the id is text, so that it stays
// exact in any client of the channel. Shop is the shop's appid, "" for a
// server of one shop.
type wireEvent struct {
	Shop    string          `json:"shop"`
	Kind    order.EventKind `json:"kind"`
	OrderID uint64          `json:"order_id,string"`
	At      int64           `json:"at"`
	Key     string          `json:"key"`
}

// shopPattern is what a message's shop may be: none, or an appid. Anything
// else did not come from a Publisher and is dropped.
var shopPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{0,32}$`)

// Events subscribes this process to the fleet's events, handing each to
// deliver with its shop, and returns once the subscription stands (or
// Redis has been found away: go-redis then resubscribes when it returns).
// It is the root store's: on a shop's view it subscribes to the same
// channel, so call it once a process. deliver drops the events of shops
// it does not serve.
func (s *Store) Events(deliver func(shop string, ev order.Event), log *slog.Logger) *EventFanout {
	f := &EventFanout{s: s, channel: prefixOf(s.namespace) + "events", deliver: deliver, log: log, done: make(chan struct{}),
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
		if err := json.Unmarshal([]byte(msg.Payload), &w); err != nil || w.OrderID == 0 || !shopPattern.MatchString(w.Shop) {
			f.log.Warn("events: an unreadable event on the Redis channel was dropped")
			continue
		}
		f.deliver(w.Shop, order.Event{Kind: w.Kind, OrderID: w.OrderID, At: time.Unix(w.At, 0), Key: w.Key})
	}
}

// Publisher publishes the events of shop ("" for a server of one shop; else
// an appid, validated by the caller: Publisher panics on anything else, a
// programming error, since no replica would deliver it).
func (f *EventFanout) Publisher(shop string) interface{ Publish(order.Event) } {
	if !shopPattern.MatchString(shop) {
		panic("redisstore: Publisher for shop " + shop + ", not an appid")
	}
	return shopPublisher{f: f, shop: shop}
}

type shopPublisher struct {
	f    *EventFanout
	shop string
}

// Publish sends ev to every replica, or, with Redis away, delivers it here.
func (p shopPublisher) Publish(ev order.Event) {
	b, _ := json.Marshal(wireEvent{Shop: p.shop, Kind: ev.Kind, OrderID: ev.OrderID, At: ev.At.Unix(), Key: ev.Key})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := p.f.s.rdb.Publish(ctx, p.f.channel, b).Err(); err != nil {
		p.f.failed(err)
		p.f.deliver(p.shop, ev)
		return
	}
	p.f.answered()
}

// Close ends the subscription.
func (f *EventFanout) Close() {
	_ = f.pubsub.Close()
	<-f.done
}
