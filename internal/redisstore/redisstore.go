// Package redisstore keeps the state that replicas of the server share in
// Redis, a single node or a Redis Cluster (Open, OpenCluster):
//
//   - the access token, with its refresh lock and force-refresh allowance
//     (Tokens);
//   - as a third-party platform, its verify ticket, its token and its
//     shops' tokens and refresh tokens, with a refresh lock per token
//     (Component);
//   - automatic persisted queries (Queries), the order cache (Orders) and
//     the page cache (Pages);
//   - the upstream rate limit, one budget for the fleet (UpstreamLimiter);
//   - order events: their fan-out to every replica (Events), the memory of
//     WeChat Store pushes taken and published (PushSeen), and for the Mini
//     Shop poller the lease that lets one replica poll at a time
//     (PollLease) and what it remembers between polls (PollMemory).
//
// Keys live under ordergraph:{<namespace>}:, and a shop's under
// ordergraph:{<namespace>/<appid>}: (Shop, a view for one shop of a
// platform serving many): the braces are a cluster hash tag, so that each
// store's keys share a slot and its scripts work on a cluster. Events go
// through one channel a namespace, the shop named in each message, so that
// a process holds one subscription however many shops it serves.
//
// Every operation is short and bounded, and Redis being away is never
// fatal: callers treat an error as "Redis is away" and carry on with
// process-local state, and the pieces that fall back by themselves (the
// rate limit, the events, the poll lease and memory, push dedupe) log the
// outage and the recovery once each.
package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/redis/go-redis/v9"

	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/token"
)

// Store is a connection to Redis, a single node or a cluster, under a key
// prefix of its own. On a cluster every key of a store carries one hash
// tag, its namespace (and, for a shop's view, the shop: see Shop), so that
// the cluster keeps all of them in one slot: every script and multi-key
// command of this package touches keys of one store only, and so never
// spans two slots. A single node's root keys keep the prefix they had
// before clusters, ordergraph:<namespace>:, so that replicas of a version
// before it and after it share their records, locks and events during a
// rolling upgrade.
type Store struct {
	rdb       redis.UniversalClient
	namespace string
	prefix    string
	// view is set on a store from Shop, which shares its root's client.
	view bool
}

