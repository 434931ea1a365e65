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

// ErrTooSlow ends the subscription of a subscriber whose buffer is full.
var ErrTooSlow = errors.New("events: the subscriber did not keep up")

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

// Bus is the process's event bus.
type Bus struct {
	source order.Source

	mu     sync.Mutex
	subs   map[*Subscription]struct{}
	closed bool
}

// NewBus returns a bus whose events fetch their orders from source.
func NewBus(source order.Source) *Bus {
	return &Bus{source: source, subs: map[*Subscription]struct{}{}}
}

// Subscription is one subscriber's stream of deliveries.
type Subscription struct {
	ch   chan *Delivery
	done chan struct{}
	err  error
}

// Events is the stream; it is closed when the subscription ends.
func (s *Subscription) Events() <-chan *Delivery { return s.ch }

// Done is closed when the subscription ends, even while deliveries are
// still buffered: a subscriber that was dropped stops at once.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err says why the subscription ended: ErrTooSlow, or nil when the
// subscriber or the bus ended it. Read it after Done or Events closed.
func (s *Subscription) Err() error { return s.err }

// Subscribe adds a subscriber with room for buffer deliveries.
func (b *Bus) Subscribe(buffer int) *Subscription {
	s := &Subscription{ch: make(chan *Delivery, buffer), done: make(chan struct{})}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		close(s.ch)
		close(s.done)
		return s
	}
	b.subs[s] = struct{}{}
	return s
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
