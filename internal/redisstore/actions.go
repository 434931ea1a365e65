package redisstore

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ordergraph/ordergraph/internal/actions"
)

// Order actions keep two things here so that every replica agrees: the
// idempotency records (a hash per key: state, input hash, lease, stored
// payload or baseline) and a lock per order. Unlike the rest of this
// package, neither falls back to process-local state while Redis is away:
// a replica that cannot see the fleet's records could send a write twice,
// so actions are refused until Redis is back.

// ActionRecords are the fleet's idempotency records.
func (s *Store) ActionRecords() actions.Records { return actionRecords{s} }

type actionRecords struct{ s *Store }

// claimAction is actions.claimable, atomically: take a free key, an Unknown one
// of the same input, or a Pending one past its lease.
var claimAction = redis.NewScript(`
local r = redis.call("HMGET", KEYS[1], "state", "hash", "until", "payload", "baseline", "owner")
local take
if not r[1] then take = true
elseif r[2] ~= ARGV[1] or r[1] == "done" then take = false
elseif r[1] == "pending" then take = tonumber(ARGV[3]) > tonumber(r[3])
else take = true end
if take then
  redis.call("HSET", KEYS[1], "state", "pending", "hash", ARGV[1], "until", ARGV[2], "owner", ARGV[5])
  redis.call("HDEL", KEYS[1], "payload")
  redis.call("PEXPIRE", KEYS[1], ARGV[4])
end
return {take and 1 or 0, r[1], r[2], r[3], r[4], r[5], r[6]}`)

func (r actionRecords) Claim(ctx context.Context, key, hash, owner string, until, now time.Time, keep time.Duration) (actions.Record, bool, error) {
	v, err := claimAction.Run(ctx, r.s.rdb, []string{r.s.key("action", key)}, hash, until.UnixMilli(), now.UnixMilli(), keep.Milliseconds(), owner).Slice()
	if err != nil {
		return actions.Record{}, false, err
	}
	text := func(i int) string {
		if i < len(v) {
			if s, ok := v[i].(string); ok {
				return s
			}
		}
		return ""
	}
	found := actions.Record{State: actions.State(text(1)), Hash: text(2), Payload: []byte(text(4)), Baseline: []byte(text(5)), Owner: text(6)}
	if ms, err := strconv.ParseInt(text(3), 10, 64); err == nil {
		found.Until = time.UnixMilli(ms)
	}
	took, _ := v[0].(int64)
	return found, took == 1, nil
}

// settleAction replaces the record while ARGV[1] holds it.
var settleAction = redis.NewScript(`
if redis.call("HGET", KEYS[1], "owner") ~= ARGV[1] then return 0 end
redis.call("DEL", KEYS[1])
redis.call("HSET", KEYS[1], "owner", ARGV[1], "state", ARGV[2], "hash", ARGV[3], "until", ARGV[4], "payload", ARGV[5], "baseline", ARGV[6])
redis.call("PEXPIRE", KEYS[1], ARGV[7])
return 1`)

func (r actionRecords) Settle(ctx context.Context, key, owner string, rec actions.Record, keep time.Duration) error {
	held, err := settleAction.Run(ctx, r.s.rdb, []string{r.s.key("action", key)}, owner, string(rec.State), rec.Hash, rec.Until.UnixMilli(), rec.Payload, rec.Baseline, keep.Milliseconds()).Int()
	if err == nil && held == 0 {
		err = actions.ErrNotHolder
	}
	return err
}

// releaseAction drops the key only while it is still ARGV[1]'s pending
// claim: a settled record, or another's claim, is never dropped by a late
// release.
var releaseAction = redis.NewScript(`if redis.call("HGET", KEYS[1], "state") == "pending" and redis.call("HGET", KEYS[1], "owner") == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

func (r actionRecords) Release(ctx context.Context, key, owner string) error {
	return releaseAction.Run(ctx, r.s.rdb, []string{r.s.key("action", key)}, owner).Err()
}

// ActionLocks are the fleet's per-order locks: SET NX with a TTL, released
// by their holder only.
func (s *Store) ActionLocks() actions.Locks { return actionLocks{s} }

type actionLocks struct{ s *Store }

func (l actionLocks) Lock(ctx context.Context, key string, ttl time.Duration) (func(context.Context), error) {
	k := l.s.key("order-lock", key)
	wait := 5 * time.Millisecond
	for {
		release, took, err := l.s.tryLock(ctx, k, ttl)
		if err != nil {
			return nil, err
		}
		if took {
			return release, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}
