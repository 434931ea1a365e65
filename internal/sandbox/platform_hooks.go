package sandbox

import (
	"net/http"
	"slices"
	"time"
)

// Test hooks of the sandbox platform: faults WeChat has that a test must
// be able to cause at a moment of its choosing, and counters of what the
// server asked.

// NewLoadPlatform is NewPlatform for tests of many shops (thousands):
// every shop has the first shop's catalogue, built once (a catalogue of
// its own costs each shop tens of milliseconds and megabytes), so the
// shops' ids are not disjoint: use NewPlatform to test isolation. Its
// shops' orders must not move on: do not Play it.
func NewLoadPlatform(shops int, latency time.Duration, routes Routes) *Platform {
	var shared *catalogue
	return newPlatform(shops, latency, routes, func(start time.Time, _, _ int) catalogue {
		if shared == nil {
			c := newCatalogue(start, 0, 1)
			shared = &c
		}
		return *shared
	})
}

// Connect points the platform's pushes at events without pushing
// anything: the server then has seen neither a ticket nor the
// authorizations made before (Authorize pushes nothing while the platform
// is not connected), as after an outage; PushTicket delivers a ticket.
// Stop it with Start's stop or Connect(nil).
func (p *Platform) Connect(events http.Handler) {
	p.mu.Lock()
	p.events = events
	p.mu.Unlock()
}

// RefuseToken makes WeChat refuse the shop's current token with 40001
// without issuing another (as when another party refreshed it): the grant
// stays, so a refresh gets a new token.
func (p *Platform) RefuseToken(appID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.shops[appID]
	if s == nil {
		return ErrNoShop
	}
	p.setShopToken(s, "", time.Time{})
	return nil
}

// FailShop makes every call of the shop appID that carries its valid
// token answer HTTP status (a 5xx: WeChat failing for that shop alone); 0
// serves its calls again. The platform endpoints are not affected.
func (p *Platform) FailShop(appID string, status int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shops[appID] == nil {
		return ErrNoShop
	}
	if status == 0 {
		delete(p.failing, appID)
	} else {
		p.failing[appID] = status
	}
	return nil
}

// ShopCalls is how many shop API calls (not the platform endpoints) came
// with the shop appID's valid token, failed ones included.
func (p *Platform) ShopCalls(appID string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.shopCalls[appID]
}

// AllCalls is how many requests the platform got, of any path and token.
func (p *Platform) AllCalls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.all
}

// Issued is every verify ticket, authorization code, platform token, shop
// token and refresh token the platform issued: what must never appear in
// a server's logs or answers.
func (p *Platform) Issued() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.issued)
}
