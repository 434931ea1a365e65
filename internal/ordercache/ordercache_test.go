package ordercache

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/order"
)

// upstream answers each fetch with the status it has now; a fetch may be
// held between reading the order and returning it, as a slow call is.
type upstream struct {
	status atomic.Int64
	calls  atomic.Int64
	hold   chan chan struct{} // a fetch sends a channel here and waits on it
}

func (u *upstream) Order(_ context.Context, id uint64) (*order.Order, error) {
	u.calls.Add(1)
	o := &order.Order{ID: id, StatusCode: u.status.Load()}
	if u.hold != nil {
		release := make(chan struct{})
		u.hold <- release
		<-release
	}
	return o, nil
}

// A forgotten order is fetched again; the answer of a fetch that began
// before the forget is returned to its caller but not cached; the TTL
// still bounds an order no event is about.
func TestForgetFollowsTheUpstream(t *testing.T) {
	now := time.Unix(1000, 0)
	u := &upstream{}
	u.status.Store(20)
	c := New(u, NewLocal(Config{TTL: time.Minute, Size: 10, Now: func() time.Time { return now }}), nil)
	ctx := context.Background()
	get := func() int64 {
		o, err := c.Order(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		return o.StatusCode
	}
	if get() != 20 || get() != 20 || u.calls.Load() != 1 {
		t.Fatalf("%d calls for two reads", u.calls.Load())
	}

	// A slow fetch of 2 reads the old order; the event about 2 comes while
	// it is in flight.
	u.hold = make(chan chan struct{})
	done := make(chan int64)
	go func() {
		o, _ := c.Order(ctx, 2)
		done <- o.StatusCode
	}()
	release := <-u.hold
	u.status.Store(30)
	c.Forget(ctx, 1)
	c.Forget(ctx, 2)
	close(release)
	if got := <-done; got != 20 {
		t.Fatalf("the slow fetch answered %d", got)
	}
	u.hold = nil
	if get() != 30 {
		t.Fatal("a forgotten order was served from the cache")
	}
	calls := u.calls.Load()
	if o, _ := c.Order(ctx, 2); o.StatusCode != 30 || u.calls.Load() != calls+1 {
		t.Fatalf("the slow fetch from before the forget was cached: %d", o.StatusCode)
	}
	if o, _ := c.Order(ctx, 2); o.StatusCode != 30 || u.calls.Load() != calls+1 {
		t.Fatal("the fetch after the forget was not cached")
	}

	u.status.Store(40) // changed with no event: served until the TTL ends
	if get() != 30 {
		t.Fatal("not cached")
	}
	now = now.Add(time.Minute)
	if get() != 40 {
		t.Fatal("served past the TTL")
	}
}

// starter is an order.Starter over upstream whose fetches are ready when
// the test says.
type starter struct {
	*upstream
	pending []func()
}

type started struct{ o *order.Order }

func (s *started) Result() (*order.Order, error) { return s.o, nil }
func (*started) Leave()                          {}

func (s *starter) Start(ctx context.Context, id uint64, ready func()) order.Fetch {
	f := &started{}
	s.pending = append(s.pending, func() { f.o, _ = s.Order(ctx, id); ready() })
	return f
}

// Starting answers a kept order at once and keeps what a started fetch
// read, unless its order was forgotten while it was in flight.
func TestStartingKeepsWhatItStarted(t *testing.T) {
	u := &upstream{}
	u.status.Store(20)
	next := &starter{upstream: u}
	c := NewStarting(next, NewLocal(Config{TTL: time.Minute, Size: 10}), nil)
	ctx := context.Background()
	readies := 0
	ready := func() { readies++ }
	f := c.Start(ctx, 1, ready)
	next.pending[0]()
	if o, err := f.Result(); err != nil || o.StatusCode != 20 || readies != 1 {
		t.Fatalf("first fetch: %+v, %v, ready %d", o, err, readies)
	}
	if f := c.Start(ctx, 1, ready); readies != 2 || len(next.pending) != 1 {
		t.Fatalf("a kept order was started again (ready %d, %d fetches)", readies, len(next.pending))
	} else if o, _ := f.Result(); o.StatusCode != 20 {
		t.Fatalf("kept order %+v", o)
	}

	f = c.Start(ctx, 2, ready) // in flight…
	u.status.Store(30)
	c.Forget(ctx, 2) // …when its event comes
	next.pending[1]()
	_, _ = f.Result()
	f = c.Start(ctx, 2, ready)
	if len(next.pending) != 3 {
		t.Fatal("an order read before its event was kept")
	}
	next.pending[2]()
	if o, _ := f.Result(); o.StatusCode != 30 {
		t.Fatalf("after the event: %+v", o)
	}
}

// A fetch that began before a forget never replaces what a fetch that
// began after it kept, nor a forget that was evicted while it ran.
func TestAnOlderFetchNeverReplacesANewerOne(t *testing.T) {
	ctx := context.Background()
	l := NewLocal(Config{TTL: time.Minute, Size: 2})
	_, slow, _ := l.Get(ctx, 1) // a fetch begins, reading the order as it was…
	l.Forget(ctx, 1)            // …it changes…
	_, fast, _ := l.Get(ctx, 1) // …another fetch begins and ends first
	l.Add(ctx, 1, &order.Order{ID: 1, StatusCode: 30}, fast)
	l.Add(ctx, 1, &order.Order{ID: 1, StatusCode: 20}, slow)
	if o, _, ok := l.Get(ctx, 1); !ok || o.StatusCode != 30 {
		t.Fatalf("kept %+v, want the order the later fetch read", o)
	}

	_, slow, _ = l.Get(ctx, 2)
	l.Forget(ctx, 2)
	l.Forget(ctx, 3)
	l.Forget(ctx, 4) // the forget of 2 is evicted
	l.Add(ctx, 2, &order.Order{ID: 2}, slow)
	if _, _, ok := l.Get(ctx, 2); ok {
		t.Fatal("a fetch from before an evicted forget was kept")
	}
	_, after, _ := l.Get(ctx, 2)
	l.Add(ctx, 2, &order.Order{ID: 2}, after)
	if _, _, ok := l.Get(ctx, 2); !ok {
		t.Fatal("a fetch from after every forget was not kept")
	}
}

// ForgetAll drops every order, and no fetch that began before is kept.
func TestForgetAllDropsEveryOrder(t *testing.T) {
	ctx := context.Background()
	l := NewLocal(Config{TTL: time.Minute, Size: 10})
	_, stamp, _ := l.Get(ctx, 1)
	l.Add(ctx, 1, &order.Order{ID: 1}, stamp)
	_, slow, _ := l.Get(ctx, 2)
	l.ForgetAll(ctx)
	l.Add(ctx, 2, &order.Order{ID: 2}, slow)
	for _, id := range []uint64{1, 2} {
		if _, _, ok := l.Get(ctx, id); ok {
			t.Fatalf("order %d is kept after ForgetAll", id)
		}
	}
	_, after, _ := l.Get(ctx, 2)
	l.Add(ctx, 2, &order.Order{ID: 2}, after)
	if _, _, ok := l.Get(ctx, 2); !ok {
		t.Fatal("a fetch after ForgetAll is not kept")
	}
}
