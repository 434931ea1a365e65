package wechat

import (
	"context"
	"errors"
	"time"

	"golang.org/x/time/rate"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
)

// WeChat's call quotas belong to the app, not to a replica: running out
// (errcodes 45009, 45011) locks the merchant out. UPSTREAM_RATE_LIMIT keeps
// the whole fleet under a rate the operator sizes from the quota, counting
// retries and not token calls.

// MaxRateWait is the longest a call waits for its turn under the rate
// limit; a call that would wait longer fails at once, without calling the
// upstream.
const MaxRateWait = 250 * time.Millisecond

// ErrOverRate is what a Limiter returns for a call that would wait longer
// than it may.
var ErrOverRate = errors.New("over the upstream rate limit")

// Limiter admits upstream calls at a rate: Wait returns nil once the call
// may go, having waited at most max, and ErrOverRate when it would have to
// wait longer.
type Limiter interface {
	Wait(ctx context.Context, max time.Duration) error
}

// LocalLimiter limits this process alone, perSecond calls a second with a
// burst of one second's worth.
type LocalLimiter struct{ l *rate.Limiter }

// NewLocalLimiter returns a LocalLimiter for perSecond calls a second.
func NewLocalLimiter(perSecond int) *LocalLimiter {
	return &LocalLimiter{rate.NewLimiter(rate.Limit(perSecond), perSecond)}
}

// Wait implements Limiter.
func (l *LocalLimiter) Wait(ctx context.Context, max time.Duration) error {
	r := l.l.Reserve()
	d := r.Delay()
	if d > max {
		r.Cancel()
		return ErrOverRate
	}
	return sleep(ctx, d)
}

// sleep waits d, or less if ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errOverRate is the client-facing refusal. It carries no upstream errcode,
// and says whose limit it is, so that nobody takes it for WeChat's quota.
var errOverRate = order.Errorf(codes.UpstreamRateLimited, "this server's own upstream rate limit (UPSTREAM_RATE_LIMIT) is reached; retry shortly", nil)

// admit waits for the call's turn under the rate limit, if there is one.
func (t *Transport) admit(ctx context.Context) error {
	if t.limiter == nil {
		return nil
	}
	err := t.limiter.Wait(ctx, MaxRateWait)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrOverRate):
		t.metrics.RateLimited()
		return errOverRate
	}
	return order.Errorf(codes.UpstreamUnavailable, "request cancelled while waiting for its turn under the upstream rate limit", err)
}
