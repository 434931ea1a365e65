package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/ordergraph/ordergraph/internal/pagecache"
)

// Pages keeps list and search pages for all replicas: each under a key
// that carries the layout of pagecache.Entry, its value the generation it
// was fetched in and the entry as JSON. The generation is one random value
// per shop, which any order event replaces; a page of another generation
// is never returned. A random generation, not a counter: were the key
// lost, a new one could not match the pages of an earlier one.
//
// Redis being away makes every lookup a miss. An event that could not
// end the generation leaves pages in Redis that may be stale, so this
// replica then reads none until they have expired (TTL after the failure).
type Pages struct {
	s        *Store
	ttl      time.Duration
	distrust distrust
}

var _ pagecache.Backend = (*Pages)(nil)

// Pages returns a page cache whose entries live for ttl.
func (s *Store) Pages(ttl time.Duration) *Pages {
	return &Pages{s: s, ttl: ttl, distrust: newDistrust(ttl)}
}

var pageLayout = layoutOf(reflect.TypeFor[pagecache.Entry]())

func (p *Pages) genKey() string         { return p.s.key("pages-gen") }
func (p *Pages) key(name string) string { return p.s.key("page", pageLayout, name) }

func (p *Pages) Get(ctx context.Context, name string) (pagecache.Entry, string, bool) {
	if p.distrust.active() {
		return pagecache.Entry{}, "", false
	}
	vals, err := p.s.rdb.MGet(ctx, p.genKey(), p.key(name)).Result()
	if err != nil || len(vals) != 2 {
		return pagecache.Entry{}, "", false
	}
	gen, _ := vals[0].(string)
	if gen == "" {
		if gen, err = p.begin(ctx); err != nil {
			return pagecache.Entry{}, "", false
		}
	}
	stored, _ := vals[1].(string)
	at, body, ok := strings.Cut(stored, "\n")
	var e pagecache.Entry
	if !ok || at != gen || json.Unmarshal([]byte(body), &e) != nil {
		return pagecache.Entry{}, gen, false
	}
	return e, "", true
}

// begin starts a generation where there is none (Redis restarted, or no
// event for a TTL), or returns the one another replica started first.
func (p *Pages) begin(ctx context.Context) (string, error) {
	if err := p.s.rdb.SetNX(ctx, p.genKey(), newGeneration(), p.ttl).Err(); err != nil {
		return "", err
	}
	return p.s.rdb.Get(ctx, p.genKey()).Result()
}

func (p *Pages) Add(ctx context.Context, name string, e pagecache.Entry, gen string) {
	if gen == "" {
		return
	}
	b, err := json.Marshal(e)
	if err == nil {
		_ = p.s.rdb.Set(ctx, p.key(name), gen+"\n"+string(b), p.ttl).Err()
	}
}

// Bump replaces the generation. The new one lives as long as a page: once
// it has expired, so has every page of it.
func (p *Pages) Bump(ctx context.Context) {
	if err := p.s.rdb.Set(ctx, p.genKey(), newGeneration(), p.ttl).Err(); err != nil {
		p.distrust.missed()
	}
}

func newGeneration() string {
	var r [8]byte
	_, _ = rand.Read(r[:])
	return hex.EncodeToString(r[:])
}
