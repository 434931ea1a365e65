// Package pagecache keeps the pages of order lists and searches that a
// shop's upstream answered, so that a dashboard refreshing the same page
// costs no WeChat call until something changed. Any order event of the
// shop (pushed by WeChat or found by the poller) drops every page at once,
// on every replica: a new or changed order can change any page, its
// position in it and the total. The TTL bounds how long a page is kept
// when no event comes.
//
// A page is kept under exactly what the upstream was asked (range, status,
// buyer, offset, limit, resume token, or the search filter): what the
// client sent, after listing has resolved it. Cursors are sealed for their
// caller above this cache and buyers' pages are filtered above it, so a
// page shared by two callers tells neither anything of the other. Only
// whole answers are kept: an error is asked again, and so is a walk the
// operation's budget cut short (page.ResumeEnd), which a caller with more
// budget would get further in.
//
// A fetch that began before an event may end after it; its page is then
// kept under the generation that the event ended, and never read.
package pagecache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/ordergraph/ordergraph/internal/metrics"
	"github.com/ordergraph/ordergraph/internal/order"
)

// Entry is what the cache keeps under a key: a page, or the time an
// open-ended range was anchored at (Anchor).
type Entry struct {
	Page order.ListPage `json:"p"`
	At   int64          `json:"a,omitempty"`
}

// Backend keeps entries for the current generation; Bump ends it. It is in
// process memory (Local) or shared by every replica (redisstore.Pages).
type Backend interface {
	// Get returns the entry under key kept in the current generation or,
	// on a miss, the generation that Add of what is then fetched needs.
	Get(ctx context.Context, key string) (e Entry, gen string, ok bool)
	// Add keeps e under key for generation gen: once another generation
	// began, it is never returned.
	Add(ctx context.Context, key string, e Entry, gen string)
	// Bump begins a new generation: no entry kept before is returned again.
	Bump(ctx context.Context)
}

// Cache is an order.Lister that keeps next's pages in a Backend.
type Cache struct {
	next    order.Lister
	backend Backend
	metrics *metrics.Metrics
}

// New wraps next with backend; m may be nil.
func New(next order.Lister, backend Backend, m *metrics.Metrics) *Cache {
	return &Cache{next: next, backend: backend, metrics: m}
}

// ListOrders returns the kept page of q or asks next for it.
func (c *Cache) ListOrders(ctx context.Context, q order.ListQuery) (order.ListPage, error) {
	k := q
	k.From, k.To = q.From.UTC(), q.To.UTC()
	return c.page(ctx, keyOf("list", k), func() (order.ListPage, error) { return c.next.ListOrders(ctx, q) })
}

// SearchOrders returns the kept page of q or asks next for it.
func (c *Cache) SearchOrders(ctx context.Context, q order.SearchQuery) (order.ListPage, error) {
	k := q
	k.Filter.PayFrom, k.Filter.PayTo = utc(q.Filter.PayFrom), utc(q.Filter.PayTo)
	return c.page(ctx, keyOf("search", k), func() (order.ListPage, error) { return c.next.SearchOrders(ctx, q) })
}

// utc is t in UTC: an instant sent with another offset asks the same.
func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (c *Cache) page(ctx context.Context, key string, fetch func() (order.ListPage, error)) (order.ListPage, error) {
	e, gen, ok := c.backend.Get(ctx, key)
	if ok {
		c.metrics.PageCacheHit()
		return e.Page, nil
	}
	page, err := fetch()
	if err == nil && page.ResumeEnd == "" {
		c.backend.Add(ctx, key, Entry{Page: page}, gen)
	}
	return page, err
}

// Anchor is the time that the open-ended range of scope (a list filter
// without an end) ends at: now, unless a request of the same scope in
// this generation anchored it earlier. So a dashboard's "the last 7 days"
// asks the upstream the same range, and hits the same pages, until an
// event says an order came or changed (or the TTL passes), instead of a
// range that moves every second and is never asked twice.
func (c *Cache) Anchor(ctx context.Context, scope string, now time.Time) time.Time {
	key := keyOf("anchor", scope)
	e, gen, ok := c.backend.Get(ctx, key)
	switch {
	case !ok:
		c.backend.Add(ctx, key, Entry{At: now.Unix()}, gen)
	case e.At <= now.Unix():
		return time.Unix(e.At, 0)
	}
	// A replica whose clock runs ahead anchored a later time: this one
	// asks up to its own now, which its cursors' checks accept.
	return now
}

// Forget ends every page: an event of any order may change any page.
func (c *Cache) Forget(ctx context.Context, _ uint64) { c.backend.Bump(ctx) }

// ForgetAll ends every page.
func (c *Cache) ForgetAll(ctx context.Context) { c.backend.Bump(ctx) }

// Forgetter ends backend's pages on every event, for a shop this process
// serves no Cache of (a push to a shop another replica holds).
func Forgetter(backend Backend) order.Forgetter { return &Cache{backend: backend} }

// keyOf names what was asked: the kind of call and its arguments, hashed
// so that a long filter makes a short key.
func keyOf(kind string, q any) string {
	b, _ := json.Marshal(q) // plain data: never fails
	sum := sha256.Sum256(append([]byte(kind+"\x00"), b...))
	return hex.EncodeToString(sum[:16])
}

// Local is a Backend in process memory: at most size entries, each for
// ttl, the least recently used going first.
type Local struct {
	lru *lru.Cache[string, localEntry]
	ttl time.Duration
	now func() time.Time

	mu  sync.Mutex
	gen uint64
}

type localEntry struct {
	e       Entry
	gen     uint64
	expires time.Time
}

// NewLocal returns a process-local backend; now nil is time.Now.
func NewLocal(size int, ttl time.Duration, now func() time.Time) *Local {
	if now == nil {
		now = time.Now
	}
	c, _ := lru.New[string, localEntry](max(size, 1)) // only fails for a size below 1
	return &Local{lru: c, ttl: ttl, now: now}
}

func (l *Local) Get(_ context.Context, key string) (Entry, string, bool) {
	l.mu.Lock()
	gen := l.gen
	l.mu.Unlock()
	e, ok := l.lru.Get(key)
	if !ok || e.gen != gen || !l.now().Before(e.expires) {
		return Entry{}, strconv.FormatUint(gen, 10), false
	}
	return e.e, "", true
}

// Add keeps e unless an event came while it was fetched; under the lock
// that Bump takes, so that no event comes between the check and the add.
func (l *Local) Add(_ context.Context, key string, e Entry, gen string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if gen != strconv.FormatUint(l.gen, 10) {
		return
	}
	l.lru.Add(key, localEntry{e: e, gen: l.gen, expires: l.now().Add(l.ttl)})
}

// Bump begins a new generation and lets the old entries go.
func (l *Local) Bump(context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gen++
	l.lru.Purge()
}
