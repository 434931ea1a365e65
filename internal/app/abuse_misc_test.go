package app_test

import (
	"bufio"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ordergraph/ordergraph/internal/app"
	"github.com/ordergraph/ordergraph/internal/redistest"
)

// The attacker's side of issue 17's items 11 to 14: what APQ remembers,
// Redis namespaces, trusted documents, JWTs without a subject. Each test
// counts the upstream calls at the fake where a request could make any.

// startup runs the entry point with env and a context already ended: a
// configuration it refuses exits 2, one it accepts starts and stops at
// once (0).
func startup(env map[string]string) (code int, stderr string) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut syncBuf
	code = app.Run(ctx, []string{"-addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, &out, &errOut)
	return code, errOut.String()
}

func sha256Hex(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }

// apqBody is a POST body registering (query set) or naming (query empty)
// a persisted query by its hash.
func apqBody(query, hash string) string {
	body := map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}}
	if query != "" {
		body["query"] = query
	}
	b, _ := json.Marshal(body)
	return string(b)
}

// Item 11: a client cannot make APQ remember a document the server would
// not run (one that fails to parse, validate or pass the limits) or one
// over 16 KB, neither in this process nor in Redis for the other replicas.
func TestAbuseAPQRemembersOnlyDocumentsThatPass(t *testing.T) {
	redis := redistest.Start(t)
	env := map[string]string{"REDIS_URL": redis.URL(), "MAX_QUERY_COST": "2", "MAX_QUERY_DEPTH": "3", "MAX_ALIASES": "2", "MAX_QUERY_TOKENS": "60"}
	a, b := mustOpenServer(t, env), mustOpenServer(t, env)
	for _, s := range []*server{a, b} {
		s.Fake.SetOrder(1001, `{"order_id":1001}`)
	}
	refused := map[string]string{
		"parse":      `{ order(id: "1001") { id `,
		"validation": `{ order(id: "1001") { nope } }`,
		"cost":       `{ orders(ids: ["1001", "1002", "1003"]) { id } }`,
		"depth":      `{ order(id: "1001") { orderDetail { priceInfo { freight } } } }`,
		"aliases":    `{ a: __typename b: __typename c: __typename }`,
		"tokens":     "{" + strings.Repeat(" __typename", 60) + " }",
	}
	for name, query := range refused {
		r := a.do(t, "POST", "/graphql", "application/json", apqBody(query, sha256Hex(query)), nil)
		if len(r.Errors) == 0 {
			t.Fatalf("%s: the document was not refused: %s", name, r.Raw)
		}
	}
	// Valid and cheap, but 17 KB: it runs, and is not remembered.
	big := "{ __typename" + strings.Repeat(" ", 17<<10) + "}"
	if r := a.do(t, "POST", "/graphql", "application/json", apqBody(big, sha256Hex(big)), nil); at(r.Data, "__typename") != "Query" {
		t.Fatalf("a valid 17 KB document did not run: %.300s", r.Raw)
	}
	refused["17 KB"] = big
	for name, query := range refused {
		for replica, s := range map[string]*server{"the same replica": a, "another replica (Redis)": b} {
			r := s.do(t, "POST", "/graphql", "application/json", apqBody("", sha256Hex(query)), nil)
			if r.code("") != "PERSISTED_QUERY_NOT_FOUND" {
				t.Errorf("%s document: its hash alone on %s answered %s, want PERSISTED_QUERY_NOT_FOUND", name, replica, r.Raw)
			}
		}
	}
	if n := a.Fake.OrderCalls.Load() + b.Fake.OrderCalls.Load(); n != 0 {
		t.Errorf("refused documents made %d upstream calls", n)
	}
	// What passes is remembered, for every replica.
	good := `{ order(id: "1001") { id } }`
	if r := a.do(t, "POST", "/graphql", "application/json", apqBody(good, sha256Hex(good)), nil); at(r.Data, "order.id") != "1001" {
		t.Fatalf("registering a good document: %s", r.Raw)
	}
	if r := b.do(t, "POST", "/graphql", "application/json", apqBody("", sha256Hex(good)), nil); at(r.Data, "order.id") != "1001" {
		t.Fatalf("a good document is not shared: %s", r.Raw)
	}
}

