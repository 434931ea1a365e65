package redisstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/redis/go-redis/v9"

	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/redistest"
	"github.com/ordergraph/ordergraph/internal/token"
)

func open(t *testing.T, srv *redistest.Server) *Store {
	t.Helper()
	s, err := Open(srv.URL(), "wxtest")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestTokenStore(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, srv).Tokens()
	ctx := context.Background()
	if g, err := s.Load(ctx); err != nil || g.Token != "" {
		t.Fatalf("empty store: %+v %v", g, err)
	}
	g := token.Grant{Token: "A", Issued: time.Now().Truncate(time.Millisecond), Expires: time.Now().Add(time.Hour).Truncate(time.Millisecond)}
	if err := s.Save(ctx, g); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Load(ctx); got.Token != "A" || !got.Expires.Equal(g.Expires) || !got.Issued.Equal(g.Issued) {
		t.Fatalf("got %+v, want %+v", got, g)
	}
	// Compare-and-delete: a stale report about another token deletes nothing.
	_ = s.DeleteIf(ctx, "B")
	_ = s.DeleteIf(ctx, "") // not a prefix trick either
	if got, _ := s.Load(ctx); got.Token != "A" {
		t.Fatalf("DeleteIf of another token deleted %+v", got)
	}
	_ = s.DeleteIf(ctx, "A")
	if got, _ := s.Load(ctx); got.Token != "" {
		t.Fatalf("DeleteIf of the stored token left %+v", got)
	}

	unlock, ok, err := s.Lock(ctx)
	if err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	if _, ok2, _ := s.Lock(ctx); ok2 {
		t.Fatal("the lock was taken twice")
	}
	unlock()
	if u, ok3, _ := s.Lock(ctx); !ok3 {
		t.Fatal("the lock was not released")
	} else {
		u()
	}

	now := time.Now()
	if ok, _ := s.AllowForce(ctx, now); !ok {
		t.Fatal("first force refused")
	}
	if ok, _ := s.AllowForce(ctx, now); ok {
		t.Fatal("a second force within 30 s allowed")
	}
}

// Three replicas' token managers share one Redis: 300 concurrent cold
// requests fetch one token; after the upstream refuses it, one more.
func TestReplicasShareOneToken(t *testing.T) {
	srv := redistest.Start(t)
	var fetches atomic.Int64
	var mu sync.Mutex
	current := "T1"
	fetch := func(ctx context.Context, force bool) (string, time.Duration, error) {
		fetches.Add(1)
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		return current, 2 * time.Hour, nil
	}
	var managers []*token.Manager
	for range 3 {
		managers = append(managers, token.NewManager(fetch, token.Config{Shared: open(t, srv).Tokens()}))
	}
	wave := func() map[string]int {
		var wg sync.WaitGroup
		var mu sync.Mutex
		seen := map[string]int{}
		for i := range 300 {
			wg.Go(func() {
				tok, err := managers[i%3].Token(context.Background())
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				seen[tok]++
				mu.Unlock()
			})
		}
		wg.Wait()
		return seen
	}
	if seen := wave(); fetches.Load() != 1 || seen["T1"] != 300 {
		t.Fatalf("cold wave: %d fetches, tokens %v", fetches.Load(), seen)
	}
	mu.Lock()
	current = "T2"
	mu.Unlock()
	for _, m := range managers {
		m.Invalidate("T1") // every replica saw T1 refused
	}
	if seen := wave(); fetches.Load() != 2 || seen["T2"] != 300 {
		t.Fatalf("after revocation: %d fetches, tokens %v", fetches.Load(), seen)
	}
}

