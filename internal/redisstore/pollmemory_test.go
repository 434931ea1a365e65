package redisstore

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/poller"
	"github.com/ordergraph/ordergraph/internal/redistest"
)

// Two replicas share the poll memory: what one remembers, the other
// reads; with Redis down a replica still remembers alone.
func TestPollMemoryShared(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	a, b := open(t, srv).PollMemory(log), open(t, srv).PollMemory(log)
	if _, polled, err := b.Last(ctx); polled || err != nil {
		t.Fatal("a fresh memory has a last poll")
	}
	at := time.Unix(1714112445, 0)
	_ = a.SetLast(ctx, at)
	_ = a.Remember(ctx, map[uint64]poller.Seen{9223372036854775807: {Updated: at, Status: 30}}, time.Minute)
	last, polled, err := b.Last(ctx)
	seen, _ := b.Seen(ctx, []uint64{9223372036854775807, 5})
	if !polled || err != nil || !last.Equal(at) || seen[0] == nil || seen[0].Status != 30 || !seen[0].Updated.Equal(at) || seen[1] != nil {
		t.Fatalf("the other replica reads %v %v %v, %+v", last, polled, err, seen)
	}
	srv.Stop()
	_ = a.Remember(ctx, map[uint64]poller.Seen{7: {Updated: at, Status: 10}}, time.Minute)
	if seen, err := a.Seen(ctx, []uint64{7}); err != nil || seen[0] == nil {
		t.Fatalf("with Redis down: %+v %v", seen, err)
	}
}
