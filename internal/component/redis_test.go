package component_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/component"
	"github.com/ordergraph/ordergraph/internal/redisstore"
	"github.com/ordergraph/ordergraph/internal/redistest"
)

func redisStore(t *testing.T, srv *redistest.Server) component.Store {
	t.Helper()
	s, err := redisstore.Open(srv.URL(), "componenttest")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s.Component()
}

// Three replicas share one Redis: under concurrent calls each token is
// refreshed once per expiry, by one of them, and all serve that token.
func TestReplicasRefreshOnce(t *testing.T) {
	srv := redistest.Start(t)
	f, c := newFake(t), newClock()
	var replicas []*component.Platform
	for range 3 {
		replicas = append(replicas, newPlatform(t, f, c, redisStore(t, srv), componentAppID, nil))
	}
	f.setTicket("ticket@@@1")
	mustPost(t, replicas[0], c, componentAppID, ticketEvent(componentAppID, "ticket@@@1", c))
	mustPost(t, replicas[1], c, componentAppID, authorizedEvent(componentAppID, shopA, f.authorize(shopA), c))

	wave := func() map[string]int {
		var wg sync.WaitGroup
		var mu sync.Mutex
		seen := map[string]int{}
		for i := range 300 {
			wg.Go(func() {
				tok, err := replicas[i%3].ShopTokens(shopA).Token(context.Background())
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
	if seen := wave(); f.calls() != (calls{1, 1, 0, 0, 0}) || seen[f.currentToken(componentAppID, shopA)] != 300 {
		t.Fatalf("first wave: %v, tokens %v", f.calls(), seen)
	}
	for n := int64(1); n <= 3; n++ {
		c.Add(tokenLifetime + time.Minute)
		seen := wave()
		if got := f.calls(); got != (calls{1 + n, 1, n, 0, 0}) || seen[f.currentToken(componentAppID, shopA)] != 300 {
			t.Fatalf("after expiry %d: %v, tokens %v", n, got, seen)
		}
	}

	// A revocation received by one replica reaches the others within
	// Recheck, without a call.
	before := f.calls()
	mustPost(t, replicas[2], c, componentAppID, unauthorizedEvent(componentAppID, shopA, c))
	c.Add(5 * time.Second)
	for _, p := range replicas {
		_, err := p.ShopTokens(shopA).Token(context.Background())
		wantNotAuthorized(t, err, 0)
	}
	if got := f.calls(); got != before {
		t.Fatalf("WeChat was asked about a revoked shop: %v, then %v", before, got)
	}
}

// With Redis away a replica works from its own memory, logging the outage
// once, and shares again when Redis is back.
func TestRedisAwayFallsBack(t *testing.T) {
	srv := redistest.Start(t)
	f, c := newFake(t), newClock()
	var logs logBuffer
	p := newPlatform(t, f, c, redisStore(t, srv), componentAppID, &logs)
	srv.Stop()
	f.setTicket("ticket@@@1")
	mustPost(t, p, c, componentAppID, ticketEvent(componentAppID, "ticket@@@1", c))
	mustPost(t, p, c, componentAppID, authorizedEvent(componentAppID, shopA, f.authorize(shopA), c))
	shop := p.ShopTokens(shopA)
	tok := mustToken(t, shop)
	c.Add(10 * time.Second) // past Recheck: the store is asked, and away
	if got := mustToken(t, shop); got != tok {
		t.Fatalf("Redis away changed the token: %s, %s", tok, got)
	}
	c.Add(tokenLifetime)
	mustToken(t, shop) // refreshed from the refresh token kept in memory
	if got := f.calls(); got != (calls{2, 1, 1, 0, 0}) {
		t.Fatalf("with Redis away: %v", got)
	}
	if n := strings.Count(logs.String(), "unreachable"); n != 1 {
		t.Fatalf("the outage was logged %d times:\n%s", n, logs.String())
	}

	// Redis is back, empty: the next ticket is shared again, and the shop,
	// whose refresh token Redis lost, is recovered from WeChat's list.
	srv.Restart(t)
	// After failed dials go-redis dials again in the background, about a
	// second apart: wait for the replica to find Redis back.
	deadline := time.After(10 * time.Second)
	for !strings.Contains(logs.String(), "reachable again") {
		mustPost(t, p, c, componentAppID, ticketEvent(componentAppID, "ticket@@@1", c))
		select {
		case <-deadline:
			t.Fatalf("the replica did not find Redis back:\n%s", logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	other := newPlatform(t, f, c, redisStore(t, srv), componentAppID, nil)
	if err := other.Ready(); err != nil {
		t.Fatalf("the ticket was not shared after the outage: %v", err)
	}
	mustToken(t, other.ShopTokens(shopA))
	if n := f.listCalls.Load(); n != 1 {
		t.Fatalf("%d list calls, want 1", n)
	}
}
