package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/ordercache"
)

// OrderCache stores fetched orders for all replicas for a TTL, as JSON
// under a key that carries the layout of order.Order: a replica built with
// another layout uses other keys and never reads an order it would
// misread. Redis being away makes every lookup a miss: the cache is
// bypassed, never wrong.
//
// Stamps order fetches and forgets as ordercache.Local's do, with the
// shop's count of forgets kept in Redis: a kept order's value starts with
// the stamp of the fetch that read it, a forgotten order's is a marker
// with its forget's (until any fetch that began before has ended,
// ordercache.ForgetFor), and an Add under a later stamp is refused.
//
// A forget that Redis did not take leaves an order there that may be
// stale: this replica then reads no order from Redis until it has expired
// (TTL after the failure).
type OrderCache struct {
	s        *Store
	ttl      time.Duration
	distrust distrust
}

var _ ordercache.Backend = (*OrderCache)(nil)

// Orders returns an order cache whose entries live for ttl.
func (s *Store) Orders(ttl time.Duration) *OrderCache {
	return &OrderCache{s: s, ttl: ttl, distrust: newDistrust(ttl)}
}

// forgottenMark starts the value of a forgotten order's key, before its
// forget's stamp.
const forgottenMark = "forgotten:"

// key is where id's order is kept: "order-s" for values that begin with
// their stamp, so that replicas of a version that stored bare orders, and
// random forget markers, never share an entry with this one during an
// upgrade (each replica forgets on every event in its own keys).
func (c *OrderCache) key(id uint64) string {
	return c.s.key("order-s", orderLayout, strconv.FormatUint(id, 10))
}

// forgets is the key of the shop's count of forgets, in the slot of its
// orders.
func (c *OrderCache) forgets() string { return c.s.key("order-forgets") }

// floor is the key of the stamp under which no order is read or kept: the
// count of forgets at the last ForgetAll.
func (c *OrderCache) floor() string { return c.s.key("order-floor") }

// Get returns the cached order for id or, on a miss, the count of forgets
// now: the stamp of the fetch that follows.
func (c *OrderCache) Get(ctx context.Context, id uint64) (*order.Order, string, bool) {
	if c.distrust.active() {
		return nil, "", false
	}
	vals, err := c.s.rdb.MGet(ctx, c.key(id), c.forgets(), c.floor()).Result()
	if err != nil || len(vals) != 3 {
		return nil, "", false
	}
	stamp := count(vals[1])
	v, _ := vals[0].(string)
	began, body, ok := strings.Cut(v, "\n")
	var o order.Order
	if !ok || count(began) < count(vals[2]) || json.Unmarshal([]byte(body), &o) != nil {
		return nil, strconv.FormatUint(stamp, 10), false
	}
	return &o, "", true
}

// count is a count kept in Redis, 0 where there is none.
func count(v any) uint64 {
	s, _ := v.(string)
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

// addUnlessLater sets the key to ARGV[1] (stamp, then the order) unless it
// holds a forget, or an order, with a stamp later than ARGV[2], or the
// stamp is under the floor (KEYS[2]).
var addUnlessLater = redis.NewScript(`
if tonumber(ARGV[2]) < tonumber(redis.call('GET', KEYS[2]) or '0') then return 0 end
local v = redis.call('GET', KEYS[1])
if v then
  local s = string.match(v, '^` + forgottenMark + `(%d+)$') or string.match(v, '^(%d+)\n')
  if s and tonumber(s) > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2] .. '\n' .. ARGV[1], 'PX', ARGV[3])
return 1`)

// Add caches o under id, unless id was forgotten, or fetched by a later
// fetch, since stamp.
func (c *OrderCache) Add(ctx context.Context, id uint64, o *order.Order, stamp string) {
	if c.distrust.active() {
		return
	}
	if stamp == "" {
		stamp = "0" // asked while Redis was away: before any forget
	}
	b, err := json.Marshal(o)
	if err == nil {
		_ = addUnlessLater.Run(ctx, c.s.rdb, []string{c.key(id), c.floor()}, b, stamp, c.ttl.Milliseconds()).Err()
	}
}

// forget counts a forget and leaves its marker under the order's key.
var forget = redis.NewScript(`
local n = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], '` + forgottenMark + `' .. n, 'PX', ARGV[1])
return n`)

// Forget replaces id's order, for every replica, with a forget marker.
func (c *OrderCache) Forget(ctx context.Context, id uint64) {
	if err := forget.Run(ctx, c.s.rdb, []string{c.key(id), c.forgets()}, ordercache.ForgetFor(c.ttl).Milliseconds()).Err(); err != nil {
		c.distrust.missed()
	}
}

// forgetAll counts a forget and raises the floor to it.
var forgetAll = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[2], n)
return n`)

// ForgetAll drops every order, for every replica: none kept before is read,
// and no fetch that began before is kept.
func (c *OrderCache) ForgetAll(ctx context.Context) {
	if err := forgetAll.Run(ctx, c.s.rdb, []string{c.forgets(), c.floor()}).Err(); err != nil {
		c.distrust.missed()
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
