package redisstore

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/redistest"
)

// delivered is what one replica's fan-out handed on.
type delivered struct {
	shop string
	ev   order.Event
}

// replica subscribes a store of its own to the events, and returns its
// fan-out and what it delivers.
func replica(t *testing.T, srv *redistest.Server, log *slog.Logger) (*EventFanout, chan delivered) {
	t.Helper()
	got := make(chan delivered, 16)
	f := open(t, srv).Events(func(shop string, ev order.Event) { got <- delivered{shop, ev} }, log)
	t.Cleanup(f.Close)
	return f, got
}

func next(t *testing.T, got chan delivered) delivered {
	t.Helper()
	select {
	case d := <-got:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no event delivered")
		return delivered{}
	}
}

// An event published for a shop reaches every replica with that shop, and
// one of a server of one shop with none.
func TestEventsCarryTheShop(t *testing.T) {
	srv := redistest.Start(t)
	log := slog.New(slog.DiscardHandler)
	a, gotA := replica(t, srv, log)
	_, gotB := replica(t, srv, log)
	ev := order.Event{Kind: order.EventPaid, OrderID: 1<<63 + 9, At: time.Unix(1714112445, 0), Key: "k1"}
	a.Publisher("wxA").Publish(ev)
	for _, got := range []chan delivered{gotA, gotB} {
		if d := next(t, got); d.shop != "wxA" || d.ev != ev {
			t.Fatalf("delivered %+v, want shop wxA and %+v", d, ev)
		}
	}
	a.Publisher("").Publish(ev)
	if d := next(t, gotB); d.shop != "" || d.ev != ev {
		t.Fatalf("an event of a server of one shop: %+v", d)
	}
}

// A message whose shop is no appid, or is no text, did not come from a
// Publisher: it is dropped, with a warning, and the next one is delivered.
func TestEventsDropAGarbledShop(t *testing.T) {
	srv := redistest.Start(t)
	var logs syncBuffer
	f, got := replica(t, srv, slog.New(slog.NewTextHandler(&logs, nil)))
	ctx := context.Background()
	for _, msg := range []string{
		`{"shop":"wx{A}","kind":"PAID","order_id":"5","at":1,"key":"k"}`,
		`{"shop":"` + strings.Repeat("w", 33) + `","kind":"PAID","order_id":"5","at":1,"key":"k"}`,
		`{"shop":5,"kind":"PAID","order_id":"5","at":1,"key":"k"}`,
		`{"shop":["wxA"],"kind":"PAID","order_id":"5","at":1,"key":"k"}`,
	} {
		if err := f.s.rdb.Publish(ctx, f.channel, msg).Err(); err != nil {
			t.Fatal(err)
		}
	}
	f.Publisher("wxA").Publish(order.Event{Kind: order.EventShipped, OrderID: 6})
	// One connection delivers in order: the good event comes after the others.
	if d := next(t, got); d.shop != "wxA" || d.ev.OrderID != 6 {
		t.Fatalf("a garbled message was delivered: %+v", d)
	}
	if n := strings.Count(logs.String(), "unreadable event"); n != 4 {
		t.Fatalf("%d of 4 garbled messages were logged:\n%s", n, logs.String())
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a publisher for a shop that is no appid")
		}
	}()
	f.Publisher("wx:A")
}

// With Redis away a replica delivers what it publishes itself, with its
// shop, and logs the outage once.
func TestEventsWithRedisAway(t *testing.T) {
	srv := redistest.Start(t)
	var logs syncBuffer
	f, got := replica(t, srv, slog.New(slog.NewTextHandler(&logs, nil)))
	srv.Stop()
	for i := range 3 {
		f.Publisher("wxA").Publish(order.Event{Kind: order.EventPaid, OrderID: uint64(i + 1)})
		if d := next(t, got); d.shop != "wxA" || d.ev.OrderID != uint64(i+1) {
			t.Fatalf("delivered %+v", d)
		}
	}
	if n := strings.Count(logs.String(), "unreachable"); n != 1 {
		t.Fatalf("the outage was logged %d times:\n%s", n, logs.String())
	}
}

// syncBuffer is a log both the test and the fan-out's goroutine use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
