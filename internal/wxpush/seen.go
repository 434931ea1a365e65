package wxpush

import (
	"context"
	"sync"
	"time"
)

// Mark is what the dedupe memory holds for a push.
type Mark int

const (
	// Unseen: no replica has taken the push; Claim has now marked it
	// Processing for whoever called.
	Unseen Mark = iota
	// Processing: a replica took the push and has not yet published it. The
	// mark expires after ProcessingTimeout, so that a replica that crashed
	// in between does not keep WeChat's retries out.
	Processing
	// Done: the push was published; its retries are acknowledged and
	// dropped for RetryWindow.
	Done
)

// Seen remembers the pushes taken and published, so that WeChat's retries
// of a push (up to 10 over about 3.6 h) are published once, and at least
// once.
type Seen interface {
	// Claim returns key's mark, and marks an Unseen key Processing.
	Claim(ctx context.Context, key string) Mark
	// Done marks key Done, once its event is published.
	Done(ctx context.Context, key string)
}

// LocalSeen is Seen for one process.
type LocalSeen struct {
	done, processing time.Duration
	now              func() time.Time

	mu    sync.Mutex
	keys  map[string]localMark
	swept time.Time
}

type localMark struct {
	mark  Mark
	until time.Time
}

// NewLocalSeen returns an empty process-local Seen that keeps Done marks
// for done and Processing marks for processing, by the clock now (nil:
// time.Now).
func NewLocalSeen(done, processing time.Duration, now func() time.Time) *LocalSeen {
	if now == nil {
		now = time.Now
	}
	return &LocalSeen{done: done, processing: processing, now: now, keys: map[string]localMark{}}
}

func (s *LocalSeen) Claim(_ context.Context, key string) Mark {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if now.Sub(s.swept) > s.done/10 {
		for k, m := range s.keys {
			if !now.Before(m.until) {
				delete(s.keys, k)
			}
		}
		s.swept = now
	}
	if m, ok := s.keys[key]; ok && now.Before(m.until) {
		return m.mark
	}
	s.keys[key] = localMark{Processing, now.Add(s.processing)}
	return Unseen
}

func (s *LocalSeen) Done(_ context.Context, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[key] = localMark{Done, s.now().Add(s.done)}
}
