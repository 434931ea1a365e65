package poller

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
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

// A poll's events go out one Pace apart, the first at once: a poll that
// finds 200 changes publishes all 200, spread over 199 paces.
func TestPollerPacesItsEvents(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	s := &shop{orders: map[uint64]*order.Order{}}
	var published int
	var waits []string // what was published before each wait, and for how long
	cfg := Config{Interval: 30 * time.Second, Overlap: time.Minute, PageSize: 100, Pace: 3 * time.Millisecond}
	p := New(cfg, s, nil, NewLocalMemory(func() time.Time { return t0 }), func(order.Event) { published++ }, slog.New(slog.DiscardHandler))
	p.wait = func(_ context.Context, d time.Duration) error {
		waits = append(waits, fmt.Sprintf("%d:%v", published, d))
		return nil
	}
	p.Poll(t.Context(), t0) // the baseline
	for i := range 200 {
		s.set(uint64(1000+i), 20, t0.Add(time.Duration(i)*100*time.Millisecond))
	}
	p.Poll(t.Context(), t0.Add(30*time.Second))
	if published != 200 || len(waits) != 199 || waits[0] != "1:3ms" || waits[198] != "199:3ms" {
		t.Fatalf("published %d with %d waits (%v … %v)", published, len(waits), waits[0], waits[len(waits)-1])
	}
}

// A poll stopped while it paces its events stops publishing, and leaves
// the window's end where it was.
func TestPollerStopsPacingWithItsContext(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	s := &shop{orders: map[uint64]*order.Order{}}
	memory := NewLocalMemory(func() time.Time { return t0 })
	var published int
	p := New(Config{Interval: 30 * time.Second, Overlap: time.Minute, PageSize: 100, Pace: time.Hour}, s, nil, memory, func(order.Event) { published++ }, slog.New(slog.DiscardHandler))
	p.Poll(t.Context(), t0)
	for i := range 3 {
		s.set(uint64(1000+i), 20, t0.Add(10*time.Second))
	}
	ctx, cancel := context.WithCancel(t.Context())
	p.wait = func(ctx context.Context, d time.Duration) error {
		cancel()
		return sleep(ctx, d)
	}
	p.Poll(ctx, t0.Add(30*time.Second))
	if last, _, _ := memory.Last(t.Context()); published != 1 || !last.Equal(t0) {
		t.Fatalf("published %d, last poll %v", published, last)
	}
}

// After a pause longer than 2 × Interval + Overlap the poller takes a new
// baseline instead of replaying what changed meanwhile; a shorter one is
// caught up with.
func TestPollerCatchUpIsClamped(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	cfg := Config{Interval: 30 * time.Second, Overlap: time.Minute, PageSize: 100}
	limit := 2*cfg.Interval + cfg.Overlap
	for _, tc := range []struct {
		pause time.Duration
		want  int
	}{
		{limit, 2},
		{limit + time.Second, 0},
		{24 * time.Hour, 0},
	} {
		now := t0
		s := &shop{orders: map[uint64]*order.Order{}}
		var events []order.Event
		var logs bytes.Buffer
		missed := 0
		p := New(cfg, s, nil, NewLocalMemory(func() time.Time { return now }), func(ev order.Event) { events = append(events, ev) }, slog.New(slog.NewTextHandler(&logs, nil))).
			OnMissed(func() { missed++ })
		p.Poll(t.Context(), now) // the baseline
		s.set(1, 20, now.Add(5*time.Second))
		now = now.Add(tc.pause)
		s.set(2, 20, now.Add(-time.Second))
		p.Poll(t.Context(), now)
		if len(events) != tc.want || (tc.want == 0) != strings.Contains(logs.String(), "new baseline") {
			t.Fatalf("after a pause of %v: %d events (want %d), log:\n%s", tc.pause, len(events), tc.want, logs.String())
		}
		// The changes of the pause are never told: what waits for them
		// (the caches) is told to forget all.
		if (tc.want == 0) != (missed == 1) || missed > 1 {
			t.Fatalf("after a pause of %v: told of a miss %d times", tc.pause, missed)
		}
		s.set(1, 30, now.Add(10*time.Second)) // changes after the new baseline are told
		now = now.Add(cfg.Interval)
		p.Poll(t.Context(), now)
		if got := events[len(events)-1]; len(events) != tc.want+1 || got.OrderID != 1 {
			t.Fatalf("after a pause of %v, the next change: %+v", tc.pause, events)
		}
	}
}

// More changes than one poll reads: those past its pages are never told,
// and the poller says so.
func TestPollerSaysWhenAPollMissedChanges(t *testing.T) {
	now := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	cfg := Config{Interval: 30 * time.Second, Overlap: time.Minute, PageSize: 1}
	s := &shop{orders: map[uint64]*order.Order{}}
	missed := 0
	p := New(cfg, s, nil, NewLocalMemory(func() time.Time { return now }), func(order.Event) {}, slog.New(slog.DiscardHandler)).
		OnMissed(func() { missed++ })
	p.Poll(t.Context(), now)
	for id := range uint64(maxPages) {
		s.set(id+1, 20, now.Add(time.Second))
	}
	now = now.Add(cfg.Interval)
	p.Poll(t.Context(), now)
	if missed != 0 {
		t.Fatal("a poll that read every change said it missed some")
	}
	for id := range uint64(maxPages + 1) {
		s.set(id+100, 20, now.Add(time.Second))
	}
	now = now.Add(cfg.Interval)
	p.Poll(t.Context(), now)
	if missed != 1 {
		t.Fatalf("a poll past its pages told of %d misses, want 1", missed)
	}
}
