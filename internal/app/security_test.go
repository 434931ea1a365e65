package app_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ordergraph/ordergraph/internal/config"
)

const (
	jwtSecret = "test-jwt-secret-0123456789-abcdefghij"
	issuer    = "https://auth.shop.example"
	audience  = "ordergraph"
	opsKey    = "ops-key-9f8e7d6c5b4a39281706"
)

func sha(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }

// claims builds the claims of a valid token for role, changed by edits.
func claims(role, openid string, edits ...func(jwt.MapClaims)) jwt.MapClaims {
	c := jwt.MapClaims{
		"sub": "user-1", "iss": issuer, "aud": audience, "role": role,
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
	}
	if openid != "" {
		c["openid"] = openid
	}
	for _, e := range edits {
		e(c)
	}
	return c
}

func sign(t *testing.T, method jwt.SigningMethod, key any, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func hs(t *testing.T, c jwt.MapClaims) string {
	return sign(t, jwt.SigningMethodHS256, []byte(jwtSecret), c)
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// secureServer runs with the production defaults and JWT plus API keys.
func secureServer(t *testing.T, extra map[string]string, tweaks ...func(*config.Config)) *server {
	env := map[string]string{
		"AUTH_MODE": "jwt,apikey", "JWT_SECRET": jwtSecret, "JWT_ISSUER": issuer, "JWT_AUDIENCE": audience,
		"API_KEYS": "ops:merchant:" + sha(opsKey), "ALLOW_ANONYMOUS": "", "PLAYGROUND": "",
	}
	for k, v := range extra {
		env[k] = v
	}
	s := mustOpenServer(t, env, tweaks...)
	s.secrets = append(s.secrets, opsKey)
	s.Fake.SetOrder(3001, `{"order_id":3001,"openid":"buyer-A","status":20}`)
	s.Fake.SetOrder(3002, `{"order_id":3002,"openid":"buyer-B","status":20}`)
	s.Fake.SetOrder(3003, `{"order_id":3003,"status":20}`)
	return s
}

func TestSecurityTable(t *testing.T) {
	s := secureServer(t, map[string]string{"MAX_BODY_BYTES": "16384", "MAX_QUERY_DEPTH": "4", "MAX_ALIASES": "20"})
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	none := func() string {
		tok, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims("merchant", "")).SignedString(jwt.UnsafeAllowNoneSignatureType)
		return tok
	}()
	tampered := func() string {
		parts := strings.Split(hs(t, claims("buyer", "buyer-A")), ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		parts[1] = base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"buyer"`, `"merchant"`, 1)))
		return strings.Join(parts, ".")
	}()
	one := `{ order(id: "3001") { id } }`
	unauth := []struct {
		name   string
		header map[string]string
	}{
		{"no credentials", nil},
		{"not a JWT", bearer("abc.def")},
		{"expired", bearer(hs(t, claims("merchant", "", func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-2 * time.Minute).Unix() })))},
		{"not yet valid", bearer(hs(t, claims("merchant", "", func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(5 * time.Minute).Unix() })))},
		{"no expiry", bearer(hs(t, claims("merchant", "", func(c jwt.MapClaims) { delete(c, "exp") })))},
		{"wrong audience", bearer(hs(t, claims("merchant", "", func(c jwt.MapClaims) { c["aud"] = "another-api" })))},
		{"wrong issuer", bearer(hs(t, claims("merchant", "", func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })))},
		{"alg none", bearer(none)},
		{"tampered payload", bearer(tampered)},
		{"signed with another secret", bearer(sign(t, jwt.SigningMethodHS256, []byte("another-secret-0123456789-abcdefghij"), claims("merchant", "")))},
		{"RS256 while HS256 is configured", bearer(sign(t, jwt.SigningMethodRS256, rsaKey, claims("merchant", "")))},
		{"unknown role", bearer(hs(t, claims("admin", "")))},
		{"buyer without openid", bearer(hs(t, claims("buyer", "")))},
		{"wrong API key", map[string]string{"X-API-Key": "not-the-key"}},
	}
	for _, tt := range unauth {
		t.Run("401 "+tt.name, func(t *testing.T) {
			r := s.do(t, "POST", "/graphql", "application/json", fmt.Sprintf(`{"query":%q}`, one), tt.header)
			if r.Status != 401 || r.code("") != "UNAUTHENTICATED" || r.Header.Get("WWW-Authenticate") == "" {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
		})
	}
	if n := s.Fake.OrderCalls.Load(); n != 0 {
		t.Fatalf("unauthenticated requests reached the upstream: %d calls", n)
	}

	merchant := bearer(hs(t, claims("merchant", "")))
	buyerA := bearer(hs(t, claims("buyer", "buyer-A")))
	query := func(t *testing.T, h map[string]string, q string) *gqlResponse {
		t.Helper()
		return s.do(t, "POST", "/graphql", "application/json", fmt.Sprintf(`{"query":%q}`, q), h)
	}

	t.Run("merchant sees every order", func(t *testing.T) {
		r := query(t, merchant, `{ a: order(id: "3001") { id } b: order(id: "3002") { id } c: order(id: "3003") { id } }`)
		if len(r.Errors) > 0 || at(r.Data, "b.id") != "3002" || at(r.Data, "c.id") != "3003" {
			t.Fatalf("%s", r.Raw)
		}
	})
	t.Run("API key is a merchant", func(t *testing.T) {
		r := query(t, map[string]string{"X-API-Key": opsKey}, `{ order(id: "3002") { id } }`)
		if r.Status != 200 || at(r.Data, "order.id") != "3002" {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	})
	t.Run("buyer sees their own order", func(t *testing.T) {
		r := query(t, buyerA, `{ order(id: "3001") { id openid } }`)
		if at(r.Data, "order.id") != "3001" {
			t.Fatalf("%s", r.Raw)
		}
	})
	t.Run("another buyer's order looks exactly like a missing one", func(t *testing.T) {
		other := query(t, buyerA, `{ order(id: "3002") { id } }`)
		noOpenid := query(t, buyerA, `{ order(id: "3003") { id } }`)
		missing := query(t, buyerA, `{ order(id: "4040404") { id } }`)
		if missing.code("order") != "ORDER_NOT_FOUND" {
			t.Fatalf("a missing order: %s", missing.Raw)
		}
		for _, r := range []*gqlResponse{other, noOpenid} {
			if !reflect.DeepEqual(r.Errors, missing.Errors) || !reflect.DeepEqual(r.Data, missing.Data) || r.Status != missing.Status {
				t.Fatalf("distinguishable from a miss:\n%s\n%s", r.Raw, missing.Raw)
			}
		}
	})
	t.Run("entry by entry in orders(ids:) and across aliases", func(t *testing.T) {
		r := query(t, buyerA, `{ orders(ids: ["3002", "3001", "4040404", "3001"]) { id } x: order(id: "3002") { id } y: order(id: "3001") { id } }`)
		jsonEqual(t, r.Data, `{"orders": [null, {"id": "3001"}, null, {"id": "3001"}], "x": null, "y": {"id": "3001"}}`)
		for _, p := range []string{"orders.0", "orders.2", "x"} {
			e := r.errorAt(p)
			if e == nil || e.Message != "order not found" || !reflect.DeepEqual(e.Extensions, map[string]any{"code": "ORDER_NOT_FOUND"}) {
				t.Errorf("%s: %+v", p, e)
			}
		}
	})
	t.Run("oversized body is 413", func(t *testing.T) {
		r := s.do(t, "POST", "/graphql", "application/json", `{"query":"{ order(id: \"3001\") { id } }","variables":{"pad":"`+strings.Repeat("x", 20000)+`"}}`, merchant)
		if r.Status != 413 {
			t.Fatalf("%d", r.Status)
		}
	})
	before := s.Fake.OrderCalls.Load()
	t.Run("deep query refused", func(t *testing.T) {
		r := query(t, merchant, `{ order(id: "3001") { orderDetail { deliveryInfo { deliveryProductInfo { deliveryAddress { userName } } } } } }`)
		if r.code("") != "DEPTH_LIMIT_EXCEEDED" || !strings.Contains(r.Errors[0].Message, "6 levels deep; the limit is 4") {
			t.Fatalf("%s", r.Raw)
		}
	})
	t.Run("alias bomb refused", func(t *testing.T) {
		var b strings.Builder
		for i := range 50 {
			fmt.Fprintf(&b, " a%d: id", i)
		}
		r := query(t, merchant, `{ order(id: "3001") {`+b.String()+` } }`)
		if r.code("") != "ALIAS_LIMIT_EXCEEDED" {
			t.Fatalf("%s", r.Raw)
		}
		b.Reset()
		for i := range 800 {
			fmt.Fprintf(&b, " a%d: id", i)
		}
		r = query(t, merchant, `{ order(id: "3001") {`+b.String()+` } }`)
		if r.code("") != "GRAPHQL_PARSE_FAILED" || !strings.Contains(r.Errors[0].Message, "token limit") {
			t.Fatalf("%.300s", r.Raw)
		}
	})
	if n := s.Fake.OrderCalls.Load(); n != before {
		t.Fatalf("refused documents reached the upstream: %d calls", n-before)
	}
	t.Run("introspection is off by default with real credentials", func(t *testing.T) {
		if r := query(t, merchant, `{ __schema { types { name } } }`); len(r.Errors) == 0 {
			t.Fatalf("%.200s", r.Raw)
		}
		if r := s.do(t, "GET", "/", "", "", nil); r.Status != 404 {
			t.Fatalf("playground served by default: %d", r.Status)
		}
	})
	t.Run("no CORS by default with real credentials", func(t *testing.T) {
		r := s.do(t, "OPTIONS", "/graphql", "", "", map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
		if r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("CORS allowed: %v", r.Header)
		}
	})
}

func TestBuyersMayNotIntrospect(t *testing.T) {
	s := secureServer(t, map[string]string{"INTROSPECTION": "true"})
	r := s.do(t, "POST", "/graphql", "application/json", `{"query":"{ __type(name: \"Order\") { name } }"}`, bearer(hs(t, claims("buyer", "buyer-A"))))
	if r.code("") != "FORBIDDEN" {
		t.Fatalf("%s", r.Raw)
	}
	r = s.do(t, "POST", "/graphql", "application/json", `{"query":"{ __type(name: \"Order\") { name } }"}`, bearer(hs(t, claims("merchant", ""))))
	if at(r.Data, "__type.name") != "Order" {
		t.Fatalf("%s", r.Raw)
	}
}

// A document whose fragments spread each other twice over expands to 2^40
// fields; checking it must stay linear for every role.
func TestFragmentBombIsMeasuredNotExpanded(t *testing.T) {
	s := secureServer(t, nil)
	var doc strings.Builder
	doc.WriteString("{ ...F0 }")
	const levels = 40
	for i := range levels {
		fmt.Fprintf(&doc, " fragment F%d on Query { ...F%d ...F%d }", i, i+1, i+1)
	}
	fmt.Fprintf(&doc, ` fragment F%d on Query { order(id: "3001") { id } }`, levels)
	body := fmt.Sprintf(`{"query":%q}`, doc.String())
	for name, h := range map[string]map[string]string{"merchant": bearer(hs(t, claims("merchant", ""))), "buyer": bearer(hs(t, claims("buyer", "buyer-A")))} {
		if r := s.do(t, "POST", "/graphql", "application/json", body, h); r.code("") != "COST_LIMIT_EXCEEDED" {
			t.Errorf("%s: %.300s", name, r.Raw)
		}
	}
	if n := s.Fake.OrderCalls.Load(); n != 0 {
		t.Fatalf("%d upstream calls", n)
	}
}

func TestRateLimitPerClient(t *testing.T) {
	s := secureServer(t, map[string]string{"RATE_LIMIT": "3", "RATE_LIMIT_WINDOW": "1m"})
	a, b := bearer(hs(t, claims("buyer", "buyer-A"))), bearer(hs(t, claims("buyer", "buyer-B", func(c jwt.MapClaims) { c["sub"] = "user-2" })))
	q := `{"query":"{ order(id: \"3001\") { id } }"}`
	for range 3 {
		if r := s.do(t, "POST", "/graphql", "application/json", q, a); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	}
	r := s.do(t, "POST", "/graphql", "application/json", q, a)
	if r.Status != 429 || r.code("") != "RATE_LIMITED" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("4th request: %d %v %s", r.Status, r.Header, r.Raw)
	}
	if r := s.do(t, "POST", "/graphql", "application/json", q, b); r.Status != 200 {
		t.Fatalf("another client was limited too: %d", r.Status)
	}
	// Guessing credentials is limited by IP.
	for range 3 {
		s.do(t, "POST", "/graphql", "application/json", q, bearer("guess"))
	}
	if r := s.do(t, "POST", "/graphql", "application/json", q, bearer("guess")); r.Status != 429 {
		t.Fatalf("credential guessing is not rate limited: %d", r.Status)
	}
}

func TestCORSAllowlist(t *testing.T) {
	s := secureServer(t, map[string]string{"CORS_ORIGINS": "https://dash.shop.example"})
	pre := func(origin string) string {
		r := s.do(t, "OPTIONS", "/graphql", "", "", map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"})
		return r.Header.Get("Access-Control-Allow-Origin")
	}
	if got := pre("https://dash.shop.example"); got != "https://dash.shop.example" {
		t.Errorf("allowed origin: %q", got)
	}
	if got := pre("https://evil.example"); got != "" {
		t.Errorf("other origin allowed: %q", got)
	}
}

func TestPublicKeyJWTs(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for name, k := range map[string]struct {
		method jwt.SigningMethod
		priv   any
		pub    any
	}{"RS256": {jwt.SigningMethodRS256, rsaKey, &rsaKey.PublicKey}, "ES256": {jwt.SigningMethodES256, ecKey, &ecKey.PublicKey}} {
		t.Run(name, func(t *testing.T) {
			der, _ := x509.MarshalPKIXPublicKey(k.pub)
			pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			file := filepath.Join(t.TempDir(), "jwt.pem")
			if err := os.WriteFile(file, pemBytes, 0o600); err != nil {
				t.Fatal(err)
			}
			s := secureServer(t, map[string]string{"AUTH_MODE": "jwt", "JWT_SECRET": "", "JWT_PUBLIC_KEY_FILE": file, "API_KEYS": ""})
			q := `{"query":"{ order(id: \"3002\") { id } }"}`
			if r := s.do(t, "POST", "/graphql", "application/json", q, bearer(sign(t, k.method, k.priv, claims("merchant", "")))); at(r.Data, "order.id") != "3002" {
				t.Fatalf("valid token: %d %s", r.Status, r.Raw)
			}
			// Algorithm confusion: HS256 "signed" with the public key as the secret.
			if r := s.do(t, "POST", "/graphql", "application/json", q, bearer(sign(t, jwt.SigningMethodHS256, pemBytes, claims("merchant", "")))); r.Status != 401 {
				t.Fatalf("HS256 with the public key accepted: %d", r.Status)
			}
		})
	}
}

func TestRealCredentialsNeedAuthOrAnExplicitOptOut(t *testing.T) {
	env := map[string]string{"WECHAT_APP_ID": "wx123", "WECHAT_APP_SECRET": "s3cr3t", "WECHAT_API_BASE_URL": "http://127.0.0.1:1"}
	var out, errOut syncBuf
	if code := runOnce(env, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "AUTH_MODE") {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	env["ALLOW_ANONYMOUS"] = "true"
	_, logs, stop := runApp(t, env)
	stop()
	if !strings.Contains(logs.String(), "anyone who can reach this server reads every order") {
		t.Fatalf("no warning: %s", logs.String())
	}
}
