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
