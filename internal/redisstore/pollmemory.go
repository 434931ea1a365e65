package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ordergraph/ordergraph/internal/poller"
)

// PollMemory keeps what the Mini Shop poller remembers in Redis, so that
// the replica taking the poll lease over carries on where the last one
// stopped: the end of the last window, and a key per recently seen order
// that expires when no later window can show it unchanged. While Redis is
// unreachable the poller remembers locally; the outage and the recovery
// are logged once each.
func (s *Store) PollMemory(log *slog.Logger) poller.Memory {
	return &pollMemory{s: s, local: poller.NewLocalMemory(time.Now),
		outage: outage{what: "order poll memory", fallback: "this replica remembers alone until it returns", log: log}}
}

type pollMemory struct {
	s     *Store
	local *poller.LocalMemory
	outage
}

// ok reports whether Redis answered (a missing key is an answer).
func (m *pollMemory) ok(err error) bool {
	if err != nil && !errors.Is(err, redis.Nil) {
		m.failed(err)
		return false
	}
	m.answered()
	return true
}

func (m *pollMemory) Last(ctx context.Context) (time.Time, bool, error) {
	v, err := m.s.rdb.Get(ctx, m.s.key("poll", "last")).Int64()
	if !m.ok(err) {
		return m.local.Last(ctx)
	}
	if errors.Is(err, redis.Nil) {
		return time.Time{}, false, nil
	}
	return time.Unix(0, v), true, nil
}

func (m *pollMemory) SetLast(ctx context.Context, t time.Time) error {
	_ = m.local.SetLast(ctx, t)
	m.ok(m.s.rdb.Set(ctx, m.s.key("poll", "last"), t.UnixNano(), 0).Err())
	return nil
}

func (m *pollMemory) seenKey(id uint64) string {
	return m.s.key("poll", "seen", strconv.FormatUint(id, 10))
}

func (m *pollMemory) Seen(ctx context.Context, ids []uint64) ([]*poller.Seen, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = m.seenKey(id)
	}
	vals, err := m.s.rdb.MGet(ctx, keys...).Result()
	if !m.ok(err) {
		return m.local.Seen(ctx, ids)
	}
	out := make([]*poller.Seen, len(ids))
	for i, v := range vals {
		text, _ := v.(string)
		var unix, status int64
		if _, err := fmt.Sscanf(text, "%d:%d", &unix, &status); err == nil {
			out[i] = &poller.Seen{Updated: time.Unix(unix, 0), Status: status}
		}
	}
	return out, nil
}

func (m *pollMemory) Remember(ctx context.Context, changed map[uint64]poller.Seen, keep time.Duration) error {
	_ = m.local.Remember(ctx, changed, keep)
	if len(changed) == 0 {
		return nil
	}
	_, err := m.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for id, s := range changed {
			p.Set(ctx, m.seenKey(id), fmt.Sprintf("%d:%d", s.Updated.Unix(), s.Status), keep)
		}
		return nil
	})
	m.ok(err)
	return nil
}
