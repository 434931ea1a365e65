// Package quota watches WeChat's daily call quota of every API the server
// has called (UPSTREAM_QUOTA_WATCH): it asks WeChat at an interval, sets
// the quota gauges, and logs once when an API passes WarnShare of its
// quota and once when it is back below, so that an operator hears of a
// quota running out before WeChat starts refusing calls (errcode 45009).
package quota

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ordergraph/ordergraph/internal/metrics"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat"
)

// WarnShare is the share of an API's daily quota past which it is logged.
const WarnShare = 0.8

// Upstream is what the watcher asks: the APIs called, and their quotas.
type Upstream interface {
	Called() []string
	Quota(ctx context.Context, api string) (wechat.Quota, error)
}

// Lease lets one replica of a fleet watch at a time (as poller.Lease does
// for polls): every replica's gauges would say the same, at a quota call
// per API per replica.
type Lease interface {
	Hold(ctx context.Context, ttl time.Duration) bool
}

// Watcher checks the quotas. A nil lease: this process watches alone.
type Watcher struct {
	up       Upstream
	lease    Lease
	interval time.Duration
	m        *metrics.Metrics
	log      *slog.Logger

	mu   sync.Mutex
	over map[string]bool // APIs past WarnShare, as last logged
}

// New returns a watcher that checks every interval when run.
func New(up Upstream, lease Lease, interval time.Duration, m *metrics.Metrics, log *slog.Logger) *Watcher {
	return &Watcher{up: up, lease: lease, interval: interval, m: m, log: log, over: map[string]bool{}}
}

// Start checks at each tick of a time.Ticker until stop is called.
func (w *Watcher) Start() (stop func()) {
	t := time.NewTicker(w.interval)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx, t.C)
	}()
	return func() { t.Stop(); cancel(); <-done }
}

// Run checks at each tick until ctx ends.
func (w *Watcher) Run(ctx context.Context, ticks <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			w.Check(ctx)
		}
	}
}

// Check asks WeChat for the quota of each API called so far, when this
// replica holds the lease. A failed answer is logged and the API's gauges
// keep their last values: the next check tries again.
func (w *Watcher) Check(ctx context.Context) {
	// Held a little past the next tick, so that the holder keeps it.
	if w.lease != nil && !w.lease.Hold(ctx, 2*w.interval) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, api := range w.up.Called() {
		q, err := w.up.Quota(ctx, api)
		if err != nil {
			// The coded error's text never holds the token (wechat.Transport).
			w.log.LogAttrs(ctx, slog.LevelWarn, "upstream quota check failed", slog.String("api", api), slog.String("code", string(order.ErrorCode(err))), slog.String("error", err.Error()))
			continue
		}
		w.m.Quota(api, q.DailyLimit, q.Used, q.Remain)
		over := q.DailyLimit > 0 && float64(q.Used) > WarnShare*float64(q.DailyLimit)
		attrs := []slog.Attr{slog.String("api", api), slog.Int64("daily_limit", q.DailyLimit), slog.Int64("used", q.Used), slog.Int64("remain", q.Remain)}
		switch {
		case over && !w.over[api]:
			w.log.LogAttrs(ctx, slog.LevelWarn, "upstream API past 80% of its WeChat daily quota", attrs...)
		case !over && w.over[api]:
			w.log.LogAttrs(ctx, slog.LevelInfo, "upstream API back below 80% of its WeChat daily quota", attrs...)
		}
		w.over[api] = over
	}
}