// Item 12: two shops on one Redis with static tokens (no app id) must not
// share keys. Without REDIS_NAMESPACE such a server does not start (exit
// 2); with it, each namespace is its own, and REDIS_NAMESPACE also
// replaces the app id's namespace.
func TestAbuseRedisNamespacesCannotCollide(t *testing.T) {
	redis := redistest.Start(t)
	static := map[string]string{"REDIS_URL": redis.URL(), "WECHAT_APP_ID": "", "WECHAT_APP_SECRET": "", "WECHAT_ACCESS_TOKEN": "STATIC_TOKEN_shop", "ALLOW_ANONYMOUS": "true"}
	if code, stderr := startup(static); code != 2 || !strings.Contains(stderr, "REDIS_NAMESPACE") {
		t.Fatalf("REDIS_URL with a static token and no namespace: exit %d, stderr %q; want 2 naming REDIS_NAMESPACE", code, stderr)
	}
	for _, bad := range []string{"shop:a", "shop a", strings.Repeat("n", 65)} {
		env := map[string]string{"REDIS_NAMESPACE": bad}
		for k, v := range static {
			env[k] = v
		}
		if code, stderr := startup(env); code != 2 || !strings.Contains(stderr, "REDIS_NAMESPACE") {
			t.Errorf("REDIS_NAMESPACE=%q: exit %d, stderr %q; want 2", bad, code, stderr)
		}
	}

	open := func(namespace, appID string) *server {
		env := map[string]string{"REDIS_URL": redis.URL(), "REDIS_NAMESPACE": namespace}
		if appID == "" {
			env["WECHAT_APP_ID"], env["WECHAT_APP_SECRET"], env["WECHAT_ACCESS_TOKEN"] = "", "", "STATIC_TOKEN_"+namespace
		}
		return mustOpenServer(t, env)
	}
	shopA, shopB, shopA2 := open("shop-a", ""), open("shop-b", ""), open("shop-a", "")
	byApp1, byApp2 := open("tenant-1", "app"), open("tenant-2", "app") // one app id, two namespaces
	query := `{ __typename }`
	register := func(s *server) {
		if r := s.do(t, "POST", "/graphql", "application/json", apqBody(query, sha256Hex(query)), nil); at(r.Data, "__typename") != "Query" {
			t.Fatalf("registering: %s", r.Raw)
		}
	}
	known := func(s *server) bool {
		return s.do(t, "POST", "/graphql", "application/json", apqBody("", sha256Hex(query)), nil).code("") != "PERSISTED_QUERY_NOT_FOUND"
	}
	register(shopA)
	register(byApp1)
	if !known(shopA2) {
		t.Error("a replica of the same namespace does not share")
	}
	if known(shopB) {
		t.Error("shop-b reads shop-a's entries: namespaces collide")
	}
	if known(byApp2) {
		t.Error("REDIS_NAMESPACE did not replace the app id's namespace")
	}
	for _, k := range redis.Keys(t) {
		// A single node's keys as they always were; a cluster's hash-tagged.
		if !slices.ContainsFunc([]string{"ordergraph:shop-a:", "ordergraph:tenant-1:", "ordergraph:{shop-a}:", "ordergraph:{tenant-1}:"}, func(p string) bool { return strings.HasPrefix(k, p) }) {
			t.Errorf("key %q is outside the namespaces that wrote", k)
		}
	}
}

// trustedQuery is the one operation the test's buyer app ships.
const trustedQuery = "query Order($id: ID!) { order(id: $id) { id } }"

