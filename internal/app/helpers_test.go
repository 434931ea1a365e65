package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/app"
	"github.com/ordergraph/ordergraph/internal/config"
	"github.com/ordergraph/ordergraph/internal/wechattest"
)

// server is the real handler, built from configuration as in production,
// pointed at a fake upstream. Every response body and log line it produced
// is checked for secrets when the test ends.
type server struct {
	*httptest.Server
	Fake *wechattest.Fake
	App  *app.Server

	mu     sync.Mutex
	logs   bytes.Buffer
	bodies [][]byte
	// secrets, besides the fake's, that must never be seen
	secrets []string
}

func (s *server) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.Write(p)
}

// mustOpenServer starts a server against a fresh fake upstream; env
// overrides the test defaults, and tweaks set what no variable does (such
// as the clocks).
func mustOpenServer(tb testing.TB, env map[string]string, tweaks ...func(*config.Config)) *server {
	tb.Helper()
	s := &server{Fake: wechattest.New(tb)}
	vars := map[string]string{
		"WECHAT_APP_ID": wechattest.AppID, "WECHAT_APP_SECRET": wechattest.Secret,
		"WECHAT_API_BASE_URL": s.Fake.URL, "LOG_LEVEL": "debug",
		// Most tests are about orders, not access control: security_test.go
		// covers the production defaults these switch off.
		"ALLOW_ANONYMOUS": "true", "RATE_LIMIT": "0", "PLAYGROUND": "true",
		// The Mini Shop poller would add list calls to every test's count.
		"ORDER_POLL_INTERVAL": "0s",
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.Load(nil, func(k string) string { return vars[k] }, io.Discard)
	if err != nil {
		tb.Fatal(err)
	}
	for _, tweak := range tweaks {
		tweak(&cfg)
	}
	s.start(tb, cfg, wechattest.Secret, vars["WECHAT_ACCESS_TOKEN"], vars["JWT_SECRET"], vars["CURSOR_SECRET"], vars["WECHAT_PUSH_TOKEN"], vars["WECHAT_PUSH_AES_KEY"])
	return s
}

// start serves cfg's server, and checks when the test ends that none of
// secrets was seen in a response or a log line.
func (s *server) start(tb testing.TB, cfg config.Config, secrets ...string) {
	tb.Helper()
	log := slog.New(slog.NewJSONHandler(s, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, stop, err := app.Build(cfg, log)
	if err != nil {
		tb.Fatal(err)
	}
	s.App = h
	s.Server = httptest.NewServer(h)
	tb.Cleanup(func() {
		s.Close()
		stop()
		if s.Fake != nil {
			secrets = append(secrets, s.Fake.Issued()...) // tokens issued since
		}
		s.assertNoSecrets(tb, secrets...)
	})
}

// logText is everything the server logged so far.
func (s *server) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

func (s *server) assertNoSecrets(tb testing.TB, configured ...string) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var secrets []string
	for _, c := range append(configured, s.secrets...) {
		if c != "" {
			secrets = append(secrets, c)
		}
	}
	haystacks := append([][]byte{s.logs.Bytes()}, s.bodies...)
	if len(secrets) > manySecrets {
		secrets = s.assertNoTokens(tb, haystacks, secrets)
	}
	for _, h := range haystacks {
		for _, secret := range secrets {
			if bytes.Contains(h, []byte(secret)) {
				tb.Errorf("secret %.12s… leaked in: %.300s", secret, h)
			}
		}
	}
}

// gqlResponse is a GraphQL response with numbers kept as written.
type gqlResponse struct {
	Status int
	Header http.Header
	Raw    []byte
	Data   map[string]any
	Errors []gqlError
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// code returns the extensions.code of the error at path (as "a.1.b").
func (r *gqlResponse) code(path string) string {
	for _, e := range r.Errors {
		if pathString(e.Path) == path {
			c, _ := e.Extensions["code"].(string)
			return c
		}
	}
	return ""
}

func (r *gqlResponse) errorAt(path string) *gqlError {
	for i, e := range r.Errors {
		if pathString(e.Path) == path {
			return &r.Errors[i]
		}
	}
	return nil
}

func pathString(p []any) string {
	parts := make([]string, len(p))
	for i, v := range p {
		switch v := v.(type) {
		case string:
			parts[i] = v
		case json.Number:
			parts[i] = v.String()
		}
	}
	return strings.Join(parts, ".")
}

// post sends a GraphQL request as JSON and decodes the answer.
func (s *server) post(tb testing.TB, query string, vars map[string]any) *gqlResponse {
	tb.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return s.do(tb, "POST", "/graphql", "application/json", string(body), nil)
}

func (s *server) do(tb testing.TB, method, path, contentType, body string, header map[string]string) *gqlResponse {
	tb.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, raw)
	s.mu.Unlock()
	out := &gqlResponse{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if strings.Contains(resp.Header.Get("Content-Type"), "json") {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v struct {
			Data   map[string]any `json:"data"`
			Errors []gqlError     `json:"errors"`
		}
		if err := dec.Decode(&v); err != nil {
			tb.Fatalf("undecodable response %q: %v", raw, err)
		}
		out.Data, out.Errors = v.Data, v.Errors
	}
	return out
}

// at walks data along a dotted path such as "orders.1.id".
func at(v any, path string) any {
	for _, p := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			var i int
			if err := json.Unmarshal([]byte(p), &i); err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// clock is a test clock that moves only when told to.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func jsonNumber(n int64) json.Number { return json.Number(fmt.Sprint(n)) }

// manySecrets is where assertNoSecrets stops searching for each secret in
// turn (a platform of a thousand shops issues thousands of tokens).
const manySecrets = 64

// tokenByte is what a token may be made of: the secrets the servers and
// fakes issue (hex, base64url, JWTs, "prefix@@@…" tokens).
func tokenByte(c rune) bool {
	return c < 128 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.@", c))
}

// assertNoTokens looks every token-shaped run of the haystacks up among
// secrets, those made of token bytes alone: a secret is found wherever it
// stands on its own (in a URL's query, a JSON string, after "Bearer "),
// not glued to other token bytes. It returns the secrets it could not
// check that way, for a search.
func (s *server) assertNoTokens(tb testing.TB, haystacks [][]byte, secrets []string) (rest []string) {
	tb.Helper()
	set := map[string]bool{}
	for _, secret := range secrets {
		if strings.IndexFunc(secret, func(c rune) bool { return !tokenByte(c) }) >= 0 {
			rest = append(rest, secret)
			continue
		}
		set[secret] = true
	}
	for _, h := range haystacks {
		for _, tok := range bytes.FieldsFunc(h, func(c rune) bool { return !tokenByte(c) }) {
			if set[string(tok)] || set[strings.Trim(string(tok), ".")] { // a token ending a sentence
				tb.Errorf("secret %.12s… leaked in: %.300s", tok, h)
			}
		}
	}
	return rest
}
