package actions

import (
	"context"
	"errors"
	"sync"
	"time"
)

// State is where an idempotency record is.
type State string

const (
	// Pending: an action holds the key until Until; past it, its holder
	// died, and whether it wrote is unknown.
	Pending State = "pending"
	// Done: Payload is the action's result, answered again to a retry.
	Done State = "done"
	// Unknown: the action may have written; Baseline is what it read
	// before, so that a retry can tell by reading back.
	Unknown State = "unknown"
)

// Record is what an idempotency key holds.
type Record struct {
	State State
	// Hash fingerprints the action's input: the same key with another
	// input is refused.
	Hash string
	// Owner names the claim that wrote the record: only it settles or
	// releases the key, so that a claim that lapsed and was taken over
	// cannot undo its successor's.
	Owner    string
	Until    time.Time
	Payload  []byte
	Baseline []byte
}

// ErrNotHolder is Settle's answer to a claim that no longer holds its key.
var ErrNotHolder = errors.New("the claim no longer holds the idempotency key")

// Records keeps idempotency records: in process memory (LocalRecords) or
// shared by the fleet (redisstore). Every method is atomic for its key.
type Records interface {
	// Claim takes key for owner, an action of input hash, pending until
	// until, when the key is free, or holds an Unknown outcome of the same
	// input, or a Pending one past its Until (its holder died); a record
	// taken over keeps its baseline. It returns the record it found (zero
	// when free) and whether it took the key; a key it did not take holds
	// the record it returns.
	Claim(ctx context.Context, key, hash, owner string, until, now time.Time, keep time.Duration) (found Record, claimed bool, err error)
	// Settle stores r, kept for keep, while owner holds the key
	// (ErrNotHolder otherwise): the outcome, or a Pending record's baseline.
	Settle(ctx context.Context, key, owner string, r Record, keep time.Duration) error
	// Release frees the key while owner's claim of it is pending: nothing
	// was written.
	Release(ctx context.Context, key, owner string) error
}

// Locks serialises the actions on one order across the fleet.
type Locks interface {
	// Lock takes key, waiting until ctx ends; the lock lapses by itself
	// after ttl, should its holder die. unlock releases it.
	Lock(ctx context.Context, key string, ttl time.Duration) (unlock func(context.Context), err error)
}

// claimable is the rule Claim follows, shared with redisstore's script.
func claimable(r Record, hash string, now time.Time) bool {
	switch {
	case r.State == "":
		return true
	case r.Hash != hash || r.State == Done:
		return false
	case r.State == Pending:
		return now.After(r.Until)
	}
	return true // Unknown, same input
}

// LocalRecords keeps records in process memory, for a single replica.
type LocalRecords struct {
	mu      sync.Mutex
	records map[string]localRecord
	claims  int
}

type localRecord struct {
	Record
	expires time.Time
}

// NewLocalRecords returns an empty store.
func NewLocalRecords() *LocalRecords { return &LocalRecords{records: map[string]localRecord{}} }

func (l *LocalRecords) Claim(_ context.Context, key, hash, owner string, until, now time.Time, keep time.Duration) (Record, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now)
	found := l.records[key].Record
	if !claimable(found, hash, now) {
		return found, false, nil
	}
	l.records[key] = localRecord{Record{State: Pending, Hash: hash, Owner: owner, Until: until, Baseline: found.Baseline}, now.Add(keep)}
	return found, true, nil
}

func (l *LocalRecords) Settle(_ context.Context, key, owner string, r Record, keep time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.records[key].Owner != owner {
		return ErrNotHolder
	}
	r.Owner = owner
	l.records[key] = localRecord{r, time.Now().Add(keep)}
	return nil
}

func (l *LocalRecords) Release(_ context.Context, key, owner string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.records[key]; r.Owner == owner && r.State == Pending {
		delete(l.records, key)
	}
	return nil
}

// prune drops expired records every 1,024 claims, so that memory follows
// the last day's actions rather than every one since the start.
func (l *LocalRecords) prune(now time.Time) {
	if l.claims++; l.claims%1024 != 0 {
		return
	}
	for k, r := range l.records {
		if now.After(r.expires) {
			delete(l.records, k)
		}
	}
}

// LocalLocks are per-key locks in process memory, for a single replica:
// the process dies with its locks, so they need no expiry.
type LocalLocks struct {
	mu   sync.Mutex
	held map[string]chan struct{}
}

// NewLocalLocks returns locks none of which is held.
func NewLocalLocks() *LocalLocks { return &LocalLocks{held: map[string]chan struct{}{}} }

func (l *LocalLocks) Lock(ctx context.Context, key string, _ time.Duration) (func(context.Context), error) {
	for {
		l.mu.Lock()
		released, busy := l.held[key]
		if !busy {
			mine := make(chan struct{})
			l.held[key] = mine
			l.mu.Unlock()
			return func(context.Context) {
				l.mu.Lock()
				delete(l.held, key)
				l.mu.Unlock()
				close(mine)
			}, nil
		}
		l.mu.Unlock()
		select {
		case <-released:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
