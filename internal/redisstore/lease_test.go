package redisstore

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/redistest"
)

// One of two replicas holds the lease and keeps it while it renews; the
// other takes over when it lapses; with Redis down both poll.
func TestPollLease(t *testing.T) {
	srv := redistest.Start(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	a, b := open(t, srv).PollLease(log), open(t, srv).PollLease(log)
	ctx := context.Background()
	if !a.Hold(ctx, 300*time.Millisecond) || b.Hold(ctx, 300*time.Millisecond) || !a.Hold(ctx, 300*time.Millisecond) {
		t.Fatal("the lease is not one replica's")
	}
	time.Sleep(400 * time.Millisecond) // a stops renewing; the lease lapses in Redis
	if !b.Hold(ctx, time.Second) || a.Hold(ctx, time.Second) {
		t.Fatal("no take-over after the lease lapsed")
	}
	srv.Stop()
	if !a.Hold(ctx, time.Second) || !b.Hold(ctx, time.Second) {
		t.Fatal("with Redis down a replica does not poll")
	}
}
