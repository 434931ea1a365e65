package poller

import (
	"context"
	"sync"
	"time"
)

// LocalMemory is Memory for one process.
type LocalMemory struct {
	now func() time.Time

	mu     sync.Mutex
	last   time.Time
	polled bool
	seen   map[uint64]localSeen
}

type localSeen struct {
	Seen
	until time.Time
}

// NewLocalMemory returns an empty process-local memory.
func NewLocalMemory(now func() time.Time) *LocalMemory {
	return &LocalMemory{now: now, seen: map[uint64]localSeen{}}
}

func (m *LocalMemory) Last(context.Context) (time.Time, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last, m.polled, nil
}

func (m *LocalMemory) SetLast(_ context.Context, t time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last, m.polled = t, true
	return nil
}

func (m *LocalMemory) Seen(_ context.Context, ids []uint64) ([]*Seen, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	out := make([]*Seen, len(ids))
	for i, id := range ids {
		if s, ok := m.seen[id]; ok && now.Before(s.until) {
			out[i] = &s.Seen
		}
	}
	return out, nil
}

func (m *LocalMemory) Remember(_ context.Context, changed map[uint64]Seen, keep time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for id, s := range m.seen {
		if !now.Before(s.until) {
			delete(m.seen, id)
		}
	}
	for id, s := range changed {
		m.seen[id] = localSeen{Seen: s, until: now.Add(keep)}
	}
	return nil
}
