package shops

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/events"
	"github.com/ordergraph/ordergraph/internal/order"
)

type none struct{}

func (none) Order(context.Context, uint64) (*order.Order, error) { return nil, errors.New("none") }

// counting builds shops and remembers which were closed.
type counting struct {
	mu            sync.Mutex
	built, closed map[string]int
	withEvents    bool
}

func (c *counting) build(id string) *Shop {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.built[id]++
	s := &Shop{ID: id, Orders: none{}}
	if c.withEvents {
		s.Events = events.NewBus(none{}, events.DefaultConfig())
	}
	s.Close = func() {
		c.mu.Lock()
		c.closed[id]++
		c.mu.Unlock()
		if s.Events != nil {
			s.Events.Close()
		}
	}
	return s
}

func newCounting(events bool) *counting {
	return &counting{built: map[string]int{}, closed: map[string]int{}, withEvents: events}
}

// A registry holds at most its limit: the least recently used shop goes,
// and comes back built afresh when asked for.
func TestLeastRecentlyUsedShopsAreForgotten(t *testing.T) {
	c := newCounting(false)
	r := New(3, c.build)
	for _, id := range []string{"a", "b", "c", "a", "d"} { // b is the least recent when d comes
		if s, err := r.Get(id); err != nil || s.ID != id {
			t.Fatalf("%s: %v %v", id, s, err)
		}
	}
	if r.Active() != 3 || c.closed["b"] != 1 || c.closed["a"]+c.closed["c"]+c.closed["d"] != 0 {
		t.Fatalf("active %d, closed %v", r.Active(), c.closed)
	}
	if _, ok := r.Held("b"); ok {
		t.Fatal("b still held")
	}
	s1, _ := r.Get("a")
	s2, _ := r.Get("a")
	if s1 != s2 || c.built["a"] != 1 {
		t.Fatalf("a built %d times", c.built["a"])
	}
	r.Get("b")
	if c.built["b"] != 2 {
		t.Fatalf("b built %d times", c.built["b"])
	}
}

// A shop with a subscription open is never forgotten: its subscribers
// would lose their events.
func TestShopsWithSubscribersStay(t *testing.T) {
	c := newCounting(true)
	r := New(1, c.build)
	a, _ := r.Get("a")
	sub, err := a.Events.Subscribe("client", 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		r.Get(fmt.Sprint("x", i))
	}
	if held, ok := r.Held("a"); !ok || held != a || c.closed["a"] != 0 {
		t.Fatal("a shop with a subscriber was forgotten")
	}
	if r.Active() != 2 {
		t.Fatalf("active %d, want a and the newest", r.Active())
	}
	a.Events.Unsubscribe(sub)
	r.Get("y")
	if _, ok := r.Held("a"); ok {
		t.Fatal("a kept once its subscriber left")
	}
	r.Close()
	if _, err := r.Get("z"); err != ErrClosed {
		t.Fatalf("Get after Close: %v", err)
	}
	for _, id := range []string{"x4", "y"} {
		if c.closed[id] != 1 {
			t.Errorf("%s closed %d times", id, c.closed[id])
		}
	}
}

// Many callers asking for many shops at once each get the one Shop of
// their id.
func TestConcurrentGets(t *testing.T) {
	c := newCounting(false)
	r := New(1000, c.build)
	var wg sync.WaitGroup
	for g := range 20 {
		wg.Go(func() {
			for i := range 100 {
				id := fmt.Sprint("shop", (g+i)%50)
				if s, err := r.Get(id); err != nil || s.ID != id {
					t.Errorf("%s: %v", id, err)
				}
			}
		})
	}
	wg.Wait()
	for id, n := range c.built {
		if n != 1 {
			t.Errorf("%s built %d times", id, n)
		}
	}
}

// A shop is not built again while its closing (which forgets what it
// held, its token in memory among them) runs: Get waits for it.
func TestNoShopIsBuiltBesideItsClosing(t *testing.T) {
	c := newCounting(false)
	r := New(1, c.build)
	closing, release := make(chan struct{}), make(chan struct{})
	first := true
	build := r.build
	r.build = func(id string) *Shop {
		s := build(id)
		if id == "a" && first {
			first = false
			s.Close = func() { close(closing); <-release }
		}
		return s
	}
	r.Get("a")
	go r.Get("b") // evicts a, whose closing blocks
	<-closing
	got := make(chan *Shop)
	go func() {
		s, _ := r.Get("a")
		got <- s
	}()
	select {
	case <-got:
		t.Fatal("a was built again while it was closing")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if s := <-got; s == nil || s.ID != "a" {
		t.Fatalf("got %v", s)
	}
}

func TestOne(t *testing.T) {
	s := &Shop{Orders: none{}}
	r := One(s)
	for _, id := range []string{"", "anything"} {
		if got, err := r.Get(id); err != nil || got != s {
			t.Fatalf("%q: %v", id, err)
		}
	}
}

// Finding an operation's shop is on every operation's path: compare a
// platform's registry, holding 1,000 shops, with a single shop's.
func BenchmarkGet(b *testing.B) {
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("wxshop%04d", i)
	}
	b.Run("one", func(b *testing.B) {
		r := One(&Shop{Orders: none{}})
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			_, _ = r.Get(ids[i%len(ids)])
		}
	})
	b.Run("held", func(b *testing.B) {
		r := New(len(ids), newCounting(false).build)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			_, _ = r.Get(ids[i%len(ids)])
		}
	})
	b.Run("held-parallel", func(b *testing.B) {
		r := New(len(ids), newCounting(false).build)
		for _, id := range ids {
			_, _ = r.Get(id)
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				_, _ = r.Get(ids[i%len(ids)])
			}
		})
	})
}
