// Package token owns the WeChat access token: it caches it, refreshes it
// before it expires in a single flight, forgets it when the upstream refuses
// it, and rations force refreshes to the vendor's limits. It does not speak
// HTTP itself; a Fetch function (wechat.API.StableToken in production) does.
package token

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/ordergraph/ordergraph/internal/metrics"
	"github.com/ordergraph/ordergraph/internal/order"
)

// Fetch obtains a token and its lifetime from the upstream. force asks the
// upstream for a brand-new token rather than the current one.
type Fetch func(ctx context.Context, force bool) (token string, expiresIn time.Duration, err error)

// Vendor limits on force_refresh=true.
const (
	forceMinInterval = 30 * time.Second
	forcePerDay      = 20
)

// Config tunes a Manager. Zero values take the defaults.
type Config struct {
	// Margin is how long before expiry a background refresh starts (default
	// 60 s, at most half the token's lifetime, so a 300 s token still works).
	Margin time.Duration
	// FailureCooldown is how long a failed fetch is reported to callers
	// before the next one is tried (default 2 s); it keeps a broken token
	// endpoint from being hammered by every request.
	FailureCooldown time.Duration
	// FetchTimeout bounds one fetch, independent of any caller (default 10 s).
	FetchTimeout time.Duration
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Metrics counts fetches; nil counts nothing.
	Metrics *metrics.Metrics
}

// Manager caches the access token and refreshes it in one flight.
type Manager struct {
	fetch Fetch
	cfg   Config
	group singleflight.Group

	mu        sync.Mutex
	token     string
	refreshAt time.Time
	expiresAt time.Time
	rejected  string // the last token the upstream refused
	lastErr   error
	lastErrAt time.Time
	forced    []time.Time // force refreshes in the last 24 h
}

// NewManager returns a Manager that obtains tokens with fetch.
func NewManager(fetch Fetch, cfg Config) *Manager {
	if cfg.Margin <= 0 {
		cfg.Margin = 60 * time.Second
	}
	if cfg.FailureCooldown <= 0 {
		cfg.FailureCooldown = 2 * time.Second
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Manager{fetch: fetch, cfg: cfg}
}

// Token returns a valid token, fetching one when none is cached. Close to
// expiry it returns the current token and refreshes in the background, so
// no request waits for a routine refresh.
func (m *Manager) Token(ctx context.Context) (string, error) {
	m.mu.Lock()
	now := m.cfg.Now()
	if m.token != "" && now.Before(m.expiresAt) {
		tok := m.token
		stale := !now.Before(m.refreshAt)
		m.mu.Unlock()
		if stale {
			m.group.DoChan("token", m.refresh) // buffered: nobody needs to read it
		}
		return tok, nil
	}
	if m.lastErr != nil && now.Sub(m.lastErrAt) < m.cfg.FailureCooldown {
		err := m.lastErr
		m.mu.Unlock()
		return "", err
	}
	m.mu.Unlock()

	ch := m.group.DoChan("token", m.refresh)
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", order.Errorf(order.CodeUnavailable, "request cancelled while waiting for an access token", ctx.Err())
	}
}

// Invalidate forgets token if it is still the cached one; a token that has
// already been replaced is left alone, so concurrent failures of the same
// old token cause one refresh, not many.
func (m *Manager) Invalidate(token string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if token == "" || token != m.token {
		return
	}
	m.token = ""
	m.rejected = token
}

// refresh fetches a token and caches it. It runs in a single flight and on a
// context of its own: a caller that gives up must not fail the fetch for the
// others waiting on it.
func (m *Manager) refresh() (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.FetchTimeout)
	defer cancel()

	start := m.cfg.Now()
	tok, ttl, err := m.fetch(ctx, false)
	m.cfg.Metrics.TokenRefresh(false, err)
	if err == nil && tok == m.rejectedToken() {
		// Normal mode hands back the token the upstream just refused: only
		// a force refresh can replace it, and those are rationed.
		if m.allowForce(start) {
			tok, ttl, err = m.fetch(ctx, true)
			m.cfg.Metrics.TokenRefresh(true, err)
		} else {
			err = order.Errorf(order.CodeAuthFailed, "the upstream refuses its own current access token and the force-refresh allowance (20 a day, 30 s apart) is used up; retry later", nil)
		}
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.lastErr, m.lastErrAt = err, m.cfg.Now()
		return nil, err
	}
	margin := min(m.cfg.Margin, ttl/2)
	m.token = tok
	m.expiresAt = start.Add(ttl)
	m.refreshAt = m.expiresAt.Add(-margin)
	m.lastErr = nil
	if tok != m.rejected {
		m.rejected = ""
	}
	return tok, nil
}

func (m *Manager) rejectedToken() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rejected
}

// allowForce records a force refresh at now if the vendor's limits allow one.
func (m *Manager) allowForce(now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	kept := m.forced[:0]
	for _, t := range m.forced {
		if now.Sub(t) < 24*time.Hour {
			kept = append(kept, t)
		}
	}
	m.forced = kept
	if len(m.forced) >= forcePerDay || (len(m.forced) > 0 && now.Sub(m.forced[len(m.forced)-1]) < forceMinInterval) {
		return false
	}
	m.forced = append(m.forced, now)
	return true
}

// Static is a TokenSource for a token owned by another service: it is used
// as given and never fetched or refreshed.
type Static string

// Token returns the static token.
func (s Static) Token(context.Context) (string, error) { return string(s), nil }

// Invalidate does nothing: a static token cannot be replaced from here.
func (Static) Invalidate(string) {}
