package events

import (
	"testing"

	"github.com/ordergraph/ordergraph/internal/order"
)

const benchSubscribers = 1000

// BenchmarkPublish is one event to 1000 subscribers that keep up: the
// bus's cost per event, its order's fetch included.
func BenchmarkPublish(b *testing.B) {
	bus := NewBus(&countingSource{}, Config{MaxPerClient: benchSubscribers})
	defer bus.Close()
	subs := make([]*Subscription, benchSubscribers)
	for i := range subs {
		subs[i], _ = bus.Subscribe("c", 1)
	}
	b.ReportAllocs()
	for b.Loop() {
		bus.Publish(order.Event{Kind: order.EventPaid, OrderID: 1})
		for _, s := range subs {
			<-s.Events()
		}
	}
}

// BenchmarkPublishFloor is the same fan-out as bare channel sends: the
// floor of the ratio.
func BenchmarkPublishFloor(b *testing.B) {
	chans := make([]chan *Delivery, benchSubscribers)
	for i := range chans {
		chans[i] = make(chan *Delivery, 1)
	}
	b.ReportAllocs()
	for b.Loop() {
		d := &Delivery{Event: order.Event{Kind: order.EventPaid, OrderID: 1}}
		for _, c := range chans {
			select {
			case c <- d:
			default:
			}
		}
		for _, c := range chans {
			<-c
		}
	}
}
