package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ordergraph/ordergraph/internal/poller"
)

// renew extends the lease only for its holder.
var renew = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end return 0`)

// PollLease lets one replica poll the Mini Shop at a time: SET NX with a
// TTL takes it, its holder renews it each poll, and another replica takes
// over when the holder stops. While Redis is unreachable every replica
// polls (subscribers may then see an event once per replica); the outage
// and the recovery are logged once each.
func (s *Store) PollLease(log *slog.Logger) poller.Lease {
	return s.lease("poll-lease", "order poll lease", "every replica polls until it returns", log)
}

// QuotaLease lets one replica watch WeChat's quotas at a time
// (UPSTREAM_QUOTA_WATCH), as PollLease does for polls, under a key of its
// own. While Redis is unreachable every replica watches.
func (s *Store) QuotaLease(log *slog.Logger) poller.Lease {
	return s.lease("quota-lease", "quota watch lease", "every replica watches until it returns", log)
}

// lease is a lease under the key name; what it is and what replicas do
// while Redis is unreachable go to the outage's log lines.
func (s *Store) lease(name, what, fallback string, log *slog.Logger) *pollLease {
	var id [12]byte
	_, _ = rand.Read(id[:])
	return &pollLease{s: s, key: s.key(name), id: hex.EncodeToString(id[:]), outage: outage{what: what, fallback: fallback, log: log}}
}

type pollLease struct {
	s       *Store
	key, id string
	outage
}

func (l *pollLease) Hold(ctx context.Context, ttl time.Duration) bool {
	took, err := l.s.rdb.SetNX(ctx, l.key, l.id, ttl).Result()
	if err == nil && !took {
		var renewed int64
		renewed, err = renew.Run(ctx, l.s.rdb, []string{l.key}, l.id, ttl.Milliseconds()).Int64()
		took = renewed == 1
	}
	if err != nil {
		l.failed(err)
		return true
	}
	l.answered()
	return took
}
