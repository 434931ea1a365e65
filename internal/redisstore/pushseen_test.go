package redisstore

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/redistest"
)

// Two replicas share the memory of pushes: a key is first on one of them
// only. With Redis down each remembers alone, logging the outage once, and
// with Redis back they share again.
func TestPushSeenAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	a, b := open(t, srv).PushSeen(time.Hour, log), open(t, srv).PushSeen(time.Hour, log)
	ctx := context.Background()
	if !a.First(ctx, "k1") || b.First(ctx, "k1") || a.First(ctx, "k1") {
		t.Fatal("a key was first on more than one replica, or never")
	}
	srv.Stop()
	if !a.First(ctx, "k2") || a.First(ctx, "k2") || !a.First(ctx, "k3") {
		t.Fatal("with Redis down a replica does not remember alone")
	}
	if n := strings.Count(logs.String(), "unreachable"); n != 1 {
		t.Fatalf("the outage was logged %d times:\n%s", n, logs.String())
	}
	srv.Restart(t)
	if !b.First(ctx, "k4") || a.First(ctx, "k4") || !strings.Contains(logs.String(), "reachable again") {
		t.Fatalf("after the outage: %s", logs.String())
	}
}
