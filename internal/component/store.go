package component

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Grant is a token and its lifetime. The verify ticket is kept as one too:
// Issued is when it was received, Expires 12 hours later.
type Grant struct {
	Token   string
	Issued  time.Time
	Expires time.Time
}

// valid reports whether g can be used at now.
func (g Grant) valid(now time.Time) bool { return g.Token != "" && now.Before(g.Expires) }

// refreshAt is when a refresh should start: margin before expiry, but never
// before half the lifetime, so that a short-lived token still serves a while.
func (g Grant) refreshAt(margin time.Duration) time.Time {
	return g.Expires.Add(-min(margin, g.Expires.Sub(g.Issued)/2))
}

// Key names a token the fleet shares: the platform's own (Authorizer empty)
// or one shop's. Both sit under the component appid, so that two platforms,
// or a platform and the shop itself, sharing a store never overwrite each
// other's tokens: a shop token is a token of one platform for one shop.
type Key struct {
	Component  string
	Authorizer string
}

// Shop is what the platform knows of a shop's grant. It is kept without
// expiry: the refresh token lasts as long as the grant.
type Shop struct {
	// RefreshToken is the shop's authorizer_refresh_token; empty when none
	// is known, and the shop is then looked for in WeChat's list of the
	// platform's authorizers.
	RefreshToken string
	// Revoked is set when the shop revoked the grant (an unauthorized
	// event) or WeChat refused its refresh token (61023, 61003): the shop
	// is not authorized until it authorizes the platform again.
	Revoked bool
}

// Store keeps what the replicas of a platform share: the latest verify
// ticket, the platform token, each shop's token and grant, and a refresh
// lock per token. Every method's error means the store is unreachable; the
// Platform then works from process memory until it answers again.
type Store interface {
	// LoadTicket returns the latest verify ticket of the component appid;
	// a zero Grant when none is kept.
	LoadTicket(ctx context.Context, component string) (Grant, error)
	// SaveTicket keeps t as the latest ticket, for ttl, unless the kept
	// one was issued later: WeChat sends an event again when its answer
	// was slow, so an older ticket can arrive after a newer one.
	SaveTicket(ctx context.Context, component string, t Grant, ttl time.Duration) error

	// LoadGrant returns the token stored under k; a zero Grant when there
	// is none.
	LoadGrant(ctx context.Context, k Key) (Grant, error)
	// SaveGrant stores the platform token for ttl. (A shop's token is
	// stored with its refresh token: Authorize, SaveRefreshed.)
	SaveGrant(ctx context.Context, k Key, g Grant, ttl time.Duration) error
	// DeleteGrantIf deletes the token under k only if it is token, so that
	// a replica never deletes a newer token another one just stored.
	DeleteGrantIf(ctx context.Context, k Key, token string) error
	// Lock takes k's refresh lock for ttl at most (a holder that crashed
	// holds it no longer); ok is false when another replica holds it.
	// unlock releases it only if it is still the caller's.
	Lock(ctx context.Context, k Key, ttl time.Duration) (unlock func(), ok bool, err error)

	// LoadShop returns what is known of the shop's grant; a zero Shop when
	// nothing is.
	LoadShop(ctx context.Context, k Key) (Shop, error)
	// Authorize records that the shop authorized the platform (again) in
	// an event created at: refresh and g (kept for ttl) when its
	// authorization code was exchanged, else nothing, so that the shop is
	// recovered from WeChat's list of authorizers. What was known before
	// is dropped either way, since re-authorizing invalidates the shop's
	// tokens. An event older than the shop's last one changes nothing
	// (applied is false): WeChat sends events again for hours.
	Authorize(ctx context.Context, k Key, at time.Time, refresh string, g Grant, ttl time.Duration) (applied bool, err error)
	// SaveRefreshed stores a refreshed shop token g for ttl and refresh as
	// the shop's refresh token, in one step, only while used (the refresh
	// token the refresh used; "" for one recovered from WeChat's list: no
	// grant stored) is still the stored one. Otherwise saved is false and
	// nothing is stored, so that a refresh that crosses a revocation or a
	// new authorization cannot overwrite it.
	SaveRefreshed(ctx context.Context, k Key, used, refresh string, g Grant, ttl time.Duration) (saved bool, err error)
	// Revoke marks the shop not authorized and deletes its token. With
	// ifRefresh set, only while that is still the stored refresh token
	// (or none is): a refresh token WeChat refused must not revoke the
	// authorization that replaced it. With at set (an unauthorized event
	// created then), unless the shop's last event is later, as for
	// Authorize. revoked reports whether it did.
	Revoke(ctx context.Context, k Key, ifRefresh string, at time.Time) (revoked bool, err error)
}

