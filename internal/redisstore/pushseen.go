package redisstore

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ordergraph/ordergraph/internal/wxpush"
)

// claim returns a push key's mark, or marks an absent key processing (for
// ARGV[1] ms) and returns nil: one round trip, and one replica wins.
var claim = redis.NewScript(`local v = redis.call("GET", KEYS[1]) if v then return v end redis.call("SET", KEYS[1], "processing", "PX", ARGV[1]) return false`)

// PushSeen is the fleet's memory of the WeChat Store pushes taken and
// published, so that a retry that lands on another replica is published
// once: a key is marked "processing" for processing when a replica takes
// its push, then "done" for done once the push is published. While Redis is
// unreachable each replica remembers alone (a retry may then be published
// twice, once per replica it reaches), and the outage and recovery are
// logged once each.
func (s *Store) PushSeen(done, processing time.Duration, log *slog.Logger) wxpush.Seen {
	return &pushSeen{s: s, done: done, processing: processing, local: wxpush.NewLocalSeen(done, processing, time.Now),
		outage: outage{what: "push dedupe", fallback: "each replica dedupes alone until it returns", log: log}}
}

type pushSeen struct {
	s                *Store
	done, processing time.Duration
	local            *wxpush.LocalSeen
	outage
}

func (p *pushSeen) Claim(ctx context.Context, key string) wxpush.Mark {
	mark, err := claim.Run(ctx, p.s.rdb, []string{p.s.key("push", key)}, p.processing.Milliseconds()).Text()
	if err != nil && !errors.Is(err, redis.Nil) {
		p.failed(err)
		return p.local.Claim(ctx, key)
	}
	p.answered()
	switch mark {
	case "done":
		return wxpush.Done
	case "processing":
		return wxpush.Processing
	}
	return wxpush.Unseen
}

func (p *pushSeen) Done(ctx context.Context, key string) {
	p.local.Done(ctx, key)
	if err := p.s.rdb.Set(ctx, p.s.key("push", key), "done", p.done).Err(); err != nil {
		p.failed(err)
		return
	}
	p.answered()
}
