package redisstore

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/redistest"
	"github.com/ordergraph/ordergraph/internal/wechat"
)

// Two replicas share one limit; with Redis gone each keeps the full rate
// itself and says so once; with Redis back they share again.
func TestUpstreamLimiter(t *testing.T) {
	srv := redistest.Start(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	a, b := open(t, srv).UpstreamLimiter(5, log), open(t, srv).UpstreamLimiter(5, log)
	ctx := context.Background()
	admitted := 0
	for i := range 10 {
		l := []wechat.Limiter{a, b}[i%2]
		if err := l.Wait(ctx, 0); err == nil {
			admitted++
		} else if !errors.Is(err, wechat.ErrOverRate) {
			t.Fatal(err)
		}
	}
	if admitted != 5 {
		t.Fatalf("two replicas admitted %d calls at once, want the shared burst of 5", admitted)
	}
	if err := a.Wait(ctx, time.Second); err != nil {
		t.Fatalf("a call that may wait for its turn was refused: %v", err)
	}

	srv.Stop()
	for range 3 {
		if err := a.Wait(ctx, 0); err != nil {
			t.Fatalf("with Redis gone the replica's own limit refused a call: %v", err)
		}
	}
	if n := strings.Count(logs.String(), "Redis unreachable"); n != 1 {
		t.Fatalf("the outage was logged %d times, want once:\n%s", n, logs.String())
	}
	srv.Restart(t)
	_ = a.Wait(ctx, 0)
	if !strings.Contains(logs.String(), "Redis reachable again") {
		t.Fatalf("the recovery was not logged:\n%s", logs.String())
	}
}