// LocalStore is a Store in process memory: the whole store of a platform
// that runs without Redis, and the copy a Platform keeps of a shared
// store. Nothing in it expires by itself, since the Platform checks every
// lifetime against its own clock; it holds one entry per token and shop.
type LocalStore struct {
	mu      sync.Mutex
	tickets map[string]Grant
	grants  map[Key]Grant
	shops   map[Key]Shop
	events  map[Key]time.Time // when the shop's last event was created
	locks   map[Key]bool
}

// NewLocalStore returns an empty LocalStore.
func NewLocalStore() *LocalStore {
	return &LocalStore{tickets: map[string]Grant{}, grants: map[Key]Grant{}, shops: map[Key]Shop{}, events: map[Key]time.Time{}, locks: map[Key]bool{}}
}

func (s *LocalStore) LoadTicket(_ context.Context, component string) (Grant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tickets[component], nil
}

func (s *LocalStore) SaveTicket(_ context.Context, component string, t Grant, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.tickets[component].Issued.After(t.Issued) {
		s.tickets[component] = t
	}
	return nil
}

func (s *LocalStore) LoadGrant(_ context.Context, k Key) (Grant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grants[k], nil
}

func (s *LocalStore) SaveGrant(_ context.Context, k Key, g Grant, _ time.Duration) error {
	s.putGrant(k, g)
	return nil
}

func (s *LocalStore) DeleteGrantIf(_ context.Context, k Key, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.grants[k].Token == token {
		delete(s.grants, k)
	}
	return nil
}

func (s *LocalStore) Lock(_ context.Context, k Key, _ time.Duration) (func(), bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locks[k] {
		return nil, false, nil
	}
	s.locks[k] = true
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.locks, k)
			s.mu.Unlock()
		})
	}, true, nil
}

func (s *LocalStore) LoadShop(_ context.Context, k Key) (Shop, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shops[k], nil
}

func (s *LocalStore) Authorize(_ context.Context, k Key, at time.Time, refresh string, g Grant, _ time.Duration) (bool, error) {
	if !s.takeEvent(k, at) {
		return false, nil
	}
	s.putShop(k, Shop{RefreshToken: refresh})
	s.putGrant(k, g)
	return true, nil
}

// takeEvent records at as the shop's last event, unless a later one is
// recorded (then it reports false).
func (s *LocalStore) takeEvent(k Key, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.events[k].After(at) {
		return false
	}
	s.events[k] = at
	return true
}

func (s *LocalStore) SaveRefreshed(_ context.Context, k Key, used, refresh string, g Grant, _ time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shops[k] != (Shop{RefreshToken: used}) {
		return false, nil
	}
	s.shops[k] = Shop{RefreshToken: refresh}
	s.grants[k] = g
	return true, nil
}

func (s *LocalStore) Revoke(_ context.Context, k Key, ifRefresh string, at time.Time) (bool, error) {
	if !at.IsZero() && !s.takeEvent(k, at) {
		return false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if stored := s.shops[k]; ifRefresh != "" && (stored.Revoked || stored.RefreshToken != "" && stored.RefreshToken != ifRefresh) {
		return false, nil
	}
	s.shops[k] = Shop{Revoked: true}
	delete(s.grants, k)
	return true, nil
}

// The put methods set an entry to what the shared store holds, deleting
// it for a zero value.

func (s *LocalStore) putTicket(component string, t Grant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	setOrDelete(s.tickets, component, t, t.Token == "")
}

func (s *LocalStore) putGrant(k Key, g Grant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	setOrDelete(s.grants, k, g, g.Token == "")
}

func (s *LocalStore) putShop(k Key, sh Shop) {
	s.mu.Lock()
	defer s.mu.Unlock()
	setOrDelete(s.shops, k, sh, sh == (Shop{}))
}

// forgetShop drops what the copy holds of one shop.
func (s *LocalStore) forgetShop(k Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.grants, k)
	delete(s.shops, k)
	delete(s.events, k)
}

// setOrDelete sets m[k] to v, or deletes k when v is empty: the copy keeps
// no entry for what the shared store does not hold.
func setOrDelete[K comparable, V any](m map[K]V, k K, v V, empty bool) {
	if empty {
		delete(m, k)
		return
	}
	m[k] = v
}

