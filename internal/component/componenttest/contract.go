// Package componenttest holds what every component.Store must do, as a
// test both implementations run (the process-local one in package
// component, Redis's in package redisstore), so that a platform behaves
// the same with Redis and without.
package componenttest

import (
	"context"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/component"
)

// StoreContract checks s, which must be empty.
func StoreContract(t *testing.T, s component.Store) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().Truncate(time.Millisecond)
	grant := func(tok string) component.Grant {
		return component.Grant{Token: tok, Issued: now, Expires: now.Add(2 * time.Hour)}
	}
	const ttl = 2 * time.Hour
	mustAuthorize := func(k component.Key, at time.Time, refresh string, g component.Grant) {
		t.Helper()
		if applied, err := s.Authorize(ctx, k, at, refresh, g, ttl); err != nil || !applied {
			t.Fatalf("authorize %+v: %v %v", k, applied, err)
		}
	}

	// The ticket, per component appid.
	if g, err := s.LoadTicket(ctx, "wxc1"); err != nil || g.Token != "" {
		t.Fatalf("empty store's ticket: %+v %v", g, err)
	}
	must(s.SaveTicket(ctx, "wxc1", grant("ticket@@@a|b"), 12*time.Hour))
	if g, _ := s.LoadTicket(ctx, "wxc1"); g != grant("ticket@@@a|b") {
		t.Fatalf("ticket read back as %+v", g)
	}
	if g, _ := s.LoadTicket(ctx, "wxc2"); g.Token != "" {
		t.Fatalf("another component's ticket: %+v", g)
	}

	// Tokens: the platform's and a shop's, of two components, apart.
	platform := component.Key{Component: "wxc1"}
	shop := component.Key{Component: "wxc1", Authorizer: "wxs1"}
	other := component.Key{Component: "wxc2", Authorizer: "wxs1"}
	must(s.SaveGrant(ctx, platform, grant("P|1"), ttl))
	mustAuthorize(shop, now, "R1", grant("S1"))
	mustAuthorize(other, now, "R9", grant("S9"))
	for k, want := range map[component.Key]string{platform: "P|1", shop: "S1", other: "S9"} {
		if g, err := s.LoadGrant(ctx, k); err != nil || g != grant(want) {
			t.Fatalf("%+v: read back %+v %v, want %s", k, g, err, want)
		}
	}
	if sh, _ := s.LoadShop(ctx, shop); sh != (component.Shop{RefreshToken: "R1"}) {
		t.Fatalf("shop read back as %+v", sh)
	}

	// Compare-and-delete: only the stored token exactly.
	must(s.DeleteGrantIf(ctx, platform, "P"))
	must(s.DeleteGrantIf(ctx, platform, "1"))
	must(s.DeleteGrantIf(ctx, platform, ""))
	if g, _ := s.LoadGrant(ctx, platform); g.Token != "P|1" {
		t.Fatalf("a delete of another token deleted %+v", g)
	}
	must(s.DeleteGrantIf(ctx, platform, "P|1"))
	if g, _ := s.LoadGrant(ctx, platform); g.Token != "" {
		t.Fatalf("a delete of the stored token left %+v", g)
	}

	// The refresh lock: one holder per token, released by its owner.
	unlock, ok, err := s.Lock(ctx, shop, time.Minute)
	if err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	if _, ok, _ := s.Lock(ctx, shop, time.Minute); ok {
		t.Fatal("the lock was taken twice")
	}
	if u, ok, _ := s.Lock(ctx, other, time.Minute); !ok {
		t.Fatal("another shop's lock is held too")
	} else {
		u()
	}
	unlock()
	if u, ok, _ := s.Lock(ctx, shop, time.Minute); !ok {
		t.Fatal("the lock was not released")
	} else {
		u()
	}

	// A refresh stores the token and refresh token together.
	if saved, err := s.SaveRefreshed(ctx, shop, "R1", "R2", grant("S2"), ttl); err != nil || !saved {
		t.Fatalf("refresh: %v %v", saved, err)
	}
	if sh, _ := s.LoadShop(ctx, shop); sh.RefreshToken != "R2" {
		t.Fatalf("refresh token after a refresh: %+v", sh)
	}
	// A refresh that used a replaced refresh token (the shop authorized
	// again meanwhile), or none while one is stored, saves nothing.
	for _, used := range []string{"R1", ""} {
		if saved, _ := s.SaveRefreshed(ctx, shop, used, "R1b", grant("S1b"), ttl); saved {
			t.Fatalf("a refresh with %q overwrote the grant of R2", used)
		}
	}
	if g, _ := s.LoadGrant(ctx, shop); g.Token != "S2" {
		t.Fatalf("a stale refresh stored %+v", g)
	}

	// A refused refresh token revokes only while it is the stored one.
	if revoked, _ := s.Revoke(ctx, shop, "R1", time.Time{}); revoked {
		t.Fatal("a replaced refresh token revoked the shop")
	}
	if g, _ := s.LoadGrant(ctx, shop); g.Token != "S2" {
		t.Fatalf("a refused revocation dropped the token: %+v", g)
	}
	if revoked, _ := s.Revoke(ctx, shop, "R2", time.Time{}); !revoked {
		t.Fatal("the stored refresh token, refused, did not revoke the shop")
	}
	if sh, _ := s.LoadShop(ctx, shop); !sh.Revoked || sh.RefreshToken != "" {
		t.Fatalf("a revoked shop reads %+v", sh)
	}
	if g, _ := s.LoadGrant(ctx, shop); g.Token != "" {
		t.Fatalf("a revoked shop kept its token %+v", g)
	}
	// A refresh that crosses the revocation does not bring the shop back.
	if saved, _ := s.SaveRefreshed(ctx, shop, "R2", "R3", grant("S3"), ttl); saved {
		t.Fatal("a refresh overwrote a revocation")
	}
	if g, _ := s.LoadGrant(ctx, shop); g.Token != "" {
		t.Fatalf("a refresh after the revocation stored %+v", g)
	}
	if g, _ := s.LoadGrant(ctx, other); g.Token != "S9" {
		t.Fatalf("another component's shop was touched: %+v", g)
	}

	// Authorizing again replaces the revocation; a failed exchange leaves
	// the shop unknown, with no token.
	mustAuthorize(shop, now.Add(time.Second), "R4", grant("S4"))
	if sh, _ := s.LoadShop(ctx, shop); sh != (component.Shop{RefreshToken: "R4"}) {
		t.Fatalf("re-authorized shop reads %+v", sh)
	}
	mustAuthorize(shop, now.Add(time.Second), "", component.Grant{})
	if sh, _ := s.LoadShop(ctx, shop); sh != (component.Shop{}) {
		t.Fatalf("a shop whose exchange failed reads %+v", sh)
	}
	// A refresh token recovered from WeChat's list is saved while none is.
	if saved, _ := s.SaveRefreshed(ctx, shop, "", "R5", grant("S5"), ttl); !saved {
		t.Fatal("a refresh with a recovered refresh token was not saved")
	}
	mustAuthorize(shop, now.Add(time.Second), "", component.Grant{})
	if g, _ := s.LoadGrant(ctx, shop); g.Token != "" {
		t.Fatalf("a shop whose exchange failed kept its token %+v", g)
	}
	// An unauthorized event revokes, unless it is older than the shop's
	// last event; an older authorized event changes nothing either.
	if revoked, _ := s.Revoke(ctx, other, "", now.Add(-time.Second)); revoked {
		t.Fatal("an unauthorized event older than the authorization revoked it")
	}
	if revoked, _ := s.Revoke(ctx, other, "", now); !revoked {
		t.Fatal("the unauthorized event did not revoke")
	}
	if applied, _ := s.Authorize(ctx, other, now.Add(-time.Second), "R8", grant("S8"), ttl); applied {
		t.Fatal("an authorized event older than the revocation was applied")
	}
	if sh, _ := s.LoadShop(ctx, other); !sh.Revoked {
		t.Fatalf("an older authorized event changed a revoked shop to %+v", sh)
	}

	// A ticket issued earlier than the kept one does not replace it.
	must(s.SaveTicket(ctx, "wxc1", component.Grant{Token: "ticket@@@old", Issued: now.Add(-time.Minute), Expires: now.Add(time.Hour)}, time.Hour))
	if g, _ := s.LoadTicket(ctx, "wxc1"); g.Token != "ticket@@@a|b" {
		t.Fatalf("an older ticket replaced the newer: %+v", g)
	}
}
