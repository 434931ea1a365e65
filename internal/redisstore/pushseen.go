package redisstore

import (
	"context"
	"log/slog"
	"time"

	"github.com/ordergraph/ordergraph/internal/wxpush"
)

// PushSeen is the fleet's memory of the WeChat Store pushes already
// published, so that a retry that lands on another replica is published
// once. SET NX with a TTL claims a key; while Redis is unreachable each
// replica remembers alone (a retry may then be published twice, once per
// replica it reaches), and the outage and recovery are logged once each.
func (s *Store) PushSeen(ttl time.Duration, log *slog.Logger) wxpush.Seen {
	return &pushSeen{s: s, ttl: ttl, local: wxpush.NewLocalSeen(ttl, time.Now),
		outage: outage{what: "push dedupe", fallback: "each replica dedupes alone until it returns", log: log}}
}

type pushSeen struct {
	s     *Store
	ttl   time.Duration
	local *wxpush.LocalSeen
	outage
}

func (p *pushSeen) First(ctx context.Context, key string) bool {
	first, err := p.s.rdb.SetNX(ctx, p.s.key("push", key), 1, p.ttl).Result()
	if err != nil {
		p.failed(err)
		return p.local.First(ctx, key)
	}
	p.answered()
	return first
}
