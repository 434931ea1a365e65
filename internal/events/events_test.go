package events

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ordergraph/ordergraph/internal/order"
)

type countingSource struct{ calls atomic.Int64 }

func (c *countingSource) Order(_ context.Context, id uint64) (*order.Order, error) {
	c.calls.Add(1)
	return &order.Order{ID: id}, nil
}

// Every subscriber gets every event; the order is fetched once per event
// however many subscribers read it, concurrently.
func TestEveryoneGetsItOrderFetchedOnce(t *testing.T) {
	src := &countingSource{}
	b := NewBus(src, DefaultConfig())
	subs := []*Subscription{subscribe(t, b, "a", 4), subscribe(t, b, "b", 4), subscribe(t, b, "a", 4)}
	if got, dropped := b.Publish(order.Event{Kind: order.EventPaid, OrderID: 9223372036854775807}); got != 3 || dropped != 0 {
		t.Fatalf("delivered %d, dropped %d", got, dropped)
	}
	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Go(func() {
			d := <-s.Events()
			if o, err := d.Order(t.Context()); err != nil || o.ID != 9223372036854775807 {
				t.Errorf("order %+v, %v", o, err)
			}
		})
	}
	wg.Wait()
	if n := src.calls.Load(); n != 1 {
		t.Fatalf("%d fetches for one event", n)
	}
}

// A subscriber that does not keep up is ended with ErrTooSlow; the others
// keep getting events and Publish never waits.
func TestSlowSubscriberIsDropped(t *testing.T) {
	b := NewBus(&countingSource{}, DefaultConfig())
	slow, fast := subscribe(t, b, "a", 2), subscribe(t, b, "a", 8)
	for i := range 5 {
		b.Publish(order.Event{OrderID: uint64(i + 1)})
		<-fast.Events()
	}
	var got int
	for range slow.Events() {
		got++
	}
	if got != 2 || !errors.Is(slow.Err(), ErrTooSlow) || b.Subscribers() != 1 {
		t.Fatalf("slow got %d, err %v, %d subscribers left", got, slow.Err(), b.Subscribers())
	}
}

// Close ends every stream without an error and refuses new ones.
func TestCloseEndsStreams(t *testing.T) {
	b := NewBus(&countingSource{}, DefaultConfig())
	s := subscribe(t, b, "a", 1)
	b.Close()
	if _, open := <-s.Events(); open || s.Err() != nil {
		t.Fatal("a stream survived Close")
	}
	if _, open := <-subscribe(t, b, "a", 1).Events(); open {
		t.Fatal("a subscription after Close is open")
	}
	b.Unsubscribe(s) // harmless
}

func subscribe(t *testing.T, b *Bus, client string, buffer int) *Subscription {
	t.Helper()
	s, err := b.Subscribe(client, buffer)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A client holds at most the cap; ending one frees its place.
func TestPerClientCap(t *testing.T) {
	b := NewBus(&countingSource{}, Config{MaxPerClient: 2})
	first := subscribe(t, b, "a", 1)
	subscribe(t, b, "a", 1)
	if _, err := b.Subscribe("a", 1); !errors.Is(err, ErrTooMany) {
		t.Fatalf("a third subscription: %v", err)
	}
	subscribe(t, b, "b", 1)
	b.Unsubscribe(first)
	subscribe(t, b, "a", 1)
}