// tiered is a shared store with a copy in process memory of everything
// read from it or written to it. The copy answers while the shared store
// does not: a replica keeps serving the tokens it knows, and the refresh
// tokens it knows, until the store is back (refreshing by itself, without
// the fleet's lock, meanwhile). The outage and the recovery are logged
// once each, not on every call. Its methods never fail.
type tiered struct {
	shared Store
	mem    *LocalStore
	log    *slog.Logger
	down   atomic.Bool
}

// answered reports whether the shared store answered (err is nil), logging
// a change either way.
func (t *tiered) answered(err error) bool {
	if err != nil {
		if t.down.CompareAndSwap(false, true) {
			t.log.Warn("component store unreachable; keeping the platform's ticket and tokens in this process until it returns", slog.String("error", err.Error()))
		}
		return false
	}
	if t.down.CompareAndSwap(true, false) {
		t.log.Info("component store reachable again; sharing the platform's ticket and tokens with the other replicas")
	}
	return true
}

func (t *tiered) LoadTicket(ctx context.Context, component string) (Grant, error) {
	g, err := t.shared.LoadTicket(ctx, component)
	if !t.answered(err) {
		return t.mem.LoadTicket(ctx, component)
	}
	t.mem.putTicket(component, g)
	return g, nil
}

func (t *tiered) SaveTicket(ctx context.Context, component string, g Grant, ttl time.Duration) error {
	t.answered(t.shared.SaveTicket(ctx, component, g, ttl))
	return t.mem.SaveTicket(ctx, component, g, ttl)
}

func (t *tiered) LoadGrant(ctx context.Context, k Key) (Grant, error) {
	g, err := t.shared.LoadGrant(ctx, k)
	if !t.answered(err) {
		return t.mem.LoadGrant(ctx, k)
	}
	t.mem.putGrant(k, g)
	return g, nil
}

func (t *tiered) SaveGrant(ctx context.Context, k Key, g Grant, ttl time.Duration) error {
	t.answered(t.shared.SaveGrant(ctx, k, g, ttl))
	return t.mem.SaveGrant(ctx, k, g, ttl)
}

func (t *tiered) DeleteGrantIf(ctx context.Context, k Key, token string) error {
	t.answered(t.shared.DeleteGrantIf(ctx, k, token))
	return t.mem.DeleteGrantIf(ctx, k, token)
}

func (t *tiered) Lock(ctx context.Context, k Key, ttl time.Duration) (func(), bool, error) {
	unlock, ok, err := t.shared.Lock(ctx, k, ttl)
	if !t.answered(err) {
		return t.mem.Lock(ctx, k, ttl)
	}
	return unlock, ok, nil
}

func (t *tiered) LoadShop(ctx context.Context, k Key) (Shop, error) {
	sh, err := t.shared.LoadShop(ctx, k)
	if !t.answered(err) {
		return t.mem.LoadShop(ctx, k)
	}
	t.mem.putShop(k, sh)
	return sh, nil
}

func (t *tiered) Authorize(ctx context.Context, k Key, at time.Time, refresh string, g Grant, ttl time.Duration) (bool, error) {
	applied, err := t.shared.Authorize(ctx, k, at, refresh, g, ttl)
	if !t.answered(err) {
		return t.mem.Authorize(ctx, k, at, refresh, g, ttl)
	}
	if applied {
		t.mem.takeEvent(k, at)
		t.mem.putShop(k, Shop{RefreshToken: refresh})
		t.mem.putGrant(k, g)
	}
	return applied, nil
}

func (t *tiered) SaveRefreshed(ctx context.Context, k Key, used, refresh string, g Grant, ttl time.Duration) (bool, error) {
	saved, err := t.shared.SaveRefreshed(ctx, k, used, refresh, g, ttl)
	if !t.answered(err) {
		return t.mem.SaveRefreshed(ctx, k, used, refresh, g, ttl)
	}
	// The copy follows the shared store's outcome, whatever it held; when
	// nothing was saved the caller reloads, which refreshes the copy.
	if saved {
		t.mem.putShop(k, Shop{RefreshToken: refresh})
		t.mem.putGrant(k, g)
	}
	return saved, nil
}

func (t *tiered) Revoke(ctx context.Context, k Key, ifRefresh string, at time.Time) (bool, error) {
	revoked, err := t.shared.Revoke(ctx, k, ifRefresh, at)
	if !t.answered(err) {
		return t.mem.Revoke(ctx, k, ifRefresh, at)
	}
	if revoked {
		if !at.IsZero() {
			t.mem.takeEvent(k, at)
		}
		t.mem.putShop(k, Shop{Revoked: true})
		t.mem.putGrant(k, Grant{})
	}
	return revoked, nil
}
