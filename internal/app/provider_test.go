package app_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ordergraph/ordergraph/internal/config"
	"github.com/ordergraph/ordergraph/internal/sandbox"
	"github.com/ordergraph/ordergraph/internal/wxpush"
)

// Provider mode end to end: a server configured as a real third-party
// platform (WECHAT_COMPONENT_*) against the sandbox playing WeChat's
// platform and its shops, with JWTs naming their shop.

// platformUpstream is the sandbox platform of n shops (Store family),
// served over HTTP as WeChat would be.
func platformUpstream(t *testing.T, n int) (*sandbox.Platform, string) {
	t.Helper()
	return servePlatform(t, sandbox.NewPlatform(n, 0, sandbox.StoreRoutes))
}

func servePlatform(t *testing.T, pf *sandbox.Platform) (*sandbox.Platform, string) {
	t.Helper()
	up := httptest.NewServer(pf)
	t.Cleanup(up.Close)
	return pf, up.URL
}

// providerServer runs a server in provider mode against pf at base, with
// JWT authentication; env overrides. Nothing is pushed to it: see
// startPlatform. When the test ends, no secret of the platform's (its
// appsecret, keys, and every ticket and token it issued) nor any JWT the
// test made may be in a log line or a response.
func providerServer(t *testing.T, pf *sandbox.Platform, base string, env map[string]string) *server {
	t.Helper()
	token, key := sandbox.PlatformKeys()
	vars := map[string]string{
		"WECHAT_COMPONENT_APP_ID": sandbox.ComponentAppID, "WECHAT_COMPONENT_APP_SECRET": sandbox.ComponentSecret,
		"WECHAT_COMPONENT_TOKEN": token, "WECHAT_COMPONENT_AES_KEY": key,
		"WECHAT_API_BASE_URL": base, "UPSTREAM_FAMILY": "store",
		"AUTH_MODE": "jwt", "JWT_SECRET": jwtSecret, "JWT_ISSUER": issuer, "JWT_AUDIENCE": audience,
		"LOG_LEVEL": "debug", "RATE_LIMIT": "0", "ORDER_POLL_INTERVAL": "0s",
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.Load(nil, func(k string) string { return vars[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{}
	s.start(t, cfg, sandbox.ComponentSecret, token, key, jwtSecret)
	// Runs before start's check (cleanups run last first).
	t.Cleanup(func() {
		s.mu.Lock()
		s.secrets = append(s.secrets, pf.Issued()...)
		s.mu.Unlock()
	})
	return s
}

// startPlatform points the platform's pushes at s and pushes the ticket
// and every shop's authorization, as WeChat does.
func startPlatform(t *testing.T, pf *sandbox.Platform, s *server) {
	t.Helper()
	t.Cleanup(pf.Start(s.App))
}

// shopJWT is a merchant JWT (sub user-1) for shop, remembered as a secret.
func shopJWT(t *testing.T, s *server, shop string, edits ...func(jwt.MapClaims)) map[string]string {
	t.Helper()
	tok := hs(t, claims("merchant", "", append([]func(jwt.MapClaims){func(c jwt.MapClaims) { c["shop"] = shop }}, edits...)...))
	s.mu.Lock()
	s.secrets = append(s.secrets, tok)
	s.mu.Unlock()
	return bearer(tok)
}

// gql posts query with header.
func (s *server) gql(t *testing.T, header map[string]string, query string, vars map[string]any) *gqlResponse {
	t.Helper()
	body := fmt.Sprintf(`{"query":%q}`, query)
	if vars != nil {
		b := strings.Builder{}
		fmt.Fprintf(&b, `{"query":%q,"variables":{`, query)
		first := true
		for k, v := range vars {
			if !first {
				b.WriteString(",")
			}
			first = false
			fmt.Fprintf(&b, "%q:%q", k, fmt.Sprint(v))
		}
		b.WriteString("}}")
		body = b.String()
	}
	return s.do(t, "POST", "/graphql", "application/json", body, header)
}

// shopOrder is shop n's (from 1) i-th catalogue order id.
func shopOrder(n, i int) string {
	return strconv.FormatUint(sandbox.CatalogueFirstID+uint64(n-1)*sandbox.ShopIDStride+uint64(i), 10)
}

func orderQuery(id string) string { return fmt.Sprintf(`{ order(id: %q) { id openid } }`, id) }

// wantOrder fails unless r answers order id without error.
func wantOrder(t *testing.T, what string, r *gqlResponse, id string) {
	t.Helper()
	if len(r.Errors) > 0 || at(r.Data, "order.id") != id {
		t.Fatalf("%s: want order %s: %d %s", what, id, r.Status, r.Raw)
	}
}

// wantCode fails unless r has an error coded code at path.
func wantCode(t *testing.T, what string, r *gqlResponse, path, code string) {
	t.Helper()
	if got := r.code(path); got != code {
		t.Fatalf("%s: want %s at %q, got %q: %d %s", what, code, path, got, r.Status, r.Raw)
	}
}

// pushShop posts a Store event message to the shop's $APPID$ URL, as
// WeChat posts a platform's shops' messages: signed and encrypted with
// the platform's keys, for the component appid.
func pushShop(t *testing.T, s *server, shop, message string) {
	t.Helper()
	token, key := sandbox.PlatformKeys()
	c, err := wxpush.NewCrypter(token, key, sandbox.ComponentAppID)
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	enc, sig := c.Encrypt([]byte(message), [16]byte{7, 7, 7}, ts, "43")
	q := url.Values{"timestamp": {ts}, "nonce": {"43"}, "encrypt_type": {"aes"}, "msg_signature": {sig}}
	r := s.do(t, "POST", "/wechat/events/"+shop+"?"+q.Encode(), "application/json", fmt.Sprintf(`{"ToUserName":"gh_%s","Encrypt":%q}`, shop, enc), nil)
	if r.Status != http.StatusOK || string(r.Raw) != "success" {
		t.Fatalf("push for %s: %d %s", shop, r.Status, r.Raw)
	}
}
