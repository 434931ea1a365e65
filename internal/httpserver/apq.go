package httpserver

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/ordergraph/ordergraph/internal/codes"
)

// Automatic persisted queries remember documents that clients send, so
// what they remember is bounded: a document must have passed everything a
// document passes before execution (parse and the token limit, validation,
// the introspection policy, depth, aliases and cost), be at most
// MaxPersistedQueryBytes, and all of them fit in APQCacheBytes, in each
// process and in Redis alike.
const (
	// MaxPersistedQueryBytes is the largest document remembered: the
	// operations of a shop's frontends are 1 to 3 KB. A larger one still
	// runs; its hash alone answers PERSISTED_QUERY_NOT_FOUND.
	MaxPersistedQueryBytes = 16 << 10
	// APQCacheBytes bounds the documents remembered (hashes included): at
	// least 256 of the largest, a thousand or more of the usual.
	APQCacheBytes = 4 << 20
)

// persistedQueries is gqlgen's AutomaticPersistedQuery (the Apollo
// protocol) with one difference: gqlgen remembers a document as soon as
// its hash matches, before it is even parsed, so any client could fill the
// cache, and Redis, with documents nobody may run. This one names the hash
// to remember when the parameters arrive and remembers the document only
// once the operation context is complete; it must be the last operation
// context mutator, after the limits.
type persistedQueries struct{ cache graphql.Cache[string] }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
	graphql.OperationContextMutator
} = persistedQueries{}

func (persistedQueries) ExtensionName() string                   { return "PersistedQueries" }
func (persistedQueries) Validate(graphql.ExecutableSchema) error { return nil }

// toRemember is the stats entry that carries a hash from parameters to
// context.
const toRemember = "persistedQueryToRemember"

func (p persistedQueries) MutateOperationParameters(ctx context.Context, raw *graphql.RawParams) *gqlerror.Error {
	ext, ok := raw.Extensions["persistedQuery"]
	if !ok || ext == nil {
		return nil
	}
	pq, ok := ext.(map[string]any)
	hash, _ := pq["sha256Hash"].(string)
	if !ok || hash == "" {
		return gqlerror.Errorf("invalid APQ extension data")
	}
	if fmt.Sprint(pq["version"]) != "1" {
		return gqlerror.Errorf("unsupported APQ version")
	}
	if raw.Query == "" {
		query, ok := p.cache.Get(ctx, hash)
		if !ok {
			err := gqlerror.Errorf("PersistedQueryNotFound") // the message Apollo clients look for
			errcode.Set(err, string(codes.PersistedQueryNotFound))
			return err
		}
		raw.Query = query
		return nil
	}
	if sha256Hex(raw.Query) != hash {
		return gqlerror.Errorf("provided APQ hash does not match query")
	}
	if len(raw.Query) <= MaxPersistedQueryBytes {
		graphql.GetOperationContext(ctx).Stats.SetExtension(toRemember, hash)
	}
	return nil
}

func (p persistedQueries) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if hash, ok := oc.Stats.GetExtension(toRemember).(string); ok {
		p.cache.Add(ctx, hash, oc.RawQuery)
	}
	return nil
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// smallOnly keeps the documents of at most MaxPersistedQueryBytes in a
// cache keyed by query text, such as gqlgen's cache of parsed documents:
// its entries hold the whole text, and 1,000 of them padded to
// MAX_BODY_BYTES would hold a gigabyte.
type smallOnly[T any] struct{ graphql.Cache[T] }

func (c smallOnly[T]) Add(ctx context.Context, query string, v T) {
	if len(query) <= MaxPersistedQueryBytes {
		c.Cache.Add(ctx, query, v)
	}
}

// NewAPQCache returns the process's memory of persisted queries: the
// least recently used go first once their hashes and documents pass
// APQCacheBytes.
func NewAPQCache() graphql.Cache[string] { return newByteLRU(APQCacheBytes) }

// byteLRU is a cache of strings bounded by the bytes of its keys and values.
type byteLRU struct {
	mu    sync.Mutex
	max   int
	size  int
	order *list.List // of *lruEntry, most recently used first
	items map[string]*list.Element
}

type lruEntry struct{ key, value string }

func newByteLRU(maxBytes int) *byteLRU {
	return &byteLRU{max: maxBytes, order: list.New(), items: map[string]*list.Element{}}
}

func (c *byteLRU) Get(_ context.Context, key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return "", false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruEntry).value, true
}

func (c *byteLRU) Add(_ context.Context, key, value string) {
	size := len(key) + len(value)
	if size > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.size += len(value) - len(e.Value.(*lruEntry).value)
		e.Value.(*lruEntry).value = value
		c.order.MoveToFront(e)
	} else {
		c.items[key] = c.order.PushFront(&lruEntry{key, value})
		c.size += size
	}
	for c.size > c.max {
		oldest := c.order.Back()
		entry := oldest.Value.(*lruEntry)
		c.order.Remove(oldest)
		delete(c.items, entry.key)
		c.size -= len(entry.key) + len(entry.value)
	}
}
