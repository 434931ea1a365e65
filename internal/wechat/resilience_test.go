package wechat

import (
	"errors"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
)

// The budget allows a share of the first attempts plus a floor, over a
// window that slides: retries older than 10 s no longer count.
func TestRetryBudget(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	b := newBudget(0.2, func() time.Time { return now })
	for range 100 {
		b.attempted()
	}
	allowed := 0
	for b.allowRetry() {
		allowed++
	}
	if want := 20 + floorPerSecond*budgetSeconds; allowed != want {
		t.Fatalf("%d retries allowed after 100 attempts, want %d", allowed, want)
	}
	now = now.Add(5 * time.Second)
	if b.allowRetry() {
		t.Fatal("a retry was allowed while the window still holds the spent budget")
	}
	now = now.Add(6 * time.Second)
	if !b.allowRetry() {
		t.Fatal("no retry allowed once the window has slid past the spent budget")
	}
}

// Attempts that failed are worth retrying; answers are not.
func TestTransient(t *testing.T) {
	busy, notFound := int64(errSystemBusy), int64(100002)
	for err, want := range map[error]string{
		order.Errorf(codes.UpstreamUnavailable, "x", &attemptFailed{"timeout", errors.New("t")}): "timeout",
		&order.Error{Code: codes.UpstreamUnavailable, Errcode: &busy}:                            "busy",
		&order.Error{Code: codes.OrderNotFound, Errcode: &notFound}:                              "",
		order.Errorf(codes.UpstreamUnavailable, "upstream answered HTTP 404", nil):               "",
		errBreakerOpen: "",
		errOverRate:    "",
	} {
		if got := transient(err); got != want {
			t.Errorf("%v: %q, want %q", err, got, want)
		}
	}
}
