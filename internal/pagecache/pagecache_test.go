package pagecache_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/pagecache"
)

// lister answers every query with a page naming the call it was, and
// counts the calls; block, when set, holds a call until it is closed.
type lister struct {
	mu    sync.Mutex
	calls int
	err   error
	end   string // ResumeEnd of every page
	block chan struct{}
	began chan struct{}
}

func (l *lister) answer() (order.ListPage, error) {
	if l.block != nil {
		l.began <- struct{}{}
		<-l.block
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	return order.ListPage{IDs: []uint64{uint64(l.calls)}, Total: l.calls, ResumeEnd: l.end}, l.err
}

func (l *lister) ListOrders(context.Context, order.ListQuery) (order.ListPage, error) {
	return l.answer()
}

func (l *lister) SearchOrders(context.Context, order.SearchQuery) (order.ListPage, error) {
	return l.answer()
}

func (l *lister) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newCache(up *lister, ttl time.Duration) (*pagecache.Cache, *clock) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	return pagecache.New(up, pagecache.NewLocal(10, ttl, clk.now), nil), clk
}

var ctx = context.Background()

func query(offset int) order.ListQuery {
	return order.ListQuery{Field: order.Created, From: time.Unix(1_700_000_000, 0), To: time.Unix(1_700_600_000, 0), Offset: offset, Limit: 20}
}

func TestAPageIsAskedOnceUntilAnEvent(t *testing.T) {
	up := &lister{}
	c, _ := newCache(up, time.Minute)
	for range 3 {
		p, err := c.ListOrders(ctx, query(0))
		if err != nil || p.IDs[0] != 1 {
			t.Fatalf("got %+v, %v", p, err)
		}
	}
	if up.count() != 1 {
		t.Fatalf("3 reads of one page made %d calls", up.count())
	}
	// Everything that shapes the page names it: another offset, buyer,
	// status or a search is another page.
	status := order.StatusToBeShipped
	q := query(0)
	q.Buyer = "o1"
	s := query(0)
	s.Status = &status
	_, _ = c.ListOrders(ctx, query(20))
	_, _ = c.ListOrders(ctx, q)
	_, _ = c.ListOrders(ctx, s)
	_, _ = c.SearchOrders(ctx, order.SearchQuery{Limit: 20})
	if up.count() != 5 {
		t.Fatalf("4 other pages made %d calls, want 4", up.count()-1)
	}
	// The same instants with another offset are the same page.
	east := query(0)
	east.From, east.To = east.From.In(time.FixedZone("CST", 8*3600)), east.To.In(time.FixedZone("CST", 8*3600))
	_, _ = c.ListOrders(ctx, east)
	if up.count() != 5 {
		t.Fatal("the same range with another offset was asked again")
	}
	c.Forget(ctx, 42) // any order's event
	if p, _ := c.ListOrders(ctx, query(0)); p.IDs[0] != 6 {
		t.Fatalf("after an event the page was not asked again: %+v", p)
	}
}

func TestAPageIsKeptForItsTTLAtMost(t *testing.T) {
	up := &lister{}
	c, clk := newCache(up, time.Minute)
	_, _ = c.ListOrders(ctx, query(0))
	clk.t = clk.t.Add(59 * time.Second)
	_, _ = c.ListOrders(ctx, query(0))
	clk.t = clk.t.Add(time.Second)
	_, _ = c.ListOrders(ctx, query(0))
	if up.count() != 2 {
		t.Fatalf("%d calls, want 2: one, then one when the TTL ended", up.count())
	}
}

func TestFailuresAndCutWalksAreNotKept(t *testing.T) {
	up := &lister{err: errors.New("upstream away")}
	c, _ := newCache(up, time.Minute)
	_, _ = c.ListOrders(ctx, query(0))
	_, _ = c.ListOrders(ctx, query(0))
	up.err, up.end = nil, "resume-here"
	_, _ = c.ListOrders(ctx, query(0))
	_, _ = c.ListOrders(ctx, query(0))
	if up.count() != 4 {
		t.Fatalf("%d calls, want 4: nothing kept", up.count())
	}
}

// A page fetched while an event came is the page from before the event:
// it is not kept.
func TestAPageFetchedAcrossAnEventIsNotKept(t *testing.T) {
	up := &lister{block: make(chan struct{}), began: make(chan struct{})}
	c, _ := newCache(up, time.Minute)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.ListOrders(ctx, query(0))
	}()
	<-up.began
	c.Forget(ctx, 7)
	close(up.block)
	<-done
	up.block = nil
	if p, _ := c.ListOrders(ctx, query(0)); p.IDs[0] != 2 {
		t.Fatalf("the page from before the event was served: %+v", p)
	}
}

func TestAnOpenRangeIsAnchoredUntilAnEvent(t *testing.T) {
	c, clk := newCache(&lister{}, time.Minute)
	first := clk.t
	if got := c.Anchor(ctx, "last 7 days", first); !got.Equal(first) {
		t.Fatalf("first anchor %v", got)
	}
	clk.t = clk.t.Add(30 * time.Second)
	if got := c.Anchor(ctx, "last 7 days", clk.t); !got.Equal(first) {
		t.Fatalf("30 s later, without an event: %v, want %v", got, first)
	}
	if got := c.Anchor(ctx, "to ship", clk.t); !got.Equal(clk.t) {
		t.Fatalf("another scope shares the anchor: %v", got)
	}
	c.Forget(ctx, 1)
	if got := c.Anchor(ctx, "last 7 days", clk.t); !got.Equal(clk.t) {
		t.Fatalf("after an event: %v, want now %v", got, clk.t)
	}
	clk.t = clk.t.Add(time.Minute)
	if got := c.Anchor(ctx, "last 7 days", clk.t); !got.Equal(clk.t) {
		t.Fatalf("after the TTL: %v, want now", got)
	}
	// A replica whose clock is behind the anchor's asks up to its own now.
	behind := clk.t.Add(-10 * time.Second)
	if got := c.Anchor(ctx, "last 7 days", behind); !got.Equal(behind) {
		t.Fatalf("a clock behind the anchor got %v", got)
	}
}
