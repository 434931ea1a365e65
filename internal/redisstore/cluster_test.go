package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/redis/go-redis/v9"

	"github.com/ordergraph/ordergraph/internal/actions"
	"github.com/ordergraph/ordergraph/internal/component/componenttest"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/pagecache"
	"github.com/ordergraph/ordergraph/internal/poller"
	"github.com/ordergraph/ordergraph/internal/redistest"
	"github.com/ordergraph/ordergraph/internal/token"
	"github.com/ordergraph/ordergraph/internal/wxpush"
)

// Every operation of the store, on the root and on a shop's view, works
// on a three-node cluster: a script or command whose keys spanned two
// slots would fail with CROSSSLOT, which errorLog records even where the
// operation falls back and hides it.
func TestEveryOperationOnACluster(t *testing.T) {
	c := redistest.StartCluster(t)
	root, err := Open(c.URL(), "wxtest")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = root.Close() })
	if _, ok := root.rdb.(*redis.ClusterClient); !ok {
		t.Fatalf("seeds opened a %T", root.rdb)
	}
	errs := &errorLog{}
	root.rdb.AddHook(errs)
	for name, s := range map[string]*Store{"root": root, "shop": root.Shop("wxA")} {
		t.Run(name, func(t *testing.T) { everyOperation(t, s) })
	}
	if got := errs.all(); len(got) != 0 {
		t.Fatalf("Redis refused:\n%s", strings.Join(got, "\n"))
	}
	// The log does see what a cluster refuses.
	_ = root.rdb.MGet(context.Background(), root.key("a"), "b").Err()
	if got := errs.all(); len(got) != 1 || !strings.Contains(got[0], "CROSSSLOT") {
		t.Fatalf("a command over two slots: %v", got)
	}
}

func everyOperation(t *testing.T, s *Store) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	check := func(what string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("%s: wrong answer", what)
		}
	}

	tokens := s.Tokens()
	g := token.Grant{Token: "T", Issued: time.Now(), Expires: time.Now().Add(time.Hour)}
	check("token save", tokens.Save(ctx, g) == nil)
	loaded, err := tokens.Load(ctx)
	check("token load", err == nil && loaded.Token == "T")
	unlock, took, err := tokens.Lock(ctx)
	check("token lock", err == nil && took)
	unlock()
	check("token delete", tokens.DeleteIf(ctx, "T") == nil)
	allowed, err := tokens.AllowForce(ctx, time.Now())
	check("force refresh", err == nil && allowed)

	queries := s.Queries(lru.New[string](1), 100, 1000)
	for i := range 15 { // past the bound: the script forgets the oldest
		queries.Add(ctx, fmt.Sprint("h", i), fmt.Sprintf("{ a%02d }%s", i, strings.Repeat(" ", 80)))
	}
	_, ok := s.Queries(lru.New[string](1), 100, 1000).Get(ctx, "h14")
	check("persisted query", ok)

	orders := s.Orders(time.Minute)
	_, stamp, _ := orders.Get(ctx, 1)
	orders.Add(ctx, 1, &order.Order{ID: 1}, stamp)
	orders.Forget(ctx, 1)
	_, _, hit := orders.Get(ctx, 1)
	check("forgotten order", !hit)
	_, stamp, _ = orders.Get(ctx, 2)
	orders.Add(ctx, 2, &order.Order{ID: 2}, stamp)
	_, _, hit = orders.Get(ctx, 2)
	check("kept order", hit)
	orders.ForgetAll(ctx)
	_, _, hit = orders.Get(ctx, 2)
	check("order after ForgetAll", !hit)

	pages := s.Pages(time.Minute)
	_, gen, _ := pages.Get(ctx, "p")
	pages.Add(ctx, "p", pagecache.Entry{Page: order.ListPage{Total: 1}}, gen)
	_, _, hit = pages.Get(ctx, "p")
	check("kept page", hit)
	pages.Bump(ctx)
	_, _, hit = pages.Get(ctx, "p")
	check("page after an event", !hit)

	lease := s.PollLease(log)
	check("poll lease", lease.Hold(ctx, time.Minute))
	check("poll lease renewed", lease.Hold(ctx, time.Minute))
	memory := s.PollMemory(log)
	check("poll memory", memory.SetLast(ctx, time.Unix(5, 0)) == nil)
	check("poll memory", memory.Remember(ctx, map[uint64]poller.Seen{1: {Status: 10}, 2: {Status: 20}, 3: {Status: 30}}, time.Minute) == nil)
	seen, err := memory.Seen(ctx, []uint64{1, 2, 3, 4})
	check("poll memory", err == nil && seen[2] != nil && seen[2].Status == 30 && seen[3] == nil)

	push := s.PushSeen(time.Hour, time.Minute, log)
	check("push claim", push.Claim(ctx, "k") == wxpush.Unseen)
	push.Done(ctx, "k")
	check("push done", push.Claim(ctx, "k") == wxpush.Done)

	check("upstream limit", s.UpstreamLimiter(100, log).Wait(ctx, time.Second) == nil)

	records, now := s.ActionRecords(), time.Now()
	_, took, err = records.Claim(ctx, "a", "h", "o1", now.Add(time.Minute), now, time.Hour)
	check("action claim", err == nil && took)
	check("action settle", records.Settle(ctx, "a", "o1", actions.Record{State: actions.Done, Hash: "h"}, time.Hour) == nil)
	_, took, err = records.Claim(ctx, "b", "h", "o1", now.Add(time.Minute), now, time.Hour)
	check("action release", err == nil && took && records.Release(ctx, "b", "o1") == nil)
	release, err := s.ActionLocks().Lock(ctx, "1", time.Minute)
	check("action lock", err == nil)
	release(ctx)

	componenttest.StoreContract(t, s.Component())
}

// errorLog is a hook recording every error Redis answers but a missing key
// (redis.Nil) and a script it has yet to load (NOSCRIPT, after which
// go-redis sends the script itself).
type errorLog struct {
	mu   sync.Mutex
	errs []string
}

func (l *errorLog) record(cmd redis.Cmder) {
	err := cmd.Err()
	if err == nil || errors.Is(err, redis.Nil) || strings.HasPrefix(err.Error(), "NOSCRIPT") {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, fmt.Sprintf("%v: %v", cmd.Args(), err))
}

func (l *errorLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.errs
}

func (l *errorLog) DialHook(next redis.DialHook) redis.DialHook { return next }

func (l *errorLog) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		l.record(cmd)
		return err
	}
}

func (l *errorLog) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			l.record(cmd)
		}
		return err
	}
}
