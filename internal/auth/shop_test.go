package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var secret = []byte(strings.Repeat("s", 32))

func bearer(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	c["exp"] = time.Now().Add(time.Hour).Unix()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + s
}

func keyEntry(name, key, rest string) string {
	sum := sha256.Sum256([]byte(key))
	return name + ":merchant:" + hex.EncodeToString(sum[:]) + rest
}

// In provider mode a caller's shop is its credential's, and nothing else
// can change it; a credential without one is refused.
func TestProviderShopComesFromTheCredential(t *testing.T) {
	keys, err := ParseAPIKeys(keyEntry("erp", "key-a", ":write:shop=wxshopa") + "," + keyEntry("old", "key-none", ""))
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{JWT: true, JWTSecret: secret, APIKeys: keys, RequireShop: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, header, value string
		shop, subject       string
		noShop              bool
	}{
		{"merchant JWT", "Authorization", bearer(t, jwt.MapClaims{"sub": "u1", "role": "merchant", "shop": "wxshopa"}), "wxshopa", "jwt:u1@wxshopa", false},
		{"buyer JWT", "Authorization", bearer(t, jwt.MapClaims{"sub": "u2", "role": "buyer", "openid": "o", "shop": "wxshopb"}), "wxshopb", "jwt:u2@wxshopb", false},
		{"bound key", "X-API-Key", "key-a", "wxshopa", "apikey:erp@wxshopa", false},
		{"JWT without shop", "Authorization", bearer(t, jwt.MapClaims{"sub": "u1", "role": "merchant"}), "", "", true},
		{"JWT with a shop that is no appid", "Authorization", bearer(t, jwt.MapClaims{"sub": "u1", "role": "merchant", "shop": "wx:a/b"}), "", "", true},
		{"unbound key", "X-API-Key", "key-none", "", "", true},
	} {
		r := httptest.NewRequest("POST", "/graphql", nil)
		r.Header.Set(c.header, c.value)
		r.Header.Set(ShopHeader, "wxshopz") // never heeded with credentials
		p, err := a.Authenticate(r)
		if c.noShop {
			if !errors.Is(err, ErrUnauthenticated) || !errors.Is(err, ErrNoShop) || !strings.Contains(Refusal(err), "shop") {
				t.Errorf("%s: %+v, %v", c.name, p, err)
			}
			continue
		}
		if err != nil || p.Shop != c.shop || p.Subject != c.subject {
			t.Errorf("%s: %+v, %v", c.name, p, err)
		}
	}
}

// Outside provider mode the claim and the header change nothing.
func TestShopIsIgnoredOnAOneShopServer(t *testing.T) {
	a, _ := New(Config{JWT: true, JWTSecret: secret})
	r := httptest.NewRequest("POST", "/graphql", nil)
	r.Header.Set("Authorization", bearer(t, jwt.MapClaims{"sub": "u1", "role": "merchant"}))
	if p, err := a.Authenticate(r); err != nil || p.Subject != "jwt:u1" {
		t.Fatalf("%+v %v", p, err)
	}
}

// Only the sandbox's provider mode without credentials takes X-Shop.
func TestShopHeader(t *testing.T) {
	a, _ := New(Config{RequireShop: true, ShopHeader: true})
	r := httptest.NewRequest("POST", "/graphql", nil)
	if _, err := a.Authenticate(r); !errors.Is(err, ErrNoShopHeader) || !strings.Contains(Refusal(err), "X-Shop") {
		t.Fatalf("without the header: %v", err)
	}
	r.Header.Set(ShopHeader, "wxsandboxshop0002")
	if p, err := a.Authenticate(r); err != nil || p.Shop != "wxsandboxshop0002" {
		t.Fatalf("%+v %v", p, err)
	}
	b, _ := New(Config{RequireShop: true})
	if _, err := b.Authenticate(r); !errors.Is(err, ErrNoShop) {
		t.Fatalf("the header heeded without ShopHeader: %v", err)
	}
}

func TestAPIKeyOptions(t *testing.T) {
	for _, bad := range []string{":shop=", ":shop=a:shop=b", ":write:write", ":read", ":shop=wx:secretish"} {
		if _, err := ParseAPIKeys(keyEntry("k", "x", bad)); err == nil || strings.Contains(err.Error(), "secretish") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	keys, err := ParseAPIKeys(keyEntry("k", "x", ":shop=wxshopa:write"))
	if err != nil || !keys[0].Write || keys[0].Shop != "wxshopa" {
		t.Fatalf("%+v %v", keys, err)
	}
}
