// Package component calls the shop APIs as a WeChat third-party platform
// (开放平台 第三方平台): for many shops, each of which authorized the
// platform, rather than as the one shop whose appid and secret the server
// holds.
//
// It receives the platform's authorization events (the verify ticket WeChat
// pushes every 10 minutes; shops authorizing and revoking the platform) and
// keeps the chain of tokens they lead to: the platform token, got with the
// latest ticket, and for each authorized shop its token, got with the
// authorization code and then with the shop's refresh token. Every piece
// is shared by the replicas through a Store (Redis, or process memory),
// and each token is refreshed by one replica at a time, because a refresh
// invalidates the token it replaces and the calls have daily quotas.
//
// It guards against what SDKs are reported to get wrong: an answer with an
// errcode is never cached and never overwrites a stored refresh token;
// shop tokens are keyed by the platform's appid and the shop's, never the
// shop's alone; refresh tokens are kept without expiry, and recovered from
// WeChat's list of authorizers when lost; the ticket is kept its full 12
// hours. A shop's token is a wechat.TokenSource (ShopTokens), so the
// existing wechat.Client calls the shop's APIs with it, refreshing and
// calling once more when WeChat refuses it.
package component

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wxpush"
)

// Errors a caller tells apart. Calls fail with an *order.Error that wraps
// them (errors.Is finds them), so that its code and message reach the
// client; neither carries a secret.
var (
	// ErrNoTicket is the state before WeChat's first verify ticket: no
	// platform token can be had, and nor can any shop token that is not
	// stored already.
	ErrNoTicket = errors.New("component: the platform is waiting for WeChat's verify ticket (component_verify_ticket, pushed every 10 minutes)")
	// ErrShopNotAuthorized is a shop that never authorized the platform,
	// revoked it, or whose grant WeChat no longer knows (61023, 61003).
	ErrShopNotAuthorized = errors.New("component: the shop has not authorized the platform, or has revoked its authorization")
)

func noTicket() error {
	return &order.Error{Code: codes.UpstreamAuthFailed, Message: "the platform is waiting for WeChat's verify ticket (component_verify_ticket, pushed every 10 minutes); retry later", Cause: ErrNoTicket}
}

// notAuthorized is ErrShopNotAuthorized as a coded error, with WeChat's
// errcode when it said so (0: it was known without asking).
func notAuthorized(errcode int64) error {
	e := &order.Error{Code: codes.ShopNotAuthorized, Message: "the shop has not authorized this platform, or has revoked its authorization", Cause: ErrShopNotAuthorized}
	if errcode != 0 {
		e.Errcode = &errcode
	}
	return e
}

// ticketLifetime is how long a verify ticket is valid after its push.
const ticketLifetime = 12 * time.Hour

// Config configures a Platform. Zero durations take their default.
type Config struct {
	// ComponentAppID and ComponentSecret are the platform's appid and
	// appsecret.
	ComponentAppID, ComponentSecret string
	// Token and AESKey are the platform's message Token and EncodingAESKey,
	// with which WeChat signs and encrypts its events.
	Token, AESKey string
	// Transport calls WeChat.
	Transport *wechat.Transport
	// Store is what the replicas share; nil keeps everything in this
	// process (refresh tokens included, so a restart recovers them from
	// WeChat's list of authorizers).
	Store Store
	// Now is the clock of token lifetimes and event timestamps; nil is
	// time.Now.
	Now    func() time.Time
	Logger *slog.Logger

	// Margin is how long before expiry a token is refreshed (at most half
	// its lifetime).
	Margin time.Duration
	// Recheck is how long a replica serves a token from memory before it
	// reads the store again, which bounds how long it takes another
	// replica's revocation or refresh to reach it.
	Recheck time.Duration
	// FailureCooldown is how long a failure is answered to callers before
	// WeChat is asked again.
	FailureCooldown time.Duration
	// UnlistedFor is how long a shop not found in WeChat's list of
	// authorizers is not looked for again: the list is paged, and every
	// call for an unknown shop would page through it.
	UnlistedFor time.Duration
	// FetchTimeout bounds one refresh, independent of any caller.
	FetchTimeout time.Duration
	// LockWait is how long a caller waits for another replica's refresh
	// before it is answered UPSTREAM_UNAVAILABLE (it never refreshes the
	// token beside that replica).
	LockWait time.Duration
}

func (cfg *Config) defaults() {
	set := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	set(&cfg.Margin, 5*time.Minute)
	set(&cfg.Recheck, 5*time.Second)
	set(&cfg.FailureCooldown, 2*time.Second)
	set(&cfg.UnlistedFor, time.Minute)
	set(&cfg.FetchTimeout, 10*time.Second)
	set(&cfg.LockWait, 10*time.Second)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
}

