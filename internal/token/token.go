// Package token owns the WeChat access token: it caches it, refreshes it
// before it expires in a single flight, forgets it when the upstream refuses
// it, and rations force refreshes to the vendor's limits. It does not speak
// HTTP itself; a Fetch function (wechat.Transport.StableToken in production) does.
package token

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/singleflight"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/metrics"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/tracing"
)

// tracer is looked up at each use: the global provider may change (tests
// set one each), and tracers taken earlier would keep the first.
func tracer() trace.Tracer { return otel.Tracer("github.com/ordergraph/ordergraph/internal/token") }

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
	// Margin is how long before expiry a background refresh starts (at most
	// half the token's lifetime, so a 300 s token still works).
	Margin time.Duration
	// FailureCooldown is how long a failed fetch is reported to callers
	// before the next one is tried; it keeps a broken token endpoint from
	// being hammered by every request.
	FailureCooldown time.Duration
	// FetchTimeout bounds one fetch, independent of any caller.
	FetchTimeout time.Duration
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Metrics counts fetches; nil counts nothing.
	Metrics *metrics.Metrics
	// Shared, when set, is the store all replicas keep the token in (see
	// Shared). Nil keeps the token in this process only.
	Shared Shared
	// LockWait is how long a replica waits for another's refresh before it
	// fetches a token itself (by default the lock's lifetime).
	LockWait time.Duration
	// Logger reports the shared store going away and coming back.
	Logger *slog.Logger
}

// Grant is a token and its lifetime.
type Grant struct {
	Token   string
	Issued  time.Time
	Expires time.Time
}

// refreshAt is when a refresh should start: margin before expiry, but never
// before half the lifetime, so a 300 s token still serves for 240 s.
func (g Grant) refreshAt(margin time.Duration) time.Time {
	return g.Expires.Add(-min(margin, g.Expires.Sub(g.Issued)/2))
}

// Shared is a token store several replicas use together, so that they
// fetch one token between them instead of one each. Every method's error
// means the store is unreachable: the Manager then works from process
// memory until the store answers again.
type Shared interface {
	// Load returns the stored grant; a zero Grant when there is none.
	Load(ctx context.Context) (Grant, error)
	Save(ctx context.Context, g Grant) error
	// Lock takes the refresh lock for a short while; ok is false when
	// another replica holds it.
	Lock(ctx context.Context) (unlock func(), ok bool, err error)
	// DeleteIf deletes the stored grant only if it holds token, so a
	// replica never deletes a newer token another one just stored.
	DeleteIf(ctx context.Context, token string) error
	// AllowForce records a force refresh at now if the vendor's limits
	// (20 a day, 30 s apart) allow one across all replicas.
	AllowForce(ctx context.Context, now time.Time) (bool, error)
}

// storeError marks a failure of the shared store, as opposed to the upstream.
type storeError struct{ err error }

func (e storeError) Error() string { return "shared token store: " + e.err.Error() }
func (e storeError) Unwrap() error { return e.err }

// Manager caches the access token and refreshes it in one flight.
type Manager struct {
	fetch Fetch
	cfg   Config
	group singleflight.Group

	mu        sync.Mutex
	grant     Grant
	rejected  string // the last token the upstream refused
	lastErr   error
	lastErrAt time.Time
	forced    []time.Time // force refreshes in the last 24 h (without a shared store)

	degraded atomic.Bool // the shared store failed when last asked
}

// DefaultConfig holds the Manager's timings unless told otherwise.
func DefaultConfig() Config {
	return Config{Margin: 60 * time.Second, FailureCooldown: 2 * time.Second, FetchTimeout: 10 * time.Second, LockWait: 10 * time.Second}
}

// NewManager returns a Manager that obtains tokens with fetch. Zero fields
// of cfg take their default.
func NewManager(fetch Fetch, cfg Config) *Manager {
	def := DefaultConfig()
	if cfg.Margin <= 0 {
		cfg.Margin = def.Margin
	}
	if cfg.FailureCooldown <= 0 {
		cfg.FailureCooldown = def.FailureCooldown
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = def.FetchTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LockWait <= 0 {
		cfg.LockWait = def.LockWait
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{fetch: fetch, cfg: cfg}
}

// Token returns a valid token, fetching one when none is cached. Close to
// expiry it returns the current token and refreshes in the background, so
// no request waits for a routine refresh.
func (m *Manager) Token(ctx context.Context) (string, error) {
	m.mu.Lock()
	now := m.cfg.Now()
	if g := m.grant; g.Token != "" && now.Before(g.Expires) {
		m.mu.Unlock()
		if !now.Before(g.refreshAt(m.cfg.Margin)) {
			m.group.DoChan("token", m.refresh) // buffered: nobody needs to read it
		}
		return g.Token, nil
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
		return "", order.Errorf(codes.UpstreamUnavailable, "request cancelled while waiting for an access token", ctx.Err())
	}
}

// Invalidate forgets token if it is still the cached one; a token that has
// already been replaced is left alone, so concurrent failures of the same
// old token cause one refresh, not many. In the shared store it deletes the
// token only if it is still the stored one.
func (m *Manager) Invalidate(token string) {
	m.mu.Lock()
	if token == "" || token != m.grant.Token {
		m.mu.Unlock()
		return
	}
	m.grant = Grant{}
	m.rejected = token
	m.mu.Unlock()
	if m.cfg.Shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		m.noteStore(m.cfg.Shared.DeleteIf(ctx, token))
	}
}

// refresh obtains a token and caches it. It runs in a single flight and on a
// context of its own: a caller that gives up must not fail the fetch for the
// others waiting on it.
func (m *Manager) refresh() (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.FetchTimeout)
	defer cancel()
	if tracing.Enabled() {
		// A trace of its own: it serves every caller waiting, not one.
		var span trace.Span
		ctx, span = tracer().Start(ctx, "token refresh", trace.WithAttributes(attribute.Bool("token.shared", m.cfg.Shared != nil)))
		defer span.End()
	}

	g, err := m.obtain(ctx)
	if err != nil {
		tracing.Failed(trace.SpanFromContext(ctx), string(order.ErrorCode(err)))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.lastErr, m.lastErrAt = err, m.cfg.Now()
		return nil, err
	}
	m.grant = g
	m.lastErr = nil
	if g.Token != m.rejected {
		m.rejected = ""
	}
	return g.Token, nil
}

