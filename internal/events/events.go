// Package events hands order events to the subscribers of one process: a
// bus that fetches each published event's order once, before any
// subscriber sees the event, then delivers it to every subscriber with
// room for it, and ends the subscription of one that does not keep up (it
// never waits for it).
package events

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ordergraph/ordergraph/internal/metrics"
	"github.com/ordergraph/ordergraph/internal/order"
)

// Errors of a subscription.
var (
	// ErrTooSlow ends the subscription of a subscriber whose buffer is full.
	ErrTooSlow = errors.New("events: the subscriber did not keep up")
	// ErrTooMany refuses a subscription over a client's cap.
	ErrTooMany = errors.New("events: too many subscriptions for this client")
	// ErrClosed refuses a subscription to a closed bus: the server is
	// shutting down, or has just forgotten the shop the bus was for.
	ErrClosed = errors.New("events: the bus is closed")
)

// fetchTimeout bounds the fetch of an event's order, which runs detached
// from any one subscriber.
const fetchTimeout = 30 * time.Second

// Delivery is an event as subscribers receive it, with its order fetched.
type Delivery struct {
	order.Event

	fetched chan struct{} // closed once order and err are set
	order   *order.Order
	err     error
}

// Order is the order after the change, fetched by the bus before the
// event reached any subscriber and shared by all of them: reading it never
// waits for WeChat.
func (d *Delivery) Order(context.Context) (*order.Order, error) {
	return d.order, d.err
}

// Config tunes the bus.
type Config struct {
	// MaxPerClient caps one client's open subscriptions
	// (MAX_SUBSCRIPTIONS_PER_CLIENT): a dashboard with a few tabs fits.
	MaxPerClient int
	// Fetchers bounds the order fetches in flight: a burst of events costs
	// WeChat calls at this pace, not all at once.
	Fetchers int
	// Backlog is how many events may wait for their fetch; an event
	// published beyond it is not delivered (and logged).
	Backlog int

	Metrics *metrics.Metrics
	Logger  *slog.Logger
}

// DefaultConfig is the bus's configuration unless told otherwise.
func DefaultConfig() Config { return Config{MaxPerClient: 16, Fetchers: 8, Backlog: 1024} }

// Bus is the process's event bus. Events go through it in the order they
// were published: up to Fetchers of them have their orders fetched at
// once, and each is delivered once its own and every earlier fetch ended.
type Bus struct {
	source       order.Source
	maxPerClient int
	metrics      *metrics.Metrics
	log          *slog.Logger

	pending chan *Delivery // published, waiting for a fetcher
	fetches chan *Delivery // being fetched, in publish order
	slots   chan struct{}  // one per fetch in flight
	ctx     context.Context
	stop    context.CancelFunc
	running sync.WaitGroup

	mu       sync.Mutex
	subs     map[*Subscription]struct{}
	byClient map[string]int
	closed   bool
	lost     int // events not delivered since the backlog last had room
}

// NewBus returns a bus whose events fetch their orders from source; Close
// stops it.
func NewBus(source order.Source, cfg Config) *Bus {
	def := DefaultConfig()
	if cfg.Fetchers <= 0 {
		cfg.Fetchers = def.Fetchers
	}
	if cfg.Backlog <= 0 {
		cfg.Backlog = def.Backlog
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, stop := context.WithCancel(context.Background())
	b := &Bus{source: source, maxPerClient: cfg.MaxPerClient, metrics: cfg.Metrics, log: cfg.Logger,
		pending: make(chan *Delivery, cfg.Backlog), fetches: make(chan *Delivery, cfg.Fetchers), slots: make(chan struct{}, cfg.Fetchers),
		ctx: ctx, stop: stop, subs: map[*Subscription]struct{}{}, byClient: map[string]int{}}
	b.running.Add(2)
	go b.dispatch()
	go b.deliver()
	return b
}

// Subscription is one subscriber's stream of deliveries.
type Subscription struct {
	client string
	ch     chan *Delivery
	done   chan struct{}
	err    error
}

// Events is the stream; it is closed when the subscription ends.
func (s *Subscription) Events() <-chan *Delivery { return s.ch }

// Done is closed when the subscription ends, even while deliveries are
// still buffered: a subscriber that was dropped stops at once.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err says why the subscription ended: ErrTooSlow, or nil when the
// subscriber or the bus ended it. Read it after Done or Events closed.
func (s *Subscription) Err() error { return s.err }

// Subscribe adds a subscriber of client (whatever names it for the cap)
// with room for buffer deliveries.
func (b *Bus) Subscribe(client string, buffer int) (*Subscription, error) {
	s := &Subscription{client: client, ch: make(chan *Delivery, buffer), done: make(chan struct{})}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return nil, ErrClosed
	case b.byClient[client] >= b.maxPerClient:
		return nil, ErrTooMany
	default:
		b.subs[s] = struct{}{}
		b.byClient[client]++
	}
	return s, nil
}

