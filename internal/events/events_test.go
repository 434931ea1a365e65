package events

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
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

// gatedSource answers a fetch only when the test releases it, and records
// how many fetches were in flight at most.
type gatedSource struct {
	release  chan struct{}
	inFlight atomic.Int64
	most     atomic.Int64
	started  chan uint64
}

func newGatedSource() *gatedSource {
	return &gatedSource{release: make(chan struct{}), started: make(chan uint64, 100)}
}

func (g *gatedSource) Order(ctx context.Context, id uint64) (*order.Order, error) {
	n := g.inFlight.Add(1)
	defer g.inFlight.Add(-1)
	for m := g.most.Load(); n > m && !g.most.CompareAndSwap(m, n); m = g.most.Load() {
	}
	g.started <- id
	select {
	case <-g.release:
		return &order.Order{ID: id}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func newBus(t *testing.T, src order.Source, cfg Config) *Bus {
	t.Helper()
	b := NewBus(src, cfg)
	t.Cleanup(b.Close)
	return b
}

// Every subscriber gets every event; the order is fetched once per event
// however many subscribers read it, concurrently.
func TestEveryoneGetsItOrderFetchedOnce(t *testing.T) {
	src := &countingSource{}
	b := newBus(t, src, DefaultConfig())
	subs := []*Subscription{subscribe(t, b, "a", 4), subscribe(t, b, "b", 4), subscribe(t, b, "a", 4)}
	b.Publish(order.Event{Kind: order.EventPaid, OrderID: 9223372036854775807})
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

// An event reaches subscribers only once its order is fetched: reading it
// never waits for the upstream. Fetches run at most Fetchers at a time,
// and events arrive in the order they were published, however their
// fetches end.
func TestOrdersAreFetchedBeforeFanOut(t *testing.T) {
	src := newGatedSource()
	b := newBus(t, src, Config{MaxPerClient: 1, Fetchers: 3, Backlog: 32})
	s := subscribe(t, b, "a", 32)
	for i := range 10 {
		b.Publish(order.Event{OrderID: uint64(i + 1)})
	}
	for range 3 {
		<-src.started
	}
	select {
	case d := <-s.Events():
		t.Fatalf("event %d delivered before its order was fetched", d.OrderID)
	case id := <-src.started:
		t.Fatalf("a fourth fetch (order %d) started with 3 in flight", id)
	default:
	}
	close(src.release)
	var got []uint64
	for range 10 {
		d := <-s.Events()
		if o, err := d.Order(context.Background()); err != nil || o.ID != d.OrderID {
			t.Fatalf("event %d: order %+v, %v", d.OrderID, o, err)
		}
		got = append(got, d.OrderID)
	}
	if !slices.Equal(got, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}) || src.most.Load() > 3 {
		t.Fatalf("delivered %v with %d fetches at once", got, src.most.Load())
	}
}

// With nobody subscribed, an event costs no upstream call.
func TestNoSubscriberNoFetch(t *testing.T) {
	src := &countingSource{}
	b := newBus(t, src, DefaultConfig())
	b.Publish(order.Event{OrderID: 1})
	s := subscribe(t, b, "a", 1)
	b.Publish(order.Event{OrderID: 2})
	if d := <-s.Events(); d.OrderID != 2 || src.calls.Load() != 1 {
		t.Fatalf("got event %d after %d fetches", d.OrderID, src.calls.Load())
	}
}

// Events published while the backlog is full are not delivered; the run
// is logged once when it starts and once when it ends, with its count.
func TestBacklogOverflowIsLoggedOnce(t *testing.T) {
	src := newGatedSource()
	var logs bytes.Buffer
	b := newBus(t, src, Config{MaxPerClient: 1, Fetchers: 1, Backlog: 2, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	s := subscribe(t, b, "a", 16)
	b.Publish(order.Event{OrderID: 1})
	<-src.started // 1 takes the only fetcher; 2 and 3 fill the backlog
	for i := range 7 {
		b.Publish(order.Event{OrderID: uint64(i + 2)})
	}
	if n := strings.Count(logs.String(), "backlog holds"); n != 1 {
		t.Fatalf("the overflow was logged %d times:\n%s", n, logs.String())
	}
	close(src.release)
	for _, want := range []uint64{1, 2, 3} {
		if d := <-s.Events(); d.OrderID != want {
			t.Fatalf("got %d, want %d", d.OrderID, want)
		}
	}
	b.Publish(order.Event{OrderID: 100})
	if d := <-s.Events(); d.OrderID != 100 || !strings.Contains(logs.String(), "events_not_delivered=5") {
		t.Fatalf("after the overflow: event %d, logs:\n%s", d.OrderID, logs.String())
	}
}

// forgetThenFetch records what Local and the bus do to an order, in order.
type forgetThenFetch struct {
	mu    sync.Mutex
	steps []string
}

func (f *forgetThenFetch) step(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.steps = append(f.steps, s)
}

func (f *forgetThenFetch) Forget(context.Context, uint64) { f.step("forget") }

func (f *forgetThenFetch) Order(_ context.Context, id uint64) (*order.Order, error) {
	f.step("fetch")
	return &order.Order{ID: id}, nil
}

// Local forgets the order, then the bus fetches it, then subscribers get
// it: what they see is the order after the change.
func TestLocalForgetsThenFetchesThenDelivers(t *testing.T) {
	rec := &forgetThenFetch{}
	b := newBus(t, rec, DefaultConfig())
	s := subscribe(t, b, "a", 1)
	Local{Bus: b, Forget: rec, Logger: slog.New(slog.DiscardHandler)}.Publish(order.Event{OrderID: 7})
	<-s.Events()
	rec.step("deliver")
	if !slices.Equal(rec.steps, []string{"forget", "fetch", "deliver"}) {
		t.Fatalf("steps %v", rec.steps)
	}
}

// A subscriber that does not keep up is ended with ErrTooSlow; the others
// keep getting events and Publish never waits.
func TestSlowSubscriberIsDropped(t *testing.T) {
	b := newBus(t, &countingSource{}, DefaultConfig())
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

// Close ends every stream without an error and refuses new ones; a fetch
// in flight is cancelled, and Close returns once it has.
func TestCloseEndsStreams(t *testing.T) {
	src := newGatedSource()
	b := NewBus(src, DefaultConfig())
	s := subscribe(t, b, "a", 1)
	b.Publish(order.Event{OrderID: 1})
	<-src.started
	b.Close()
	if _, open := <-s.Events(); open || s.Err() != nil {
		t.Fatal("a stream survived Close")
	}
	if n := src.inFlight.Load(); n != 0 {
		t.Fatalf("%d fetches outlived Close", n)
	}
	if _, err := b.Subscribe("a", 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("a subscription after Close: %v", err)
	}
	b.Publish(order.Event{OrderID: 2}) // dropped
	b.Unsubscribe(s)                   // harmless
	b.Close()                          // harmless
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
	b := newBus(t, &countingSource{}, Config{MaxPerClient: 2})
	first := subscribe(t, b, "a", 1)
	subscribe(t, b, "a", 1)
	if _, err := b.Subscribe("a", 1); !errors.Is(err, ErrTooMany) {
		t.Fatalf("a third subscription: %v", err)
	}
	subscribe(t, b, "b", 1)
	b.Unsubscribe(first)
	subscribe(t, b, "a", 1)
}
