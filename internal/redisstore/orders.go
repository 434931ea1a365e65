package redisstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/ordercache"
)

// OrderCache stores fetched orders for all replicas for a TTL, as JSON
// under a key that carries the layout of order.Order: a replica built with
// another layout uses other keys and never reads an order it would
// misread. A forgotten order's key holds a marker instead, until any fetch
// that began before has ended (ordercache.ForgetFor). Redis being away
// makes every lookup a miss: the cache is bypassed, never wrong.
//
// A forget that Redis did not take leaves an order there that may be
// stale: this replica then reads no order from Redis until it has expired
// (TTL after the failure).
type OrderCache struct {
	s   *Store
	ttl time.Duration
	now func() time.Time
	// distrust is when this replica may read orders again (Unix nano).
	distrust atomic.Int64
}

var _ ordercache.Backend = (*OrderCache)(nil)

// Orders returns an order cache whose entries live for ttl.
func (s *Store) Orders(ttl time.Duration) *OrderCache {
	return &OrderCache{s: s, ttl: ttl, now: time.Now}
}

func (c *OrderCache) distrusted() bool { return c.now().UnixNano() < c.distrust.Load() }

// forgottenMark starts the value of a forgotten order's key; the rest is
// random, so that each forget has a stamp of its own.
const forgottenMark = "forgotten:"

func (c *OrderCache) key(id uint64) string {
	return c.s.key("order", orderLayout, strconv.FormatUint(id, 10))
}

// Get returns the cached order for id, or the stamp of its last forget.
func (c *OrderCache) Get(ctx context.Context, id uint64) (*order.Order, string, bool) {
	if c.distrusted() {
		return nil, "", false
	}
	b, err := c.s.rdb.Get(ctx, c.key(id)).Bytes()
	if err != nil {
		return nil, "", false
	}
	if strings.HasPrefix(string(b), forgottenMark) {
		return nil, string(b), false
	}
	var o order.Order
	if json.Unmarshal(b, &o) != nil {
		return nil, "", false
	}
	return &o, "", true
}

// addUnlessForgotten sets the key unless it holds a forget other than the
// one the fetch began after (ARGV[2]).
var addUnlessForgotten = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, ` + strconv.Itoa(len(forgottenMark)) + `) == '` + forgottenMark + `' and v ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1`)

// Add caches o under id, unless id was forgotten since stamp.
func (c *OrderCache) Add(ctx context.Context, id uint64, o *order.Order, stamp string) {
	if c.distrusted() {
		return
	}
	b, err := json.Marshal(o)
	if err == nil {
		_ = addUnlessForgotten.Run(ctx, c.s.rdb, []string{c.key(id)}, b, stamp, c.ttl.Milliseconds()).Err()
	}
}

// Forget replaces id's order, for every replica, with a forget marker.
func (c *OrderCache) Forget(ctx context.Context, id uint64) {
	var r [8]byte
	_, _ = rand.Read(r[:])
	if err := c.s.rdb.Set(ctx, c.key(id), forgottenMark+hex.EncodeToString(r[:]), ordercache.ForgetFor(c.ttl)).Err(); err != nil {
		c.distrust.Store(c.now().Add(c.ttl).UnixNano())
	}
}

// orderLayout names the layout of order.Order as JSON stores it: the names,
// types and tags of every field, all the way down.
var orderLayout = layoutOf(reflect.TypeFor[order.Order]())

func layoutOf(t reflect.Type) string {
	var b strings.Builder
	describe(&b, t, map[reflect.Type]bool{})
	sum := sha256.Sum256([]byte(b.String()))
	return "v" + hex.EncodeToString(sum[:6])
}

var marshaler = reflect.TypeFor[json.Marshaler]()

func describe(b *strings.Builder, t reflect.Type, seen map[reflect.Type]bool) {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		fmt.Fprintf(b, "%s(", t.Kind())
		if t.Kind() == reflect.Map {
			describe(b, t.Key(), seen)
		}
		describe(b, t.Elem(), seen)
		b.WriteString(")")
	case reflect.Struct:
		fmt.Fprintf(b, "%s{", t.String())
		if !seen[t] && !reflect.PointerTo(t).Implements(marshaler) { // time.Time speaks for itself
			seen[t] = true
			for f := range t.Fields() {
				fmt.Fprintf(b, "%s %q:", f.Name, f.Tag)
				describe(b, f.Type, seen)
				b.WriteString(";")
			}
		}
		b.WriteString("}")
	default:
		b.WriteString(t.String())
	}
}
