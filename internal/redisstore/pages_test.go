package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/pagecache"
	"github.com/ordergraph/ordergraph/internal/redistest"
)

// A page kept by one replica is read by another; an event on any replica
// ends it for all, and a page fetched across the event is never read.
// Ids stay exact through JSON.
func TestPagesFollowEventsOnEveryReplica(t *testing.T) {
	srv := redistest.Start(t)
	a, b := open(t, srv).Pages(time.Minute), open(t, srv).Pages(time.Minute)
	ctx := context.Background()
	page := pagecache.Entry{Page: order.ListPage{IDs: []uint64{1<<63 + 7}, Total: 1}}
	_, gen, ok := a.Get(ctx, "p")
	if ok || gen == "" {
		t.Fatalf("an empty store: hit %v, generation %q", ok, gen)
	}
	a.Add(ctx, "p", page, gen)
	got, _, ok := b.Get(ctx, "p")
	if !ok || got.Page.IDs[0] != 1<<63+7 {
		t.Fatalf("another replica reads %+v, %v", got, ok)
	}

	_, slow, _ := b.Get(ctx, "q") // a fetch of q begins…
	a.Bump(ctx)                   // …an event comes on another replica…
	b.Add(ctx, "q", page, slow)   // …and the fetch ends
	if _, _, ok := a.Get(ctx, "q"); ok {
		t.Fatal("a page fetched across an event was kept")
	}
	if _, _, ok := b.Get(ctx, "p"); ok {
		t.Fatal("a page from before the event is read after it")
	}
}

// A replica that could not end the generation (Redis away at the event)
// reads no page until what Redis may still hold has expired.
func TestAnEventRedisMissedStopsReadsForATTL(t *testing.T) {
	srv := redistest.Start(t)
	p := open(t, srv).Pages(time.Minute)
	now := time.Unix(1_800_000_000, 0)
	p.distrust.now = func() time.Time { return now }
	ctx := context.Background()
	_, gen, _ := p.Get(ctx, "p")
	p.Add(ctx, "p", pagecache.Entry{Page: order.ListPage{Total: 3}}, gen)
	srv.Stop()
	p.Bump(ctx)
	srv.Restart(t)
	if _, _, ok := p.Get(ctx, "p"); ok {
		t.Fatal("a page from before an event Redis missed was read")
	}
	_, gen, _ = p.Get(ctx, "p")
	p.Add(ctx, "p", pagecache.Entry{Page: order.ListPage{Total: 4}}, gen)
	if _, _, ok := p.Get(ctx, "p"); ok {
		t.Fatal("a page was kept while Redis may hold stale ones")
	}
	now = now.Add(time.Minute)
	_, gen, _ = p.Get(ctx, "p")
	p.Add(ctx, "p", pagecache.Entry{Page: order.ListPage{Total: 5}}, gen)
	if e, _, ok := p.Get(ctx, "p"); !ok || e.Page.Total != 5 {
		t.Fatalf("pages are not kept again once the distrust has ended: %+v, %v", e, ok)
	}
}