// Platform is one third-party platform: its events, its token and its
// shops' tokens.
type Platform struct {
	cfg      Config
	store    Store
	crypter  *wxpush.Crypter
	log      *slog.Logger
	platform *cell
	refusals throttle

	mu    sync.Mutex
	shops map[string]*cell // by authorizer appid

	authorizers authorizers // the last walk of WeChat's list
}

// New returns the Platform of cfg.
func New(cfg Config) (*Platform, error) {
	cfg.defaults()
	switch {
	case !validAppID(cfg.ComponentAppID):
		return nil, errors.New("component: the component appid is missing or not an appid")
	case cfg.ComponentSecret == "":
		return nil, errors.New("component: the component appsecret is missing")
	case cfg.Token == "":
		return nil, errors.New("component: the message Token is missing")
	case cfg.Transport == nil:
		return nil, errors.New("component: no transport")
	}
	crypter, err := wxpush.NewCrypter(cfg.Token, cfg.AESKey, cfg.ComponentAppID)
	if err != nil {
		return nil, fmt.Errorf("component: the EncodingAESKey %w", err)
	}
	p := &Platform{cfg: cfg, crypter: crypter, log: cfg.Logger, shops: map[string]*cell{}}
	if cfg.Store == nil {
		p.store = NewLocalStore()
	} else {
		p.store = &tiered{shared: cfg.Store, mem: NewLocalStore(), log: cfg.Logger}
	}
	p.platform = newCell(p, Key{Component: cfg.ComponentAppID}, func(ctx context.Context, _ *cell) (Grant, error) {
		return p.fetchPlatformToken(ctx)
	})
	return p, nil
}

func (p *Platform) now() time.Time { return p.cfg.Now() }

// appIDPattern is what an appid may look like (WeChat's are "wx" and 16
// hex digits); it keeps the store's keys well formed.
var appIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

func validAppID(s string) bool { return appIDPattern.MatchString(s) }

// Ready reports whether the platform can get a platform token: an error
// wrapping ErrNoTicket until WeChat's first verify ticket (or after 12 hours without one).
func (p *Platform) Ready() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := p.ticket(ctx); err != nil {
		return err
	}
	return nil
}

// ticket is the latest valid verify ticket.
func (p *Platform) ticket(ctx context.Context) (string, error) {
	t, err := p.store.LoadTicket(ctx, p.cfg.ComponentAppID)
	if err != nil || !t.valid(p.now()) {
		return "", noTicket()
	}
	return t.Token, nil
}

// ShopTokens is the token source of the shop authorizerAppID, for a
// wechat.Client that calls the shop's APIs. Its Token fails with
// ErrShopNotAuthorized for a shop that has not authorized the platform.
func (p *Platform) ShopTokens(authorizerAppID string) wechat.TokenSource {
	if !validAppID(authorizerAppID) {
		return unknownShop{}
	}
	return p.shop(authorizerAppID)
}

// shop returns the shop's cell, making it on first use.
func (p *Platform) shop(authorizer string) *cell {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.shops[authorizer]
	if c == nil {
		c = newCell(p, Key{Component: p.cfg.ComponentAppID, Authorizer: authorizer}, p.refreshShop)
		p.shops[authorizer] = c
	}
	return c
}

// Forget makes this process drop what it holds of a shop: its token in
// memory and, with a shared store, its copy of the shop's grant, so that
// a process's memory follows the shops it serves rather than every shop
// that ever authorized the platform. The shop's next call reads the
// shared store again. Without a shared store nothing else is dropped:
// process memory is then where the refresh tokens live.
func (p *Platform) Forget(authorizerAppID string) {
	p.mu.Lock()
	delete(p.shops, authorizerAppID)
	p.mu.Unlock()
	p.forgetCopy(authorizerAppID)
}

// forgetCopy drops the shared store's memory copy of a shop this process
// holds no cell for.
func (p *Platform) forgetCopy(authorizer string) {
	t, ok := p.store.(*tiered)
	if !ok {
		return
	}
	p.mu.Lock()
	_, held := p.shops[authorizer]
	p.mu.Unlock()
	// While the shared store is away the copy is all there is.
	if !held && !t.down.Load() {
		t.mem.forgetShop(Key{Component: p.cfg.ComponentAppID, Authorizer: authorizer})
	}
}

// resetShop makes this replica forget what it holds of a shop whose grant
// changed; the other replicas follow within Recheck.
func (p *Platform) resetShop(authorizer string) {
	p.mu.Lock()
	c := p.shops[authorizer]
	p.mu.Unlock()
	if c != nil {
		c.reset()
	}
}

// unknownShop is the token source of a string that is not an appid: no
// shop of that name can have authorized the platform.
type unknownShop struct{}

func (unknownShop) Token(context.Context) (string, error) { return "", notAuthorized(0) }
func (unknownShop) Invalidate(string)                     {}