// manifests writes trustedQuery in both manifest formats: GraphQL Codegen's
// client preset (hash → document, sha1 by default) and Apollo's
// persisted-query manifest (ids are sha256).
func manifests(t *testing.T) (codegen, apollo, codegenID string) {
	t.Helper()
	sum := sha1.Sum([]byte(trustedQuery))
	codegenID = hex.EncodeToString(sum[:])
	dir := t.TempDir()
	write := func(name string, v any) string {
		b, _ := json.Marshal(v)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	codegen = write("persisted-documents.json", map[string]string{codegenID: trustedQuery})
	apollo = write("persisted-query-manifest.json", map[string]any{
		"format": "apollo-persisted-query-manifest", "version": 1,
		"operations": []map[string]string{{"id": sha256Hex(trustedQuery), "name": "Order", "type": "query", "body": trustedQuery}},
	})
	return codegen, apollo, codegenID
}

// payload decodes one GraphQL response that came as an event or message.
func payload(t *testing.T, raw []byte) *gqlResponse {
	t.Helper()
	var v struct {
		Data   map[string]any `json:"data"`
		Errors []gqlError     `json:"errors"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("undecodable payload %q", raw)
	}
	return &gqlResponse{Raw: raw, Data: v.Data, Errors: v.Errors}
}

// sse runs one operation over POST /graphql/stream and returns its first
// payload.
func sse(t *testing.T, s *server, body string, header map[string]string) *gqlResponse {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/graphql/stream", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if data, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
			return payload(t, []byte(data))
		}
	}
	t.Fatalf("the stream ended without a payload: %v", lines.Err())
	return nil
}

// ws runs one operation over a WebSocket authenticated by token and
// returns its first payload.
func ws(t *testing.T, s *server, token string, params map[string]any) *gqlResponse {
	t.Helper()
	c, err := dialWS(t, s, map[string]any{"Authorization": "Bearer " + token})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(params)
	c.send(wsMessage{Type: "subscribe", ID: "1", Payload: body})
	switch m := c.next(5 * time.Second); m.Type {
	case "next":
		return payload(t, m.Payload)
	case "error": // graphql-transport-ws: the errors alone
		return payload(t, []byte(`{"errors":`+string(m.Payload)+`}`))
	default:
		t.Fatalf("unexpected %s: %s", m.Type, m.Payload)
		return nil
	}
}

// Item 13: with TRUSTED_DOCUMENTS, a buyer's token runs the app's
// operations only, by id (documentId, APQ's hash) or identical text, on
// every transport; anything else is refused before parsing, with nothing
// sent upstream. Merchants keep free-form queries unless
// TRUSTED_DOCUMENTS_ONLY is set.
func TestAbuseTrustedDocumentsOnly(t *testing.T) {
	codegen, apollo, codegenID := manifests(t)
	for format, m := range map[string]struct{ path, id string }{"codegen": {codegen, codegenID}, "apollo": {apollo, sha256Hex(trustedQuery)}} {
		t.Run(format, func(t *testing.T) {
			path, id := m.path, m.id
			s := secureServer(t, map[string]string{"TRUSTED_DOCUMENTS": path})
			buyer := hs(t, claims("buyer", "buyer-A"))
			merchant := bearer(hs(t, claims("merchant", "")))
			vars := map[string]any{"id": "3001"}
			post := func(body map[string]any, h map[string]string) *gqlResponse {
				b, _ := json.Marshal(body)
				return s.do(t, "POST", "/graphql", "application/json", string(b), h)
			}
			freeForm := `{ order(id: "3001") { id openid } }`
			apq := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": sha256Hex(trustedQuery)}}

			refusals := map[string]*gqlResponse{
				"POST free-form":           post(map[string]any{"query": freeForm}, bearer(buyer)),
				"POST garbage":             post(map[string]any{"query": "{{{"}, bearer(buyer)),
				"POST whitespace changed":  post(map[string]any{"query": trustedQuery + " ", "variables": vars}, bearer(buyer)),
				"POST unknown documentId":  post(map[string]any{"documentId": "sha256:" + sha256Hex(freeForm)}, bearer(buyer)),
				"POST APQ registration":    post(map[string]any{"query": freeForm, "extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": sha256Hex(freeForm)}}}, bearer(buyer)),
				"GET free-form":            s.do(t, "GET", "/graphql?query="+url.QueryEscape(freeForm), "", "", bearer(buyer)),
				"SSE free-form":            sse(t, s, fmt.Sprintf(`{"query":%q}`, freeForm), bearer(buyer)),
				"WebSocket free-form":      ws(t, s, buyer, map[string]any{"query": freeForm}),
				"documentId with new text": post(map[string]any{"documentId": id, "query": freeForm}, bearer(buyer)),
			}
			for name, r := range refusals {
				if r.code("") != "TRUSTED_DOCUMENT_REQUIRED" || r.Data != nil {
					t.Errorf("%s: %s; want TRUSTED_DOCUMENT_REQUIRED and no data", name, r.Raw)
				}
			}
			if n := s.Fake.OrderCalls.Load(); n != 0 {
				t.Fatalf("refused operations made %d upstream calls", n)
			}

			runs := map[string]*gqlResponse{
				"POST identical text":        post(map[string]any{"query": trustedQuery, "variables": vars}, bearer(buyer)),
				"POST documentId":            post(map[string]any{"documentId": id, "variables": vars}, bearer(buyer)),
				"POST documentId sha256:":    post(map[string]any{"documentId": "sha256:" + sha256Hex(trustedQuery), "variables": vars}, bearer(buyer)),
				"POST APQ hash":              post(map[string]any{"extensions": apq, "variables": vars}, bearer(buyer)),
				"GET documentId":             s.do(t, "GET", "/graphql?documentId="+id+`&variables={"id":"3001"}`, "", "", bearer(buyer)),
				"SSE documentId":             sse(t, s, `{"documentId":"`+id+`","variables":{"id":"3001"}}`, bearer(buyer)),
				"WebSocket APQ hash":         ws(t, s, buyer, map[string]any{"extensions": apq, "variables": vars}),
				"WebSocket identical text":   ws(t, s, buyer, map[string]any{"query": trustedQuery, "variables": vars}),
				"merchant free-form":         post(map[string]any{"query": `{ order(id: "3001") { id } }`}, merchant),
				"merchant documentId":        post(map[string]any{"documentId": id, "variables": vars}, merchant),
				"API key merchant free-form": post(map[string]any{"query": `{ order(id: "3001") { id } }`}, map[string]string{"X-API-Key": opsKey}),
			}
			for name, r := range runs {
				if at(r.Data, "order.id") != "3001" || len(r.Errors) > 0 {
					t.Errorf("%s: %s; want order 3001", name, r.Raw)
				}
			}
			if n := s.Fake.OrderCalls.Load(); n > int64(len(runs)) {
				t.Errorf("%d upstream calls for %d operations", n, len(runs))
			}
		})
	}

	t.Run("TRUSTED_DOCUMENTS_ONLY", func(t *testing.T) {
		s := secureServer(t, map[string]string{"TRUSTED_DOCUMENTS": codegen, "TRUSTED_DOCUMENTS_ONLY": "true"})
		merchant := bearer(hs(t, claims("merchant", "")))
		if r := s.do(t, "POST", "/graphql", "application/json", `{"query":"{ order(id: \"3001\") { id } }"}`, merchant); r.code("") != "TRUSTED_DOCUMENT_REQUIRED" {
			t.Errorf("a merchant's free-form query under TRUSTED_DOCUMENTS_ONLY: %s", r.Raw)
		}
		if r := s.do(t, "POST", "/graphql", "application/json", `{"documentId":"`+codegenID+`","variables":{"id":"3001"}}`, merchant); at(r.Data, "order.id") != "3001" {
			t.Errorf("a merchant's trusted document under TRUSTED_DOCUMENTS_ONLY: %s", r.Raw)
		}
	})

	t.Run("bad manifests stop start-up", func(t *testing.T) {
		dir := t.TempDir()
		for name, content := range map[string]string{
			"not JSON":         `{`,
			"empty":            `{}`,
			"wrong body":       `{"abc": 1}`,
			"not the schema":   `{"abc": "query { nope }"}`,
			"unknown format":   `{"format":"relay","version":1,"operations":[]}`,
			"apollo no body":   `{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":"x","name":"A","type":"query"}]}`,
			"apollo version 2": `{"format":"apollo-persisted-query-manifest","version":2,"operations":[{"id":"x","name":"A","type":"query","body":"{ __typename }"}]}`,
		} {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			_ = os.WriteFile(path, []byte(content), 0o600)
			if code, stderr := startup(map[string]string{"TRUSTED_DOCUMENTS": path}); code != 2 || !strings.Contains(stderr, "TRUSTED_DOCUMENTS") {
				t.Errorf("%s manifest: exit %d, stderr %q; want 2 naming TRUSTED_DOCUMENTS", name, code, stderr)
			}
		}
		if code, stderr := startup(map[string]string{"TRUSTED_DOCUMENTS_ONLY": "true"}); code != 2 || !strings.Contains(stderr, "TRUSTED_DOCUMENTS") {
			t.Errorf("TRUSTED_DOCUMENTS_ONLY without a manifest: exit %d, stderr %q", code, stderr)
		}
	})
}

// Item 14: a JWT without sub names no client, so its requests would share
// the IP's rate limit or none: it is refused, saying which claim is
// missing, over HTTP and in a WebSocket's connection_init.
func TestAbuseJWTWithoutSubject(t *testing.T) {
	s := secureServer(t, nil)
	for _, role := range []string{"merchant", "buyer"} {
		for name, edit := range map[string]func(jwt.MapClaims){
			"no sub":    func(c jwt.MapClaims) { delete(c, "sub") },
			"empty sub": func(c jwt.MapClaims) { c["sub"] = "" },
		} {
			tok := hs(t, claims(role, "buyer-A", edit))
			r := s.do(t, "POST", "/graphql", "application/json", `{"query":"{ order(id: \"3001\") { id } }"}`, bearer(tok))
			if r.Status != http.StatusUnauthorized || r.code("") != "UNAUTHENTICATED" || len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, "sub") {
				t.Errorf("%s %s: %d %s; want 401 UNAUTHENTICATED naming sub", role, name, r.Status, r.Raw)
			}
			if _, err := dialWS(t, s, map[string]any{"Authorization": "Bearer " + tok}); err == nil {
				t.Errorf("%s %s: the WebSocket was accepted", role, name)
			}
		}
	}
	if n := s.Fake.OrderCalls.Load(); n != 0 {
		t.Fatalf("tokens without sub made %d upstream calls", n)
	}
	if r := s.do(t, "POST", "/graphql", "application/json", `{"query":"{ order(id: \"3001\") { id } }"}`, bearer(hs(t, claims("buyer", "buyer-A")))); at(r.Data, "order.id") != "3001" {
		t.Fatalf("a token with sub: %s", r.Raw)
	}
}
