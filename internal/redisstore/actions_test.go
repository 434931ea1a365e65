package redisstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/actions"
	"github.com/ordergraph/ordergraph/internal/redistest"
)

// The fleet's idempotency records follow the same rules as the local ones:
// a free key is taken, a settled one answers its record, another input
// is not taken, an unknown outcome or a lapsed claim is taken over.
func TestActionRecordsFollowTheRules(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	for name, records := range map[string]actions.Records{"redis": open(t, srv).ActionRecords(), "local": actions.NewLocalRecords()} {
		t.Run(name, func(t *testing.T) {
			now := time.Unix(1_800_000_000, 0)
			claim := func(key, hash, owner string, at time.Time) (actions.Record, bool) {
				t.Helper()
				r, ok, err := records.Claim(ctx, key, hash, owner, at.Add(30*time.Second), at, time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				return r, ok
			}
			if _, ok := claim("a", "h1", "o1", now); !ok {
				t.Fatal("a free key was not taken")
			}
			if r, ok := claim("a", "h1", "o2", now); ok || r.State != actions.Pending || r.Hash != "h1" {
				t.Fatalf("a held key: %+v %v", r, ok)
			}
			// The holder stores its baseline before it writes, then lapses.
			if err := records.Settle(ctx, "a", "o1", actions.Record{State: actions.Pending, Hash: "h1", Until: now.Add(30 * time.Second), Baseline: []byte(`{"b":1}`)}, time.Hour); err != nil {
				t.Fatal(err)
			}
			if r, ok := claim("a", "h1", "o2", now.Add(time.Minute)); !ok || r.State != actions.Pending || string(r.Baseline) != `{"b":1}` {
				t.Fatalf("a lapsed claim was not taken over with its baseline: %+v %v", r, ok)
			}
			// The lapsed holder can neither settle nor release its successor's claim.
			if err := records.Settle(ctx, "a", "o1", actions.Record{State: actions.Done, Hash: "h1"}, time.Hour); !errors.Is(err, actions.ErrNotHolder) {
				t.Fatalf("a lapsed holder settled: %v", err)
			}
			_ = records.Release(ctx, "a", "o1")
			if r, ok := claim("a", "h1", "o3", now.Add(time.Minute)); ok || r.State != actions.Pending {
				t.Fatalf("a lapsed holder released its successor's claim: %+v %v", r, ok)
			}
			if err := records.Settle(ctx, "a", "o2", actions.Record{State: actions.Done, Hash: "h1", Payload: []byte(`{"x":1}`)}, time.Hour); err != nil {
				t.Fatal(err)
			}
			if r, ok := claim("a", "h1", "o4", now.Add(time.Hour/2)); ok || r.State != actions.Done || string(r.Payload) != `{"x":1}` {
				t.Fatalf("a settled key: %+v %v", r, ok)
			}
			if r, ok := claim("a", "h2", "o5", now); ok || r.Hash != "h1" {
				t.Fatalf("another input took the key: %+v %v", r, ok)
			}
			claim("b", "h", "o6", now)
			_ = records.Settle(ctx, "b", "o6", actions.Record{State: actions.Unknown, Hash: "h", Baseline: []byte(`{"s":1}`)}, time.Hour)
			if r, ok := claim("b", "h", "o7", now); !ok || r.State != actions.Unknown || string(r.Baseline) != `{"s":1}` {
				t.Fatalf("an unknown outcome was not taken over: %+v %v", r, ok)
			}
			if err := records.Release(ctx, "b", "o7"); err != nil {
				t.Fatal(err)
			}
			if r, ok := claim("b", "other", "o8", now); !ok || r.State != "" {
				t.Fatalf("a released key is not free: %+v %v", r, ok)
			}
		})
	}
}

// An order's lock is one holder's across replicas, and waits end with the
// waiter's context.
func TestActionLocks(t *testing.T) {
	srv := redistest.Start(t)
	a, b := open(t, srv).ActionLocks(), open(t, srv).ActionLocks()
	ctx := context.Background()
	unlock, err := a.Lock(ctx, "1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.Lock(short, "1", time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("a held lock was taken: %v", err)
	}
	if u, err := b.Lock(ctx, "2", time.Minute); err != nil {
		t.Fatalf("another order's lock: %v", err)
	} else {
		u(ctx)
	}
	got := make(chan error, 1)
	go func() {
		u, err := b.Lock(ctx, "1", time.Minute)
		if err == nil {
			u(ctx)
		}
		got <- err
	}()
	unlock(ctx)
	if err := <-got; err != nil {
		t.Fatalf("the lock was not taken once released: %v", err)
	}
}