// Open connects to the Redis at url: redis://, rediss:// or unix:// for one
// node, or several comma-separated redis:// (or rediss://) URLs, the seed
// nodes of a cluster. Keys are prefixed with namespace, so several apps can
// share one Redis.
func Open(url, namespace string) (*Store, error) {
	if strings.Contains(url, ",") {
		return OpenCluster(url, namespace)
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	// Fail fast: a slow Redis must not hold requests; the server has a
	// process-local fallback for everything kept here.
	opts.DialTimeout = 500 * time.Millisecond
	opts.ReadTimeout = 500 * time.Millisecond
	opts.WriteTimeout = 500 * time.Millisecond
	opts.MaxRetries = -1 // go-redis reads 0 as its default, 3 retries
	opts.DialerRetries = 1
	return newStore(traced(redis.NewClient(opts)), namespace, "ordergraph:"+namespace+":")
}

// OpenCluster connects to the Redis Cluster whose seed nodes are the
// comma-separated redis:// or rediss:// URLs in seeds (one is enough: the
// client learns the others from it). Credentials, TLS and options are the
// first seed's; the others add addresses only. Unix sockets name one node
// and are refused.
func OpenCluster(seeds, namespace string) (*Store, error) {
	var opts *redis.ClusterOptions
	for seed := range strings.SplitSeq(seeds, ",") {
		seed = strings.TrimSpace(seed)
		o, err := redis.ParseClusterURL(seed)
		if err != nil {
			return nil, fmt.Errorf("cluster seed %q: %w", seed, err)
		}
		switch {
		case opts == nil:
			opts = o
		case (o.TLSConfig == nil) != (opts.TLSConfig == nil):
			return nil, fmt.Errorf("cluster seed %q: mixes redis:// and rediss://", seed)
		default:
			opts.Addrs = append(opts.Addrs, o.Addrs...)
		}
	}
	// The same fail-fast settings as a single node's (see Open).
	opts.DialTimeout = 500 * time.Millisecond
	opts.ReadTimeout = 500 * time.Millisecond
	opts.WriteTimeout = 500 * time.Millisecond
	opts.MaxRetries = -1
	opts.DialerRetries = 1
	// The cluster client spends one budget on redirects and on retries of
	// failed attempts: one is enough to follow a slot that moved (MOVED)
	// or is moving (ASK), and lets a node that does not answer cost two
	// attempts at most.
	opts.MaxRedirects = 1
	return newStore(traced(redis.NewClusterClient(opts)), namespace, prefixOf(namespace))
}

// newStore is the root store over rdb, its keys under prefix. A namespace with a brace would end
// the hash tag early or start another, and one with a slash could be a
// shop's view of another namespace; config refuses both, and so does this.
func newStore(rdb redis.UniversalClient, namespace, prefix string) (*Store, error) {
	if namespace == "" || strings.ContainsAny(namespace, "{}/") {
		_ = rdb.Close()
		return nil, fmt.Errorf("namespace %q: want a non-empty namespace without '{', '}' or '/'", namespace)
	}
	return &Store{rdb: rdb, namespace: namespace, prefix: prefix}, nil
}

// prefixOf is the prefix of keys whose hash tag is tag.
func prefixOf(tag string) string { return "ordergraph:{" + tag + "}:" }

// Shop is the view of the store for the shop appid, as a third-party
// platform serving many shops keeps them: the same client, and keys under
// ordergraph:{<namespace>/<appid>}:, a hash tag of the shop's own, so that
// the shops of a cluster spread over its nodes while each shop's keys stay
// in one slot. appid must match ^[A-Za-z0-9_-]{1,32}$ (callers validate it
// where it enters): a brace in it would break the hash tag. A view's Close
// does nothing; the root store owns the client. Events belong to the root
// (one subscription a process); a view's Events are its root's.
func (s *Store) Shop(appid string) *Store {
	return &Store{rdb: s.rdb, namespace: s.namespace, prefix: prefixOf(s.namespace + "/" + appid), view: true}
}

func init() {
	// go-redis prints every failed dial to stderr; the token manager logs an
	// outage once, in the server's own structured log.
	redis.SetLogger(quiet{})
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// Close closes the connection pool; on a view from Shop it does nothing, so
// that closing a shop's view never cuts the other shops off.
func (s *Store) Close() error {
	if s.view {
		return nil
	}
	return s.rdb.Close()
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error { return s.rdb.Ping(ctx).Err() }

func (s *Store) key(parts ...string) string { return s.prefix + strings.Join(parts, ":") }

// Tokens is the token.Shared view of the store.
func (s *Store) Tokens() token.Shared { return tokens{s} }

type tokens struct{ s *Store }

// lockTTL bounds how long a crashed replica can hold the refresh lock.
const lockTTL = 10 * time.Second

// A grant is stored as "token|issuedUnixMilli|expiresUnixMilli", expiring
// with the token.
func (t tokens) Load(ctx context.Context) (token.Grant, error) {
	v, err := t.s.rdb.Get(ctx, t.s.key("token")).Result()
	if errors.Is(err, redis.Nil) {
		return token.Grant{}, nil
	}
	if err != nil {
		return token.Grant{}, err
	}
	parts := strings.Split(v, "|")
	if len(parts) != 3 {
		return token.Grant{}, nil // unreadable: as if absent, the next save replaces it
	}
	issued, err1 := strconv.ParseInt(parts[1], 10, 64)
	expires, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return token.Grant{}, nil
	}
	return token.Grant{Token: parts[0], Issued: time.UnixMilli(issued), Expires: time.UnixMilli(expires)}, nil
}

func (t tokens) Save(ctx context.Context, g token.Grant) error {
	ttl := time.Until(g.Expires)
	if ttl <= 0 {
		return nil
	}
	v := fmt.Sprintf("%s|%d|%d", g.Token, g.Issued.UnixMilli(), g.Expires.UnixMilli())
	return t.s.rdb.Set(ctx, t.s.key("token"), v, ttl).Err()
}

// deleteIfOwner deletes KEYS[1] only when its value starts with ARGV[1]:
// compare-and-delete in one step, so nobody deletes what another just wrote.
var deleteIfOwner = redis.NewScript(`
local v = redis.call("GET", KEYS[1])
if v and string.sub(v, 1, string.len(ARGV[1])) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0`)

func (t tokens) Lock(ctx context.Context) (func(), bool, error) {
	release, took, err := t.s.tryLock(ctx, t.s.key("token", "lock"), lockTTL)
	if !took {
		return nil, false, err
	}
	return releaseSoon(release), true, nil
}

// tryLock takes key for ttl (SET NX PX) under an owner token of its own,
// so that a holder that died holds it no longer; release deletes it only
// while it is still that owner's.
func (s *Store) tryLock(ctx context.Context, key string, ttl time.Duration) (release func(context.Context), took bool, err error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	owner := hex.EncodeToString(b[:])
	if took, err = s.rdb.SetNX(ctx, key, owner, ttl).Result(); err != nil || !took {
		return nil, false, err
	}
	return func(ctx context.Context) { _ = deleteIfOwner.Run(ctx, s.rdb, []string{key}, owner).Err() }, true, nil
}

// releaseSoon is release for a caller without a context: a second at most.
func releaseSoon(release func(context.Context)) func() {
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		release(ctx)
	}
}

func (t tokens) DeleteIf(ctx context.Context, tok string) error {
	return deleteIfOwner.Run(ctx, t.s.rdb, []string{t.s.key("token")}, tok+"|").Err()
}

// AllowForce rations force refreshes across replicas: a 30-second gate
// (SET NX) and a count per China calendar day, as the vendor limits them.
func (t tokens) AllowForce(ctx context.Context, now time.Time) (bool, error) {
	gate, err := t.s.rdb.SetNX(ctx, t.s.key("token", "force", "gate"), "1", 30*time.Second).Result()
	if err != nil || !gate {
		return false, err
	}
	day := t.s.key("token", "force", now.In(order.ChinaTime).Format("20060102"))
	n, err := t.s.rdb.Incr(ctx, day).Result()
	if err != nil {
		return false, err
	}
	t.s.rdb.Expire(ctx, day, 25*time.Hour)
	return n <= 20, nil
}

// QueryCache is a gqlgen cache of persisted queries (hash -> query text)
// shared by all replicas, with local in front: a hash registered on one
// replica works on all, and each replica asks Redis once per hash. Redis
// holds documents of at most maxEntry bytes and, hashes included, maxTotal
// bytes in all: registering one past that forgets the least recently
// registered or read, as each process's own cache does.
type QueryCache struct {
	s                  *Store
	local              graphql.Cache[string]
	maxEntry, maxTotal int
}

var _ graphql.Cache[string] = (*QueryCache)(nil)

// Queries returns a persisted-query cache over local, bounded as above.
func (s *Store) Queries(local graphql.Cache[string], maxEntry, maxTotal int) *QueryCache {
	return &QueryCache{s: s, local: local, maxEntry: maxEntry, maxTotal: maxTotal}
}

// queryKeys are the documents by hash, their recency (a sorted set scored
// by a sequence number) and their total size, with the sequence.
func (q *QueryCache) queryKeys() []string {
	return []string{q.s.key("apq", "docs"), q.s.key("apq", "recent"), q.s.key("apq", "bytes"), q.s.key("apq", "seq")}
}

// Get looks in the local cache, then in Redis; Redis being away is a miss.
func (q *QueryCache) Get(ctx context.Context, hash string) (string, bool) {
	if v, ok := q.local.Get(ctx, hash); ok {
		return v, true
	}
	keys := q.queryKeys()
	v, err := q.s.rdb.HGet(ctx, keys[0], hash).Result()
	if err != nil || len(v) > q.maxEntry {
		return "", false
	}
	_ = touchQuery.Run(ctx, q.s.rdb, keys, hash).Err()
	q.local.Add(ctx, hash, v)
	return v, true
}

// Add registers a query locally and, when Redis answers, for all replicas.
func (q *QueryCache) Add(ctx context.Context, hash, query string) {
	if len(query) > q.maxEntry {
		return
	}
	q.local.Add(ctx, hash, query)
	_ = addQuery.Run(ctx, q.s.rdb, q.queryKeys(), hash, query, q.maxTotal).Err()
}

// addQuery stores a document (ARGV[1] its hash, ARGV[2] the text) as the
// most recent, then forgets the least recent until the documents and
// their hashes fit in ARGV[3] bytes, in one step. A total that has lost
// count of the documents (they were deleted by hand) starts again.
var addQuery = redis.NewScript(`
local docs, recent, bytes, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
if redis.call("HSETNX", docs, ARGV[1], ARGV[2]) == 1 then
  redis.call("INCRBY", bytes, string.len(ARGV[1]) + string.len(ARGV[2]))
end
redis.call("ZADD", recent, redis.call("INCR", seq), ARGV[1])
local total = tonumber(redis.call("GET", bytes))
while total > tonumber(ARGV[3]) do
  local oldest = redis.call("ZPOPMIN", recent)
  if #oldest == 0 then
    redis.call("DEL", docs, bytes)
    return 0
  end
  local doc = redis.call("HGET", docs, oldest[1])
  if doc then
    redis.call("HDEL", docs, oldest[1])
    total = redis.call("DECRBY", bytes, string.len(oldest[1]) + string.len(doc))
  end
end
return 1`)

// touchQuery makes a stored document the most recent.
var touchQuery = redis.NewScript(`
redis.call("ZADD", KEYS[2], "XX", redis.call("INCR", KEYS[4]), ARGV[1])
return 1`)