// Unsubscribe ends s; ending it twice is harmless.
func (b *Bus) Unsubscribe(s *Subscription) { b.end(s, nil) }

func (b *Bus) end(s *Subscription, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.endLocked(s, err)
}

func (b *Bus) endLocked(s *Subscription, err error) {
	if _, ok := b.subs[s]; !ok {
		return
	}
	delete(b.subs, s)
	if b.byClient[s.client]--; b.byClient[s.client] == 0 {
		delete(b.byClient, s.client)
	}
	s.err = err // before the closes, which publish it to the reader
	close(s.done)
	close(s.ch)
}

// Publish hands ev to the bus, which fetches its order and then delivers
// it. It never blocks: with Backlog events already waiting, ev is not
// delivered, and the first such event of a run is logged. With nobody
// subscribed there is nothing to do.
func (b *Bus) Publish(ev order.Event) {
	d := &Delivery{Event: ev, fetched: make(chan struct{})}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || len(b.subs) == 0 {
		return
	}
	select {
	case b.pending <- d:
		if b.lost > 0 {
			b.log.Warn("order events: the backlog has room again", slog.Int("events_not_delivered", b.lost))
			b.lost = 0
		}
	default:
		if b.lost++; b.lost == 1 {
			b.log.Warn("order events: more events wait for their orders than the backlog holds; events are not delivered until it drains",
				slog.Int("backlog", cap(b.pending)), slog.String("order_id", strconv.FormatUint(ev.OrderID, 10)))
		}
	}
}

// dispatch starts the fetch of each pending event as a fetcher frees up
// (taking it off the backlog only then), and queues it for delivery in
// publish order. An event that finds no subscriber is dropped unfetched:
// nobody would see its order.
func (b *Bus) dispatch() {
	defer b.running.Done()
	for {
		select {
		case <-b.ctx.Done():
			return
		case b.slots <- struct{}{}:
		}
		var d *Delivery
		select {
		case <-b.ctx.Done():
			return
		case d = <-b.pending:
		}
		if b.Subscribers() == 0 {
			<-b.slots
			continue
		}
		b.running.Add(1)
		go b.fetch(d)
		select {
		case <-b.ctx.Done():
			return
		case b.fetches <- d:
		}
	}
}

func (b *Bus) fetch(d *Delivery) {
	defer b.running.Done()
	defer func() { <-b.slots }()
	ctx, cancel := context.WithTimeout(b.ctx, fetchTimeout)
	defer cancel()
	d.order, d.err = b.source.Order(ctx, d.OrderID)
	close(d.fetched)
}

// deliver fans each event out once its order is fetched.
func (b *Bus) deliver() {
	defer b.running.Done()
	for {
		var d *Delivery
		select {
		case <-b.ctx.Done():
			return
		case d = <-b.fetches:
		}
		select {
		case <-b.ctx.Done():
			return
		case <-d.fetched:
		}
		delivered, dropped, open := b.fanOut(d)
		b.metrics.Published(delivered, dropped, open)
		if dropped > 0 {
			b.log.Info("order event: slow subscribers dropped", slog.String("order_id", strconv.FormatUint(d.OrderID, 10)),
				slog.Int("subscribers", delivered), slog.Int("slow_subscribers_dropped", dropped))
		}
	}
}

// fanOut gives d to every subscriber that has room, and ends the
// subscription of every one that has none.
func (b *Bus) fanOut(d *Delivery) (delivered, dropped, open int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		select {
		case s.ch <- d:
			delivered++
		default:
			b.endLocked(s, ErrTooSlow)
			dropped++
		}
	}
	return delivered, dropped, len(b.subs)
}

// Subscribers is how many subscriptions are open.
func (b *Bus) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// Close ends every subscription, refuses new ones and stops the bus, once
// its fetches in flight have returned: at shutdown, streams end before the
// HTTP drain waits for them. Closing it again is harmless.
func (b *Bus) Close() {
	b.mu.Lock()
	b.closed = true
	for s := range b.subs {
		b.endLocked(s, nil)
	}
	b.mu.Unlock()
	b.stop()
	b.running.Wait()
}
