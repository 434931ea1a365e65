package redisstore

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/redistest"
	"github.com/ordergraph/ordergraph/internal/wxpush"
)

// Two replicas share the memory of pushes: a key is taken by one of them
// only, and once done it is done for both. With Redis down each remembers
// alone, logging the outage once, and with Redis back they share again.
func TestPushSeenAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	a, b := open(t, srv).PushSeen(time.Hour, time.Minute, log), open(t, srv).PushSeen(time.Hour, time.Minute, log)
	ctx := context.Background()
	if a.Claim(ctx, "k1") != wxpush.Unseen || b.Claim(ctx, "k1") != wxpush.Processing || a.Claim(ctx, "k1") != wxpush.Processing {
		t.Fatal("a key was taken by more than one replica, or never")
	}
	a.Done(ctx, "k1")
	if b.Claim(ctx, "k1") != wxpush.Done {
		t.Fatal("a key done on one replica is not done on the other")
	}
	srv.Stop()
	if a.Claim(ctx, "k2") != wxpush.Unseen {
		t.Fatal("with Redis down a push is not taken")
	}
	a.Done(ctx, "k2")
	if a.Claim(ctx, "k2") != wxpush.Done {
		t.Fatal("with Redis down a replica does not remember alone")
	}
	if n := strings.Count(logs.String(), "unreachable"); n != 1 {
		t.Fatalf("the outage was logged %d times:\n%s", n, logs.String())
	}
	srv.Restart(t)
	if b.Claim(ctx, "k4") != wxpush.Unseen || a.Claim(ctx, "k4") != wxpush.Processing || !strings.Contains(logs.String(), "reachable again") {
		t.Fatalf("after the outage: %s", logs.String())
	}
}

// The processing mark expires by itself: a replica that took a push and
// crashed before publishing it lets WeChat's retry through to another. The
// done mark lasts its window.
func TestPushSeenProcessingExpires(t *testing.T) {
	srv := redistest.Start(t)
	st := open(t, srv)
	crashed, other := st.PushSeen(time.Hour, 50*time.Millisecond, slog.New(slog.DiscardHandler)), open(t, srv).PushSeen(time.Hour, 50*time.Millisecond, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	if crashed.Claim(ctx, "k") != wxpush.Unseen || other.Claim(ctx, "k") != wxpush.Processing {
		t.Fatal("the key was not taken")
	}
	key := st.key("push", "k")
	if ttl := st.rdb.PTTL(ctx, key).Val(); ttl <= 0 || ttl > 50*time.Millisecond {
		t.Fatalf("the processing mark lives %v", ttl)
	}
	for st.rdb.Exists(ctx, key).Val() == 1 { // Redis expires it: wait for that, not for a time
		time.Sleep(5 * time.Millisecond)
	}
	if other.Claim(ctx, "k") != wxpush.Unseen {
		t.Fatal("the retry after the crash was kept out")
	}
	other.Done(ctx, "k")
	if ttl := st.rdb.PTTL(ctx, key).Val(); ttl <= 59*time.Minute || st.rdb.Get(ctx, key).Val() != "done" {
		t.Fatalf("the done mark: %q for %v", st.rdb.Get(ctx, key).Val(), ttl)
	}
}
