package redisstore

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"github.com/ordergraph/ordergraph/internal/wechat"
)

// UpstreamLimiter is one limiter of perSecond upstream calls a second for
// every replica sharing this Redis: the generic cell rate algorithm of
// redis_rate, with a burst of one second's worth. While Redis is
// unreachable each replica limits itself alone at the full rate, which lets
// a fleet exceed the rate until Redis returns; the outage and the recovery
// are logged once each.
func (s *Store) UpstreamLimiter(perSecond int, log *slog.Logger) wechat.Limiter {
	return &upstreamLimiter{
		redis: redis_rate.NewLimiter(s.rdb),
		key:   s.key("upstream"),
		limit: redis_rate.PerSecond(perSecond),
		local: wechat.NewLocalLimiter(perSecond),
		log:   log,
	}
}

type upstreamLimiter struct {
	redis    *redis_rate.Limiter
	key      string
	limit    redis_rate.Limit
	local    *wechat.LocalLimiter
	log      *slog.Logger
	degraded atomic.Bool
}

func (l *upstreamLimiter) Wait(ctx context.Context, maxWait time.Duration) error {
	deadline := time.Now().Add(maxWait)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := l.redis.Allow(ctx, l.key, l.limit)
		if err != nil {
			if l.degraded.CompareAndSwap(false, true) {
				l.log.Warn("upstream rate limit: Redis unreachable; this replica limits itself alone at the full rate until it returns", slog.String("error", err.Error()))
			}
			return l.local.Wait(ctx, max(0, time.Until(deadline)))
		}
		if l.degraded.CompareAndSwap(true, false) {
			l.log.Info("upstream rate limit: Redis reachable again; the replicas share one limit")
		}
		if res.Allowed > 0 {
			return nil
		}
		if time.Now().Add(res.RetryAfter).After(deadline) {
			return wechat.ErrOverRate
		}
		t := time.NewTimer(res.RetryAfter)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}
