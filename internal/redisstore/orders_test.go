package redisstore

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/redistest"
)

// An order forgotten on one replica is gone for every replica, and the
// answer of a fetch that began before the forget is not cached; one that
// began after is.
func TestForgottenOrdersStayForgotten(t *testing.T) {
	srv := redistest.Start(t)
	a, b := open(t, srv).Orders(time.Minute), open(t, srv).Orders(time.Minute)
	ctx := context.Background()
	old := &order.Order{ID: 1<<63 + 7, StatusCode: 20}
	a.Add(ctx, old.ID, old, "")
	if _, _, ok := b.Get(ctx, old.ID); !ok {
		t.Fatal("an order cached on one replica is a miss on another")
	}

	_, before, _ := b.Get(ctx, 99) // a fetch of 99 begins (a miss)…
	b.Forget(ctx, old.ID)          // …an event about old.ID arrives…
	_, slowStamp, ok := a.Get(ctx, old.ID)
	if ok || slowStamp == before {
		t.Fatalf("after Forget: hit %v, stamp %q", ok, slowStamp)
	}
	a.Add(ctx, old.ID, old, before) // a fetch that began before the event ends
	if _, _, ok := b.Get(ctx, old.ID); ok {
		t.Fatal("the answer of a fetch that began before the forget was cached")
	}
	fresh := &order.Order{ID: old.ID, StatusCode: 30}
	a.Add(ctx, fresh.ID, fresh, slowStamp) // one that began after it
	if got, _, ok := b.Get(ctx, old.ID); !ok || got.StatusCode != 30 {
		t.Fatalf("the order fetched after the forget: %+v, %v", got, ok)
	}

	_, stamp, _ := b.Get(ctx, 5)
	a.Forget(ctx, 5)
	a.Forget(ctx, 5) // twice, as every replica does
	_, second, _ := a.Get(ctx, 5)
	b.Add(ctx, 5, &order.Order{ID: 5}, stamp)
	if _, _, ok := a.Get(ctx, 5); ok {
		t.Fatal("a fetch from before two forgets was cached")
	}
	b.Add(ctx, 5, &order.Order{ID: 5}, second)
	if _, _, ok := a.Get(ctx, 5); !ok {
		t.Fatal("a fetch from after the last forget was not cached")
	}
}

// The key of a cached order carries the layout of order.Order, which
// changes with any field's name, type or tag.
func TestOrderKeysCarryTheLayout(t *testing.T) {
	before := func() reflect.Type {
		type Order struct{ ID uint64 }
		return reflect.TypeFor[Order]()
	}()
	after := func() reflect.Type {
		type Order struct {
			ID uint64 `json:"id,string"`
		}
		return reflect.TypeFor[Order]()
	}()
	if before.String() != after.String() || layoutOf(before) == layoutOf(after) {
		t.Fatal("two layouts, one version")
	}
	if c := (&Store{prefix: "p:"}).Orders(time.Minute); !strings.Contains(c.key(1), ":order-s:"+orderLayout+":1") {
		t.Fatalf("key %q", c.key(1))
	}
}

// A replica whose forget Redis did not take reads no order from Redis, and
// keeps none there, until what it may hold has expired.
func TestAForgetRedisMissedStopsReadsForATTL(t *testing.T) {
	srv := redistest.Start(t)
	c := open(t, srv).Orders(time.Minute)
	now := time.Unix(1_800_000_000, 0)
	c.distrust.now = func() time.Time { return now }
	ctx := context.Background()
	srv.Stop()
	c.Forget(ctx, 7)
	srv.Restart(t)
	c.Add(ctx, 8, &order.Order{ID: 8}, "")
	if _, _, ok := c.Get(ctx, 8); ok {
		t.Fatal("an order was kept and read while Redis may hold stale ones")
	}
	now = now.Add(time.Minute)
	c.Add(ctx, 8, &order.Order{ID: 8}, "")
	if _, _, ok := c.Get(ctx, 8); !ok {
		t.Fatal("orders are not kept again once the distrust has ended")
	}
}

// A fetch that began before a forget never replaces, on any replica, what
// a fetch that began after it kept.
func TestAnOlderFetchNeverReplacesANewerOneInRedis(t *testing.T) {
	srv := redistest.Start(t)
	a, b := open(t, srv).Orders(time.Minute), open(t, srv).Orders(time.Minute)
	ctx := context.Background()
	_, slow, _ := a.Get(ctx, 1)
	b.Forget(ctx, 1)
	_, fast, _ := b.Get(ctx, 1)
	b.Add(ctx, 1, &order.Order{ID: 1, StatusCode: 30}, fast)
	a.Add(ctx, 1, &order.Order{ID: 1, StatusCode: 20}, slow)
	if o, _, ok := a.Get(ctx, 1); !ok || o.StatusCode != 30 {
		t.Fatalf("kept %+v, want the order the later fetch read", o)
	}
}

// ForgetAll on one replica drops every order for all of them, and no
// fetch that began before is kept.
func TestForgetAllDropsEveryOrderInRedis(t *testing.T) {
	srv := redistest.Start(t)
	a, b := open(t, srv).Orders(time.Minute), open(t, srv).Orders(time.Minute)
	ctx := context.Background()
	_, stamp, _ := a.Get(ctx, 1)
	a.Add(ctx, 1, &order.Order{ID: 1}, stamp)
	_, slow, _ := a.Get(ctx, 2)
	b.ForgetAll(ctx)
	a.Add(ctx, 2, &order.Order{ID: 2}, slow)
	for _, id := range []uint64{1, 2} {
		if _, _, ok := a.Get(ctx, id); ok {
			t.Fatalf("order %d is kept after ForgetAll", id)
		}
	}
	_, after, _ := a.Get(ctx, 2)
	a.Add(ctx, 2, &order.Order{ID: 2}, after)
	if _, _, ok := b.Get(ctx, 2); !ok {
		t.Fatal("a fetch after ForgetAll is not kept")
	}
}
