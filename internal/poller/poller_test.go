package poller

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/order"
)

// shop is a Lister over orders kept in memory, newest update first.
type shop struct {
	orders map[uint64]*order.Order
	calls  []order.ListQuery
}

func (s *shop) ListOrders(_ context.Context, q order.ListQuery) (order.ListPage, error) {
	s.calls = append(s.calls, q)
	var in []*order.Order
	for _, o := range s.orders {
		if !o.UpdateTime.Before(q.From) && o.UpdateTime.Before(q.To) {
			c := *o
			in = append(in, &c)
		}
	}
	slices.SortFunc(in, func(a, b *order.Order) int { return b.UpdateTime.Compare(*a.UpdateTime) })
	page := in[min(q.Offset, len(in)):min(q.Offset+q.Limit, len(in))]
	return order.ListPage{Orders: page, Total: len(in)}, nil
}

func (s *shop) SearchOrders(context.Context, order.SearchQuery) (order.ListPage, error) {
	return order.ListPage{}, nil
}

func (s *shop) set(id uint64, status int64, updated time.Time) {
	s.orders[id] = &order.Order{ID: id, StatusCode: status, UpdateTime: &updated}
}

// The first poll is the baseline; then each change makes one UPDATED
// event, unchanged orders none, however the windows overlap; pages are
// walked; a new order is a change.
func TestPollerOneEventPerChange(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	s := &shop{orders: map[uint64]*order.Order{}}
	for i := range 5 {
		s.set(uint64(100+i), 20, t0.Add(-time.Duration(i)*time.Second))
	}
	var events []order.Event
	p := New(Config{Interval: 30 * time.Second, Overlap: time.Minute, PageSize: 2}, s, nil, NewLocalMemory(func() time.Time { return t0 }), func(ev order.Event) { events = append(events, ev) }, slog.New(slog.DiscardHandler))
	p.Poll(t.Context(), t0.Add(time.Second))
	if len(events) != 0 || len(s.calls) != 3 {
		t.Fatalf("the baseline made %d events in %d calls", len(events), len(s.calls))
	}
	s.set(101, 30, t0.Add(20*time.Second)) // shipped
	s.set(200, 10, t0.Add(25*time.Second)) // new
	p.Poll(t.Context(), t0.Add(31*time.Second))
	p.Poll(t.Context(), t0.Add(61*time.Second)) // overlaps: nothing new
	s.set(101, 30, t0.Add(70*time.Second))      // touched again, same status
	p.Poll(t.Context(), t0.Add(91*time.Second))
	var got []uint64
	for _, ev := range events {
		if ev.Kind != order.EventUpdated {
			t.Fatalf("kind %s", ev.Kind)
		}
		got = append(got, ev.OrderID)
	}
	if !slices.Equal(got, []uint64{200, 101, 101}) || !events[2].At.Equal(t0.Add(70*time.Second)) {
		t.Fatalf("events for %v (%+v)", got, events)
	}
	if q := s.calls[len(s.calls)-1]; q.Field != order.Updated || !q.From.Equal(t0.Add(61*time.Second-time.Minute)) {
		t.Fatalf("the last poll's window %+v", q)
	}
}

type noLease struct{}

func (noLease) Hold(context.Context, time.Duration) bool { return false }

// A replica without the lease does not poll.
func TestPollerWithoutLease(t *testing.T) {
	s := &shop{orders: map[uint64]*order.Order{}}
	p := New(DefaultConfig(), s, noLease{}, NewLocalMemory(time.Now), func(order.Event) { t.Fatal("published") }, slog.New(slog.DiscardHandler))
	p.Poll(t.Context(), time.Now())
	if len(s.calls) != 0 {
		t.Fatal("polled without the lease")
	}
}
