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
	b := NewBus(src)
	subs := []*Subscription{b.Subscribe(4), b.Subscribe(4), b.Subscribe(4)}
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
	b := NewBus(&countingSource{})
	slow, fast := b.Subscribe(2), b.Subscribe(8)
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
	b := NewBus(&countingSource{})
	s := b.Subscribe(1)
	b.Close()
	if _, open := <-s.Events(); open || s.Err() != nil {
		t.Fatal("a stream survived Close")
	}
	if _, open := <-b.Subscribe(1).Events(); open {
		t.Fatal("a subscription after Close is open")
	}
	b.Unsubscribe(s) // harmless
}