func TestRedisOutageFallsBackAndRecovers(t *testing.T) {
	srv := redistest.Start(t)
	var logs bytes.Buffer
	var fetches atomic.Int64
	fetch := func(context.Context, bool) (string, time.Duration, error) {
		n := fetches.Add(1)
		return fmt.Sprintf("T%d", n), 2 * time.Hour, nil
	}
	m := token.NewManager(fetch, token.Config{Shared: open(t, srv).Tokens(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	srv.Stop()
	for range 5 {
		if _, err := m.Token(context.Background()); err != nil {
			t.Fatalf("Redis down failed a request: %v", err)
		}
		m.Invalidate("T1") // force refresh paths that touch Redis
	}
	if n := strings.Count(logs.String(), "unreachable"); n != 1 {
		t.Fatalf("the outage was logged %d times:\n%s", n, logs.String())
	}
	srv.Restart(t)
	tok, _ := m.Token(context.Background())
	m.Invalidate(tok)
	if _, err := m.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "reachable again") {
		t.Fatalf("no recovery logged:\n%s", logs.String())
	}
}

// Redis holds no persisted query over the size of one, and no more than
// the total: registering past it forgets the least recently registered or
// read, whoever registers.
func TestSharedQueriesAreBounded(t *testing.T) {
	srv := redistest.Start(t)
	a, b := open(t, srv), open(t, srv)
	ctx := context.Background()
	const entry, total = 100, 1000
	// Empty local caches, so that every Get asks Redis.
	queries := func(s *Store) *QueryCache { return s.Queries(lru.New[string](1), entry, total) }
	doc := func(i int) string { return fmt.Sprintf("{ a%03d }%s", i, strings.Repeat(" ", 80)) } // 88 bytes
	queries(a).Add(ctx, "big", strings.Repeat(" ", entry+1))
	if _, ok := queries(b).Get(ctx, "big"); ok {
		t.Fatal("a document over the size of one was stored")
	}
	for i := range 20 {
		queries([]*Store{a, b}[i%2]).Add(ctx, fmt.Sprintf("h%02d", i), doc(i))
		queries(b).Get(ctx, "h00") // a document in use: read after each registration
	}
	// 91 bytes a hash and document: 10 fit in 1,000.
	var kept []string
	for i := range 20 {
		if _, ok := queries(b).Get(ctx, fmt.Sprintf("h%02d", i)); ok {
			kept = append(kept, fmt.Sprint(i))
		}
	}
	if got := strings.Join(kept, ","); got != "0,11,12,13,14,15,16,17,18,19" {
		t.Fatalf("kept %s; want the one in use and the 9 registered last", got)
	}
	keys := queries(a).queryKeys()
	stored, _ := a.rdb.HGetAll(ctx, keys[0]).Result()
	size := 0
	for h, d := range stored {
		size += len(h) + len(d)
	}
	if counted, _ := a.rdb.Get(ctx, keys[2]).Int(); size > total || counted != size {
		t.Fatalf("Redis holds %d bytes of documents and counts %d; the bound is %d", size, counted, total)
	}
}

func TestSharedQueriesAndOrders(t *testing.T) {
	srv := redistest.Start(t)
	a, b := open(t, srv), open(t, srv)
	ctx := context.Background()
	a.Queries(lru.New[string](10), 100, 1000).Add(ctx, "h1", "{ order(id: \"1\") { id } }")
	if q, ok := b.Queries(lru.New[string](10), 100, 1000).Get(ctx, "h1"); !ok || !strings.Contains(q, "order") {
		t.Fatal("a query registered on one replica is unknown to another")
	}
	openid := "o1"
	o := &order.Order{ID: 1<<63 + 5, Status: order.StatusCompleted, StatusCode: 100, Openid: &openid}
	a.Orders(time.Minute).Add(ctx, o.ID, o, "")
	got, _, ok := b.Orders(time.Minute).Get(ctx, o.ID)
	if !ok || got.ID != o.ID || got.Status != o.Status || *got.Openid != "o1" {
		t.Fatalf("got %+v", got)
	}
	srv.Stop()
	if _, _, ok := b.Orders(time.Minute).Get(ctx, o.ID); ok {
		t.Fatal("a hit from a stopped Redis")
	}
}

// A single node's keys carry the namespace as they always did, a shop's
// the namespace and the shop as a hash tag; a shop's view shares its root's client, which closing the view leaves
// open; seeds open a cluster, and nothing else does.
func TestKeyLayoutAndOpen(t *testing.T) {
	root, err := Open("redis://127.0.0.1:1", "ns") // connects on first use
	if err != nil {
		t.Fatal(err)
	}
	shop := root.Shop("wx_A-1")
	if k, s := root.key("token"), shop.key("token"); k != "ordergraph:ns:token" || s != "ordergraph:{ns/wx_A-1}:token" {
		t.Fatalf("keys %q and %q", k, s)
	}
	ctx := context.Background()
	if err := shop.Close(); err != nil || errors.Is(shop.Ping(ctx), redis.ErrClosed) {
		t.Fatal("closing a shop's view closed the client")
	}
	if err := root.Close(); err != nil || !errors.Is(shop.Ping(ctx), redis.ErrClosed) {
		t.Fatalf("the root did not close the client: %v", err)
	}
	cluster, err := Open("redis://10.0.0.1:7000, redis://10.0.0.2:7000", "ns")
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	if _, ok := cluster.rdb.(*redis.ClusterClient); !ok {
		t.Fatalf("seeds opened a %T", cluster.rdb)
	}
	for _, bad := range [][2]string{
		{"redis://10.0.0.1:7000,unix:///run/redis.sock", "ns"},
		{"redis://10.0.0.1:7000,rediss://10.0.0.2:7000", "ns"},
		{"redis://10.0.0.1:7000", ""},
		{"redis://10.0.0.1:7000", "n}s"},
		{"redis://10.0.0.1:7000", "ns/wxA"},
	} {
		if s, err := Open(bad[0], bad[1]); err == nil {
			_ = s.Close()
			t.Errorf("Open(%q, %q) opened", bad[0], bad[1])
		}
	}
}
