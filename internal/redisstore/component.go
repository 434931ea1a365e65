package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ordergraph/ordergraph/internal/component"
)

// Component is the component.Store view of the store: a third-party
// platform's verify ticket, its token and its shops' tokens and grants,
// under the store's prefix and component:<component appid>, so that
// platforms sharing a Redis keep apart:
//
//	component:C:ticket             the latest verify ticket, for its 12 hours
//	component:C:token              the platform token, for its lifetime
//	component:C:shop:A:token       shop A's token, for its lifetime
//	component:C:shop:A:grant       shop A's refresh token, or "revoked"; no expiry
//	component:C:shop:A:grant:event when shop A's last event was created, Unix ms; no expiry
//	...:token:lock                 a token's refresh lock
func (s *Store) Component() component.Store { return components{s} }

type components struct{ s *Store }

func (c components) ticketKey(comp string) string { return c.s.key("component", comp, "ticket") }

// tokenKey is where k's token is kept; its lock is the same with ":lock".
func (c components) tokenKey(k component.Key) string {
	if k.Authorizer == "" {
		return c.s.key("component", k.Component, "token")
	}
	return c.s.key("component", k.Component, "shop", k.Authorizer, "token")
}

func (c components) grantKey(k component.Key) string {
	return c.s.key("component", k.Component, "shop", k.Authorizer, "grant")
}

// A token is stored as "issuedUnixMilli|expiresUnixMilli|token": the token
// last, so that whatever it holds cannot be mistaken for the times.
func encodeGrant(g component.Grant) string {
	return fmt.Sprintf("%d|%d|%s", g.Issued.UnixMilli(), g.Expires.UnixMilli(), g.Token)
}

func (c components) loadGrant(ctx context.Context, key string) (component.Grant, error) {
	v, err := c.s.rdb.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return component.Grant{}, nil
	}
	if err != nil {
		return component.Grant{}, err
	}
	parts := strings.SplitN(v, "|", 3)
	if len(parts) != 3 {
		return component.Grant{}, nil // unreadable: as if absent, the next save replaces it
	}
	issued, err1 := strconv.ParseInt(parts[0], 10, 64)
	expires, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return component.Grant{}, nil
	}
	return component.Grant{Token: parts[2], Issued: time.UnixMilli(issued), Expires: time.UnixMilli(expires)}, nil
}

func (c components) saveGrant(ctx context.Context, key string, g component.Grant, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	return c.s.rdb.Set(ctx, key, encodeGrant(g), ttl).Err()
}

func (c components) LoadTicket(ctx context.Context, comp string) (component.Grant, error) {
	return c.loadGrant(ctx, c.ticketKey(comp))
}

// saveTicket stores the ticket ARGV[1], issued at ARGV[2] (Unix ms), for
// ARGV[3] ms, unless the kept one was issued later.
var saveTicket = redis.NewScript(`
local v = redis.call("GET", KEYS[1])
local issued = v and tonumber(string.match(v, "^(%d+)|"))
if issued and issued > tonumber(ARGV[2]) then
  return 0
end
redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[3])
return 1`)

func (c components) SaveTicket(ctx context.Context, comp string, t component.Grant, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	return saveTicket.Run(ctx, c.s.rdb, []string{c.ticketKey(comp)}, encodeGrant(t), t.Issued.UnixMilli(), ttl.Milliseconds()).Err()
}

func (c components) LoadGrant(ctx context.Context, k component.Key) (component.Grant, error) {
	return c.loadGrant(ctx, c.tokenKey(k))
}

func (c components) SaveGrant(ctx context.Context, k component.Key, g component.Grant, ttl time.Duration) error {
	return c.saveGrant(ctx, c.tokenKey(k), g, ttl)
}

// deleteGrantIf deletes the token KEYS[1] only when it holds the token
// ARGV[1] exactly: compare-and-delete in one step.
var deleteGrantIf = redis.NewScript(`
local v = redis.call("GET", KEYS[1])
if v then
  local i = string.find(v, "|", 1, true)
  local j = i and string.find(v, "|", i + 1, true)
  if j and string.sub(v, j + 1) == ARGV[1] then
    return redis.call("DEL", KEYS[1])
  end
end
return 0`)

func (c components) DeleteGrantIf(ctx context.Context, k component.Key, tok string) error {
	return deleteGrantIf.Run(ctx, c.s.rdb, []string{c.tokenKey(k)}, tok).Err()
}

// Lock is the token's refresh lock: SET NX with ttl, so that a replica
// that crashed holding it holds it no longer, released only by its owner.
func (c components) Lock(ctx context.Context, k component.Key, ttl time.Duration) (func(), bool, error) {
	release, took, err := c.s.tryLock(ctx, c.tokenKey(k)+":lock", ttl)
	if !took {
		return nil, false, err
	}
	return releaseSoon(release), true, nil
}