// obtain gets a grant through the shared store when there is one and it
// answers, else straight from the upstream.
func (m *Manager) obtain(ctx context.Context) (Grant, error) {
	if m.cfg.Shared == nil {
		return m.fetchGrant(ctx)
	}
	g, err := m.refreshShared(ctx)
	if se := (storeError{}); errors.As(err, &se) {
		m.noteStore(err)
		return m.fetchGrant(ctx)
	}
	return g, err
}

// refreshShared takes the token another replica stored, or, holding the
// refresh lock, fetches one and stores it for the others. Replicas without
// the lock wait for the holder's token rather than fetching their own.
func (m *Manager) refreshShared(ctx context.Context) (Grant, error) {
	shared := m.cfg.Shared
	deadline := m.cfg.Now().Add(m.cfg.LockWait)
	for {
		g, err := shared.Load(ctx)
		if err != nil {
			return Grant{}, storeError{err}
		}
		m.noteStore(nil)
		if m.usable(g) {
			return g, nil
		}
		unlock, ok, err := shared.Lock(ctx)
		if err != nil {
			return Grant{}, storeError{err}
		}
		if ok {
			defer unlock()
			// Another replica may have stored a token between Load and Lock.
			if g, err := shared.Load(ctx); err == nil && m.usable(g) {
				return g, nil
			}
			g, err := m.fetchGrant(ctx)
			if err != nil {
				return Grant{}, err
			}
			m.noteStore(shared.Save(ctx, g))
			return g, nil
		}
		if !m.cfg.Now().Before(deadline) {
			return Grant{}, storeError{errors.New("timed out waiting for another replica's refresh")}
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return Grant{}, ctx.Err()
		}
	}
}

// usable reports whether a stored grant can be served without a refresh.
func (m *Manager) usable(g Grant) bool {
	return g.Token != "" && g.Token != m.rejectedToken() && m.cfg.Now().Before(g.refreshAt(m.cfg.Margin))
}

// fetchGrant asks the upstream for a token in normal mode, and in force
// mode only when normal mode hands back the token the upstream just refused.
func (m *Manager) fetchGrant(ctx context.Context) (Grant, error) {
	start := m.cfg.Now()
	tok, ttl, err := m.fetch(ctx, false)
	m.cfg.Metrics.TokenRefresh(false, err)
	if err == nil && tok == m.rejectedToken() {
		if m.allowForce(ctx, start) {
			tok, ttl, err = m.fetch(ctx, true)
			m.cfg.Metrics.TokenRefresh(true, err)
		} else {
			err = order.Errorf(codes.UpstreamAuthFailed, "the upstream refuses its own current access token and the force-refresh allowance (20 a day, 30 s apart) is used up; retry later", nil)
		}
	}
	if err != nil {
		return Grant{}, err
	}
	return Grant{Token: tok, Issued: start, Expires: start.Add(ttl)}, nil
}

func (m *Manager) rejectedToken() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rejected
}

// allowForce records a force refresh at now if the vendor's limits allow
// one: counted across replicas in the shared store when it answers.
func (m *Manager) allowForce(ctx context.Context, now time.Time) bool {
	if m.cfg.Shared != nil {
		ok, err := m.cfg.Shared.AllowForce(ctx, now)
		if m.noteStore(err); err == nil {
			return ok
		}
	}
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

// noteStore logs the shared store going away and coming back, once each
// time, not on every request.
func (m *Manager) noteStore(err error) {
	if err != nil {
		if m.degraded.CompareAndSwap(false, true) {
			m.cfg.Logger.Warn("shared token store unreachable; keeping the access token in this process until it returns", slog.String("error", err.Error()))
		}
		return
	}
	if m.degraded.CompareAndSwap(true, false) {
		m.cfg.Logger.Info("shared token store reachable again; sharing the access token with the other replicas")
	}
}

// Static is a TokenSource for a token owned by another service: it is used
// as given and never fetched or refreshed.
type Static string

// Token returns the static token.
func (s Static) Token(context.Context) (string, error) { return string(s), nil }

// Invalidate does nothing: a static token cannot be replaced from here.
func (Static) Invalidate(string) {}
