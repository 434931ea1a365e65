package component

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/singleflight"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/tracing"
)

// cell is one token the fleet shares: the platform token or one shop's.
// It serves the token from memory, looks at the store again every Recheck
// (so that a revocation, or a token another replica refreshed or saw
// refused, reaches this replica), refreshes it before it expires in one
// flight per process and, under the store's lock, one replica at a time:
// a refresh invalidates the token it replaces, so two at once would leave
// a replica holding a dead token. It is the wechat.TokenSource of its
// token.
type cell struct {
	p   *Platform
	key Key
	// fetch asks WeChat for a new token and stores it.
	fetch func(ctx context.Context, c *cell) (Grant, error)
	group singleflight.Group

	mu        sync.Mutex
	grant     Grant
	checked   time.Time // when grant was last read from the store or fetched
	rejected  string    // the last token WeChat refused
	lastErr   error
	lastErrAt time.Time
	// unlisted is when a shop was last looked for in vain in WeChat's list
	// of authorizers (shop cells only).
	unlisted time.Time
}

func newCell(p *Platform, k Key, fetch func(context.Context, *cell) (Grant, error)) *cell {
	return &cell{p: p, key: k, fetch: fetch}
}

// Token returns a valid token. Close to expiry it returns the current one
// and refreshes in the background, so that no call waits for a routine
// refresh.
func (c *cell) Token(ctx context.Context) (string, error) {
	now := c.p.now()
	c.mu.Lock()
	g := c.grant
	if g.valid(now) && now.Sub(c.checked) < c.p.cfg.Recheck {
		c.mu.Unlock()
		c.refreshSoon(g, now)
		return g.Token, nil
	}
	if c.lastErr != nil && now.Sub(c.lastErrAt) < c.p.cfg.FailureCooldown {
		err := c.lastErr
		c.mu.Unlock()
		// A failed refresh does not make the token in hand any less valid;
		// only a revocation does (and refresh then dropped it).
		if g.valid(now) && !errors.Is(err, ErrShopNotAuthorized) {
			return g.Token, nil
		}
		return "", err
	}
	c.mu.Unlock()

	select {
	case r := <-c.group.DoChan("load", c.load):
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", order.Errorf(codes.UpstreamUnavailable, "request cancelled while waiting for a WeChat token", ctx.Err())
	}
}

// Invalidate forgets token if it is still the one in memory, and deletes
// it from the store if it is still the stored one: a token replaced
// meanwhile is left alone, so that concurrent failures of one old token
// cause one refresh.
func (c *cell) Invalidate(token string) {
	c.mu.Lock()
	if token == "" || token != c.grant.Token {
		c.mu.Unlock()
		return
	}
	c.grant = Grant{}
	c.rejected = token
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = c.p.store.DeleteGrantIf(ctx, c.key, token)
}

// reset forgets everything in memory, for a shop whose grant changed: the
// next Token reads the store afresh.
func (c *cell) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.grant, c.checked, c.rejected, c.lastErr, c.unlisted = Grant{}, time.Time{}, "", nil, time.Time{}
}

// clearFailure forgets the last failure, which no longer holds, so that
// the next Token tries at once.
func (c *cell) clearFailure() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastErr = nil
}

// refreshSoon starts a background refresh once g is due for one, unless
// the last refresh failed within the cooldown: a failing endpoint is not
// asked again on every call.
func (c *cell) refreshSoon(g Grant, now time.Time) {
	if now.Before(g.refreshAt(c.p.cfg.Margin)) {
		return
	}
	c.mu.Lock()
	cooling := c.lastErr != nil && now.Sub(c.lastErrAt) < c.p.cfg.FailureCooldown
	c.mu.Unlock()
	if !cooling {
		c.group.DoChan("refresh", c.refresh) // buffered: nobody needs to read it
	}
}

// load takes the stored token when it is still valid, else refreshes.
// Like refresh it runs in a single flight and on a context of its own: a
// caller that gives up must not fail the others waiting on it.
func (c *cell) load() (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.p.cfg.FetchTimeout)
	defer cancel()
	now := c.p.now()
	if g, err := c.p.store.LoadGrant(ctx, c.key); err == nil && g.valid(now) && g.Token != c.rejectedToken() {
		c.mu.Lock()
		c.grant, c.checked = g, now
		c.mu.Unlock()
		c.refreshSoon(g, now)
		return g.Token, nil
	}
	v, err, _ := c.group.Do("refresh", c.refresh)
	return v, err
}

// refresh obtains a token that is not due for a refresh and keeps it in
// memory, or records why none could be had.
func (c *cell) refresh() (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.p.cfg.FetchTimeout)
	defer cancel()
	if tracing.Enabled() {
		// A trace of its own, as package token's refresh: it names no shop.
		var span trace.Span
		ctx, span = otel.Tracer("github.com/ordergraph/ordergraph/internal/component").Start(ctx, "token refresh", trace.WithAttributes(attribute.Bool("token.component", true)))
		defer span.End()
	}
	g, err := c.obtain(ctx)
	if err != nil {
		tracing.Failed(trace.SpanFromContext(ctx), string(order.ErrorCode(err)))
	}
	now := c.p.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.lastErr, c.lastErrAt = err, now
		if errors.Is(err, ErrShopNotAuthorized) {
			c.grant = Grant{} // a revoked shop's token is not served any more
		}
		return nil, err
	}
	c.grant, c.checked, c.lastErr, c.rejected = g, now, nil, ""
	return g.Token, nil
}

// obtain takes the token another replica stored, or, holding the refresh
// lock, fetches one and stores it for the others. The lock outlives a
// fetch (FetchTimeout), so that no two replicas refresh one token at once;
// replicas without it wait for the holder's token rather than fetching
// their own, LockWait at most (a holder that crashed lets go within a
// fetch's time). Only a store that does not answer lets a replica fetch
// without the lock. The wait is in real time, since it is another
// process's refresh that is waited for.
func (c *cell) obtain(ctx context.Context) (Grant, error) {
	store := c.p.store
	deadline := time.Now().Add(c.p.cfg.LockWait)
	for {
		if g, err := store.LoadGrant(ctx, c.key); err == nil && c.fresh(g) {
			return g, nil
		}
		unlock, ok, err := store.Lock(ctx, c.key, c.p.cfg.FetchTimeout+lockMargin)
		if ok {
			defer unlock()
			// Another replica may have stored a token between Load and Lock.
			if g, err := store.LoadGrant(ctx, c.key); err == nil && c.fresh(g) {
				return g, nil
			}
			return c.fetch(ctx, c)
		}
		if err != nil {
			c.p.log.Warn("refreshing a token without the fleet's lock: the store did not answer",
				slog.String("authorizer_appid", c.key.Authorizer))
			return c.fetch(ctx, c)
		}
		if !time.Now().Before(deadline) {
			return Grant{}, order.Errorf(codes.UpstreamUnavailable, "another replica's token refresh is taking too long; try again", nil)
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return Grant{}, order.Errorf(codes.UpstreamUnavailable, "timed out waiting for another replica's token refresh", ctx.Err())
		}
	}
}

// lockMargin is how much longer the refresh lock lasts than a fetch.
const lockMargin = 2 * time.Second

// fresh reports whether a stored token can be served without a refresh.
func (c *cell) fresh(g Grant) bool {
	now := c.p.now()
	return g.valid(now) && g.Token != c.rejectedToken() && now.Before(g.refreshAt(c.p.cfg.Margin))
}

func (c *cell) rejectedToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rejected
}
