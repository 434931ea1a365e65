package token

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
)

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// upstream is a scripted token endpoint.
type upstream struct {
	mu      sync.Mutex
	calls   atomic.Int64
	forces  atomic.Int64
	ttl     time.Duration
	sticky  string // when set, normal mode returns this token
	err     error
	delay   time.Duration
	counter int
	// started, when set, hears of each fetch as it starts; the fetch then
	// waits for release.
	started, release chan struct{}
}

func (u *upstream) fetch(ctx context.Context, force bool) (string, time.Duration, error) {
	u.calls.Add(1)
	if force {
		u.forces.Add(1)
	}
	if u.delay > 0 {
		time.Sleep(u.delay)
	}
	if u.started != nil {
		u.started <- struct{}{}
		<-u.release
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err != nil {
		return "", 0, u.err
	}
	if u.sticky != "" && !force {
		return u.sticky, u.ttl, nil
	}
	u.counter++
	return fmt.Sprintf("tok-%d", u.counter), u.ttl, nil
}

func newManager(u *upstream, c *clock) *Manager {
	return NewManager(u.fetch, Config{Now: c.Now, FailureCooldown: time.Second})
}

func TestConcurrentColdRequestsFetchOnce(t *testing.T) {
	u := &upstream{ttl: 7200 * time.Second, delay: 20 * time.Millisecond}
	m := newManager(u, &clock{now: time.Unix(1e9, 0)})
	var wg sync.WaitGroup
	tokens := make([]string, 50)
	for i := range tokens {
		wg.Go(func() {
			tok, err := m.Token(context.Background())
			if err != nil {
				t.Error(err)
			}
			tokens[i] = tok
		})
	}
	wg.Wait()
	if n := u.calls.Load(); n != 1 {
		t.Fatalf("%d token calls for 50 cold requests, want 1", n)
	}
	for _, tok := range tokens {
		if tok != "tok-1" {
			t.Fatalf("got %q", tok)
		}
	}
}

func TestRefreshesBeforeExpiryWithoutBlocking(t *testing.T) {
	for _, ttl := range []time.Duration{300 * time.Second, 7200 * time.Second, 30 * time.Second} {
		t.Run(ttl.String(), func(t *testing.T) {
			u := &upstream{ttl: ttl}
			c := &clock{now: time.Unix(1e9, 0)}
			m := newManager(u, c)
			margin := min(60*time.Second, ttl/2)
			if tok, _ := m.Token(context.Background()); tok != "tok-1" {
				t.Fatalf("got %q", tok)
			}
			// Up to the margin the cached token serves with no call at all.
			refreshAt := time.Unix(1e9, 0).Add(ttl - margin)
			for c.Now().Before(refreshAt) {
				if tok, _ := m.Token(context.Background()); tok != "tok-1" {
					t.Fatalf("got %q at %v", tok, c.Now())
				}
				c.Add(min(ttl/50, refreshAt.Sub(c.Now())))
			}
			if n := u.calls.Load(); n != 1 {
				t.Fatalf("%d calls before the refresh margin, want 1", n)
			}
			// Inside the margin: the current token still serves, a refresh runs behind it.
			if tok, _ := m.Token(context.Background()); tok != "tok-1" {
				t.Fatalf("inside the margin got %q, want the still-valid tok-1", tok)
			}
			waitFor(t, func() bool { tok, _ := m.Token(context.Background()); return tok == "tok-2" })
			if n := u.calls.Load(); n != 2 {
				t.Fatalf("%d calls after one refresh, want 2", n)
			}
		})
	}
}

func TestExpiredTokenIsNeverServed(t *testing.T) {
	u := &upstream{ttl: 300 * time.Second}
	c := &clock{now: time.Unix(1e9, 0)}
	m := newManager(u, c)
	_, _ = m.Token(context.Background())
	u.mu.Lock()
	u.err = order.Errorf(codes.UpstreamUnavailable, "down", nil)
	u.mu.Unlock()
	c.Add(301 * time.Second)
	if tok, err := m.Token(context.Background()); err == nil {
		t.Fatalf("served %q after expiry with the endpoint down", tok)
	}
}

func TestInvalidateOnlyTheFailedToken(t *testing.T) {
	u := &upstream{ttl: 7200 * time.Second}
	m := newManager(u, &clock{now: time.Unix(1e9, 0)})
	old, _ := m.Token(context.Background())
	m.Invalidate(old)
	fresh, _ := m.Token(context.Background())
	if fresh == old {
		t.Fatalf("still %q after invalidation", fresh)
	}
	// A late report about the old token must not throw away the new one.
	m.Invalidate(old)
	if tok, _ := m.Token(context.Background()); tok != fresh {
		t.Fatalf("got %q, want %q", tok, fresh)
	}
	if n := u.calls.Load(); n != 2 {
		t.Fatalf("%d calls, want 2", n)
	}
}

func TestForceRefreshOnlyWhenUpstreamInsistsAndWithinLimits(t *testing.T) {
	u := &upstream{ttl: 7200 * time.Second}
	c := &clock{now: time.Unix(1e9, 0)}
	m := newManager(u, c)
	tok, _ := m.Token(context.Background())
	// Normal mode now keeps handing back the token that fails.
	u.mu.Lock()
	u.sticky = tok
	u.mu.Unlock()

	m.Invalidate(tok)
	fresh, err := m.Token(context.Background())
	if err != nil || fresh == tok {
		t.Fatalf("got %q, %v; want a force-refreshed token", fresh, err)
	}
	if n := u.forces.Load(); n != 1 {
		t.Fatalf("%d force calls, want 1", n)
	}

	// The fresh one fails too, 10 s later: the 30 s spacing forbids a force.
	u.mu.Lock()
	u.sticky = fresh
	u.mu.Unlock()
	c.Add(10 * time.Second)
	m.Invalidate(fresh)
	if _, err := m.Token(context.Background()); order.ErrorCode(err) != codes.UpstreamAuthFailed {
		t.Fatalf("got %v, want UPSTREAM_AUTH_FAILED", err)
	}
	if n := u.forces.Load(); n != 1 {
		t.Fatalf("%d force calls inside 30 s, want 1", n)
	}

	// Over a day, at most 20 force refreshes however often tokens fail.
	for range 100 {
		c.Add(31 * time.Second)
		cur, err := m.Token(context.Background())
		if err == nil {
			u.mu.Lock()
			u.sticky = cur
			u.mu.Unlock()
			m.Invalidate(cur)
		}
	}
	if n := u.forces.Load(); n != 20 {
		t.Fatalf("%d force calls within a day, want 20", n)
	}
	c.Add(24 * time.Hour)
	if _, err := m.Token(context.Background()); err != nil {
		t.Fatalf("a day later the allowance should be back: %v", err)
	}
}

func TestFailuresAreSharedThenRecover(t *testing.T) {
	u := &upstream{ttl: 7200 * time.Second, delay: 20 * time.Millisecond, err: order.Errorf(codes.UpstreamAuthFailed, "bad secret", nil)}
	c := &clock{now: time.Unix(1e9, 0)}
	m := newManager(u, c)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 20 {
		wg.Go(func() {
			if _, err := m.Token(context.Background()); order.ErrorCode(err) == codes.UpstreamAuthFailed {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() != 20 || u.calls.Load() != 1 {
		t.Fatalf("%d failed, %d calls; want 20 failed sharing 1 call", failed.Load(), u.calls.Load())
	}
	// Within the cooldown the failure is reported without a call.
	if _, err := m.Token(context.Background()); err == nil || u.calls.Load() != 1 {
		t.Fatalf("err %v, %d calls within cooldown", err, u.calls.Load())
	}
	u.mu.Lock()
	u.err = nil
	u.mu.Unlock()
	c.Add(2 * time.Second)
	if tok, err := m.Token(context.Background()); err != nil || tok == "" {
		t.Fatalf("no recovery: %q, %v", tok, err)
	}
}

func TestCancelledCallerDoesNotFailOthers(t *testing.T) {
	u := &upstream{ttl: 7200 * time.Second, started: make(chan struct{}), release: make(chan struct{})}
	m := newManager(u, &clock{now: time.Unix(1e9, 0)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := m.Token(ctx); done <- err }()
	<-u.started
	cancel()
	if err := <-done; err == nil {
		t.Fatal("cancelled caller got no error")
	}
	close(u.release)
	if tok, err := m.Token(context.Background()); err != nil || tok != "tok-1" {
		t.Fatalf("got %q, %v; the shared fetch should have completed", tok, err)
	}
	if n := u.calls.Load(); n != 1 {
		t.Fatalf("%d calls, want 1", n)
	}
}

func TestStatic(t *testing.T) {
	s := Static("given")
	s.Invalidate("given")
	if tok, err := s.Token(context.Background()); tok != "given" || err != nil {
		t.Fatalf("got %q, %v", tok, err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// memShared is an in-memory Shared store standing in for Redis; down makes
// every call fail, as an unreachable Redis would.
type memShared struct {
	mu     sync.Mutex
	grant  Grant
	locked bool
	down   bool
	forces int
}

var errDown = errors.New("connection refused")

func (s *memShared) Load(context.Context) (Grant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return Grant{}, errDown
	}
	return s.grant, nil
}

func (s *memShared) Save(_ context.Context, g Grant) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errDown
	}
	s.grant = g
	return nil
}

func (s *memShared) Lock(context.Context) (func(), bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return nil, false, errDown
	}
	if s.locked {
		return nil, false, nil
	}
	s.locked = true
	return func() { s.mu.Lock(); s.locked = false; s.mu.Unlock() }, true, nil
}

func (s *memShared) DeleteIf(_ context.Context, tok string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errDown
	}
	if s.grant.Token == tok {
		s.grant = Grant{}
	}
	return nil
}

func (s *memShared) AllowForce(context.Context, time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return false, errDown
	}
	s.forces++
	return s.forces <= 1, nil
}

func (s *memShared) setDown(down bool) { s.mu.Lock(); s.down = down; s.mu.Unlock() }

func TestManagersSharingAStoreFetchOnce(t *testing.T) {
	u := &upstream{ttl: 7200 * time.Second, delay: 20 * time.Millisecond}
	store := &memShared{}
	c := &clock{now: time.Unix(1e9, 0)}
	var ms []*Manager
	for range 3 {
		ms = append(ms, NewManager(u.fetch, Config{Now: c.Now, Shared: store}))
	}
	var wg sync.WaitGroup
	for i := range 90 {
		wg.Go(func() {
			if tok, err := ms[i%3].Token(context.Background()); err != nil || tok != "tok-1" {
				t.Errorf("got %q, %v", tok, err)
			}
		})
	}
	wg.Wait()
	if n := u.calls.Load(); n != 1 {
		t.Fatalf("%d fetches for three managers, want 1", n)
	}
	// Every replica sees tok-1 refused; the store is cleared once and one
	// replica fetches tok-2 for all.
	for _, m := range ms {
		m.Invalidate("tok-1")
	}
	for _, m := range ms {
		if tok, _ := m.Token(context.Background()); tok != "tok-2" {
			t.Fatalf("got %q, want tok-2", tok)
		}
	}
	if n := u.calls.Load(); n != 2 {
		t.Fatalf("%d fetches after one revocation, want 2", n)
	}
	// A late report of the old token must not delete the new one.
	ms[0].Invalidate("tok-1")
	if g, _ := store.Load(context.Background()); g.Token != "tok-2" {
		t.Fatalf("the store lost the new token: %+v", g)
	}
}

func TestStoreOutageFallsBackToProcessMemory(t *testing.T) {
	u := &upstream{ttl: 7200 * time.Second}
	store := &memShared{down: true}
	var logs strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	m := NewManager(u.fetch, Config{Now: (&clock{now: time.Unix(1e9, 0)}).Now, Shared: store, Logger: logger})
	for range 5 {
		tok, err := m.Token(context.Background())
		if err != nil {
			t.Fatalf("store down failed a request: %v", err)
		}
		m.Invalidate(tok)
	}
	mu.Lock()
	if n := strings.Count(logs.String(), "unreachable"); n != 1 {
		t.Fatalf("outage logged %d times, want once:\n%s", n, logs.String())
	}
	mu.Unlock()
	store.setDown(false)
	if _, err := m.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "reachable again") {
		t.Fatalf("recovery not logged:\n%s", logs.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