// A shop's grant is "refresh:<refresh token>" or "revoked".
const (
	refreshPrefix = "refresh:"
	revoked       = "revoked"
)

func (c components) LoadShop(ctx context.Context, k component.Key) (component.Shop, error) {
	v, err := c.s.rdb.Get(ctx, c.grantKey(k)).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return component.Shop{}, nil
	case err != nil:
		return component.Shop{}, err
	case v == revoked:
		return component.Shop{Revoked: true}, nil
	}
	return component.Shop{RefreshToken: strings.TrimPrefix(v, refreshPrefix)}, nil
}

// The scripts below change a shop's grant (KEYS[1]) and token (KEYS[2])
// together, and authorize and revoke the time of its last event (KEYS[3]).
// ARGV[1] is a refresh token, ARGV[2] an encoded token and ARGV[3] its
// lifetime in milliseconds.

// authorize replaces both, unless the last event is later than ARGV[4]
// (Unix ms; then it answers 0); an empty refresh token deletes the grant,
// an empty token or lifetime the token.
var authorize = redis.NewScript(`
local last = tonumber(redis.call("GET", KEYS[3]))
if last and last > tonumber(ARGV[4]) then
  return 0
end
redis.call("SET", KEYS[3], ARGV[4])
if ARGV[1] ~= "" then
  redis.call("SET", KEYS[1], "refresh:" .. ARGV[1])
else
  redis.call("DEL", KEYS[1])
end
if ARGV[2] ~= "" and tonumber(ARGV[3]) > 0 then
  redis.call("SET", KEYS[2], ARGV[2], "PX", ARGV[3])
else
  redis.call("DEL", KEYS[2])
end
return 1`)

// saveRefreshed stores both only while the grant is still the refresh
// token ARGV[4] the refresh used, or absent when ARGV[4] is empty (then it
// answers 1; else 0).
var saveRefreshed = redis.NewScript(`
local v = redis.call("GET", KEYS[1])
if ARGV[4] == "" then
  if v then
    return 0
  end
elseif v ~= "refresh:" .. ARGV[4] then
  return 0
end
redis.call("SET", KEYS[1], "refresh:" .. ARGV[1])
if tonumber(ARGV[3]) > 0 then
  redis.call("SET", KEYS[2], ARGV[2], "PX", ARGV[3])
else
  redis.call("DEL", KEYS[2])
end
return 1`)

// revoke marks the grant revoked and deletes the token; with ARGV[1] set,
// only while the grant is that refresh token or absent; with ARGV[2] set
// (Unix ms), unless the last event is later, recording it (it answers 1
// when it revoked).
var revoke = redis.NewScript(`
if ARGV[2] ~= "" then
  local last = tonumber(redis.call("GET", KEYS[3]))
  if last and last > tonumber(ARGV[2]) then
    return 0
  end
  redis.call("SET", KEYS[3], ARGV[2])
end
if ARGV[1] ~= "" then
  local v = redis.call("GET", KEYS[1])
  if v and v ~= "refresh:" .. ARGV[1] then
    return 0
  end
end
redis.call("SET", KEYS[1], "revoked")
redis.call("DEL", KEYS[2])
return 1`)

func (c components) shopKeys(k component.Key) []string {
	return []string{c.grantKey(k), c.tokenKey(k), c.grantKey(k) + ":event"}
}

func (c components) Authorize(ctx context.Context, k component.Key, at time.Time, refresh string, g component.Grant, ttl time.Duration) (bool, error) {
	v := ""
	if g.Token != "" {
		v = encodeGrant(g)
	}
	n, err := authorize.Run(ctx, c.s.rdb, c.shopKeys(k), refresh, v, ttl.Milliseconds(), at.UnixMilli()).Int()
	return n == 1, err
}

func (c components) SaveRefreshed(ctx context.Context, k component.Key, used, refresh string, g component.Grant, ttl time.Duration) (bool, error) {
	n, err := saveRefreshed.Run(ctx, c.s.rdb, c.shopKeys(k), refresh, encodeGrant(g), ttl.Milliseconds(), used).Int()
	return n == 1, err
}

func (c components) Revoke(ctx context.Context, k component.Key, ifRefresh string, at time.Time) (bool, error) {
	event := ""
	if !at.IsZero() {
		event = strconv.FormatInt(at.UnixMilli(), 10)
	}
	n, err := revoke.Run(ctx, c.s.rdb, c.shopKeys(k), ifRefresh, event).Int()
	return n == 1, err
}
