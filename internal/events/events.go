// Package events hands order events to the subscribers of one process: a
// bus that delivers each published event to every subscriber with room for
// it, ends the subscription of one that does not keep up (it never waits
// for it), and fetches the order of each event once, however many
// subscribers receive it.
package events

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ordergraph/ordergraph/internal/order"
)

// Errors of a subscription.
var (
	// ErrTooSlow ends the subscription of a subscriber whose buffer is full.
	ErrTooSlow = errors.New("events: the subscriber did not keep up")
	// ErrTooMany refuses a subscription over a client's cap.
	ErrTooMany = errors.New("events: too many subscriptions for this client")
)

// fetchTimeout bounds the fetch of an event's order, which runs detached
// from any one subscriber.
const fetchTimeout = 30 * time.Second

// Delivery is an event as subscribers receive it.
type Delivery struct {
	order.Event

	source order.Source
	once   sync.Once
	order  *order.Order
	err    error
}

// Order is the order after the change, fetched on first use and shared by
// every subscriber of this process. The fetch does not end with the
// context of the subscriber that started it.
func (d *Delivery) Order(ctx context.Context) (*order.Order, error) {
	d.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		d.order, d.err = d.source.Order(ctx, d.OrderID)
	})
	return d.order, d.err
}

// Config tunes the bus.
type Config struct {
	// MaxPerClient caps one client's open subscriptions
	// (MAX_SUBSCRIPTIONS_PER_CLIENT): a dashboard with a few tabs fits.
	MaxPerClient int
}

// DefaultConfig is the bus's configuration unless told otherwise.
func DefaultConfig() Config { return Config{MaxPerClient: 16} }

// Bus is the process's event bus.
type Bus struct {
	source       order.Source
	maxPerClient int

	mu       sync.Mutex
	subs     map[*Subscription]struct{}
	byClient map[string]int
	closed   bool
}

// NewBus returns a bus whose events fetch their orders from source.
func NewBus(source order.Source, cfg Config) *Bus {
	return &Bus{source: source, maxPerClient: cfg.MaxPerClient, subs: map[*Subscription]struct{}{}, byClient: map[string]int{}}
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
		close(s.ch)
		close(s.done)
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

// Publish delivers ev to every subscriber that has room, and ends the
// subscription of every one that has none. It never blocks; it returns
// how many subscribers got the event and how many were dropped.
func (b *Bus) Publish(ev order.Event) (delivered, dropped int) {
	d := &Delivery{Event: ev, source: b.source}
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
	return delivered, dropped
}

// Subscribers is how many subscriptions are open.
func (b *Bus) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// Close ends every subscription and refuses new ones: at shutdown, streams
// end before the HTTP drain waits for them.
func (b *Bus) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for s := range b.subs {
		b.endLocked(s, nil)
	}
}
