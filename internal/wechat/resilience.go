package wechat

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
)

// How upstream calls survive faults: a failed attempt that another may not
// meet (a busy upstream, a network error, a timeout, a 5xx, a garbled
// answer) is tried again, within a per-process budget, behind a circuit
// breaker that stops calling an upstream that is broadly failing. An answer
// that means something (order not found, a quota, no permission) is never
// retried: asking again would get the same answer and spend quota.

// attemptFailed marks a failure of one attempt rather than an answer.
type attemptFailed struct {
	reason string // the metrics label: network, timeout, http_5xx, malformed
	err    error
}

func (a *attemptFailed) Error() string { return a.err.Error() }
func (a *attemptFailed) Unwrap() error { return a.err }

// transient returns why err is worth another attempt, or "" when it is not.
func transient(err error) string {
	var a *attemptFailed
	if errors.As(err, &a) {
		return a.reason
	}
	var oe *order.Error
	if errors.As(err, &oe) && oe.Errcode != nil && *oe.Errcode == errSystemBusy {
		return "busy"
	}
	return ""
}

// backoffBase is the first retry's backoff step; each retry doubles it, and
// the wait is drawn at random below the step ("full jitter"), so that
// clients failing together do not retry together.
const backoffBase = 25 * time.Millisecond

// withRetries runs attempt, and again for transient failures, up to the
// configured retries, within the retry budget and behind the breaker.
func (t *Transport) withRetries(ctx context.Context, attempt func(context.Context) error) error {
	t.budget.attempted()
	reason := ""
	for retry := 0; ; retry++ {
		if err := t.admit(ctx); err != nil {
			return err
		}
		err := t.guarded(t.withAttempt(ctx, retry+1, reason), attempt)
		reason = transient(err)
		if reason == "" || retry >= t.retries || ctx.Err() != nil {
			return err
		}
		if !t.budget.allowRetry() {
			t.metrics.RetryRefused()
			return err
		}
		t.metrics.Retry(reason)
		wait := time.NewTimer(rand.N(backoffBase << retry))
		select {
		case <-wait.C:
		case <-ctx.Done():
			wait.Stop()
			return err
		}
	}
}

// errBreakerOpen is what a call gets while the breaker is open.
var errBreakerOpen = order.Errorf(codes.UpstreamUnavailable, "the upstream is failing; calls to it are paused for a few seconds", nil)

// guarded runs one attempt through the breaker, when there is one.
func (t *Transport) guarded(ctx context.Context, attempt func(context.Context) error) error {
	if t.breaker == nil {
		return attempt(ctx)
	}
	_, err := t.breaker.Execute(func() (struct{}, error) { return struct{}{}, attempt(ctx) })
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return errBreakerOpen
	}
	return err
}

// newBreaker opens when at least half of at least 20 attempts in 10 s
// failed transiently. An answer, even an error, counts as a success: the
// upstream answered. After openFor it lets three probes through, and closes
// when all three succeed; a failed probe opens it again. (gobreaker lets as
// many probes through as it needs successes.)
func newBreaker(openFor time.Duration, log *slog.Logger, changed func(to string)) *gobreaker.CircuitBreaker[struct{}] {
	// The counts that tripped it, for the log line: OnStateChange runs
	// under the breaker's lock and cannot ask for them.
	var tripped atomic.Pointer[gobreaker.Counts]
	return gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:         "wechat",
		MaxRequests:  3,
		Interval:     10 * time.Second,
		BucketPeriod: time.Second,
		Timeout:      openFor,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			if c.Requests >= 20 && 2*c.TotalFailures >= c.Requests {
				tripped.Store(&c)
				return true
			}
			return false
		},
		IsSuccessful: func(err error) bool { return err == nil || transient(err) == "" },
		IsExcluded:   func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			attrs := []slog.Attr{slog.String("from", from.String()), slog.String("to", to.String())}
			level := slog.LevelInfo
			if to == gobreaker.StateOpen {
				level = slog.LevelWarn
				attrs = append(attrs, slog.Duration("open_for", openFor))
				if c := tripped.Load(); c != nil && from == gobreaker.StateClosed {
					attrs = append(attrs, slog.Uint64("attempts", uint64(c.Requests)), slog.Uint64("failures", uint64(c.TotalFailures)))
				}
			}
			log.LogAttrs(context.Background(), level, "upstream circuit breaker "+to.String(), attrs...)
			changed(to.String())
		},
	})
}

// BreakerState is the breaker's state for /readyz: closed, half-open or
// open, or off.
func (t *Transport) BreakerState() string {
	if t.breaker == nil {
		return "off"
	}
	return t.breaker.State().String()
}

// budget is Finagle's retry budget: over a sliding window, retries may be at
// most ratio × first attempts, plus a reserve of floorPerSecond for every
// second of the window, so that a quiet process can retry its first errors
// while retries cannot multiply the load on an upstream that broadly fails.
type budget struct {
	ratio float64
	now   func() time.Time

	mu      sync.Mutex
	buckets [budgetSeconds]budgetBucket
}

type budgetBucket struct {
	second            int64
	attempts, retries int
}

const (
	budgetSeconds  = 10 // the window
	floorPerSecond = 10
)

func newBudget(ratio float64, now func() time.Time) *budget {
	return &budget{ratio: ratio, now: now}
}

// bucket returns the current second's bucket, emptied if it last served an
// older second.
func (b *budget) bucket() *budgetBucket {
	s := b.now().Unix()
	bk := &b.buckets[s%budgetSeconds]
	if bk.second != s {
		*bk = budgetBucket{second: s}
	}
	return bk
}

func (b *budget) attempted() {
	b.mu.Lock()
	b.bucket().attempts++
	b.mu.Unlock()
}

// allowRetry records a retry if the budget has room for one.
func (b *budget) allowRetry() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	current := b.bucket()
	attempts, retries := 0, 0
	oldest := current.second - budgetSeconds
	for _, bk := range b.buckets {
		if bk.second > oldest {
			attempts += bk.attempts
			retries += bk.retries
		}
	}
	if float64(retries) >= b.ratio*float64(attempts)+floorPerSecond*budgetSeconds {
		return false
	}
	current.retries++
	return true
}
