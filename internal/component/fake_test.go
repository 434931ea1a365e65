package component_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/component"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wechat/flex"
	"github.com/ordergraph/ordergraph/internal/wxpush"
)

// The platform the tests run as.
const (
	componentAppID  = "wxcomponent0001"
	componentSecret = "component-secret-9c2e"
	msgToken        = "platform-msg-token"
	aesKey          = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	shopA           = "wxshop00000000000a"
	tokenLifetime   = 7200 * time.Second
)

// fake is WeChat's side of the third-party platform: the four platform
// endpoints, with WeChat's checks (appsecret, ticket, platform token,
// single-use authorization codes, refresh tokens), and a shop API that
// takes only a shop's current token. A refresh invalidates the token it
// replaces, as WeChat's does. It counts every call.
type fake struct {
	*httptest.Server

	componentTokenCalls, queryAuthCalls, authorizerTokenCalls, listCalls, shopCalls atomic.Int64

	mu               sync.Mutex
	seq              int
	ticket           string                  // the ticket it takes; "" takes none
	componentTokens  map[string]string       // valid platform token → component appid
	codes            map[string]string       // unused authorization code → shop appid
	refresh          map[string]string       // "component/shop" → the shop's refresh token
	current          map[string]string       // "component/shop" → the shop's one valid token
	listed           []string                // more authorizers, listed before the shops
	scripted         map[string][]string     // path → answers to give instead, in turn
	lastRefreshToken string                  // the refresh token of the last api_authorizer_token call
	requests         map[string][]url.Values // path → queries, to check what is sent
}

func newFake(t *testing.T) *fake {
	f := &fake{componentTokens: map[string]string{}, codes: map[string]string{}, refresh: map[string]string{},
		current: map[string]string{}, scripted: map[string][]string{}, requests: map[string][]url.Values{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cgi-bin/component/api_component_token", f.componentToken)
	mux.HandleFunc("POST /cgi-bin/component/api_query_auth", f.queryAuth)
	mux.HandleFunc("POST /cgi-bin/component/api_authorizer_token", f.authorizerToken)
	mux.HandleFunc("POST /cgi-bin/component/api_get_authorizer_list", f.authorizerList)
	mux.HandleFunc("POST /channels/ec/order/get", f.orderGet)
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func (f *fake) setTicket(ticket string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ticket = ticket
}

// authorize is a shop authorizing the platform: it returns the code the
// authorization event carries.
func (f *fake) authorize(shop string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	code := fmt.Sprintf("code-%s-%d", shop, f.seq)
	f.codes[code] = shop
	return code
}

// revoke is a shop revoking the platform: its tokens stop working.
func (f *fake) revoke(comp, shop string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.refresh, comp+"/"+shop)
	delete(f.current, comp+"/"+shop)
}

// grant is a shop that authorized the platform comp without this
// platform's knowing (its store was emptied, its events were missed):
// WeChat lists it with its refresh token.
func (f *fake) grant(comp, shop string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	f.refresh[comp+"/"+shop] = fmt.Sprintf("refresh-%s-%d", shop, f.seq)
}

// killPlatformTokens makes WeChat refuse every platform token issued so far.
func (f *fake) killPlatformTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.componentTokens)
}

// kill makes WeChat refuse a shop's current token from now on, as when it
// expires early.
func (f *fake) kill(comp, shop string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.current[comp+"/"+shop] = "killed"
}

// script makes the next calls of path answer bodies, one each.
func (f *fake) script(path string, bodies ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scripted[path] = append(f.scripted[path], bodies...)
}

func (f *fake) refreshToken(comp, shop string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refresh[comp+"/"+shop]
}

// lastRefresh is the refresh token of the last api_authorizer_token call.
func (f *fake) lastRefresh() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastRefreshToken
}

// currentToken is the one token WeChat takes for shop of comp.
func (f *fake) currentToken(comp, shop string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.current[comp+"/"+shop]
}

// queries are the queries path was called with.
func (f *fake) queries(path string) []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests[path])
}

func (f *fake) calls() [5]int64 {
	return [5]int64{f.componentTokenCalls.Load(), f.queryAuthCalls.Load(), f.authorizerTokenCalls.Load(), f.listCalls.Load(), f.shopCalls.Load()}
}

func write(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func errcode(w http.ResponseWriter, code int) {
	write(w, map[string]any{"errcode": code, "errmsg": "fake errcode " + strconv.Itoa(code)})
}

// begin reads the request, records it and answers a scripted body when
// there is one (then ok is false).
func (f *fake) begin(w http.ResponseWriter, r *http.Request, body any) (ok bool) {
	data, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(data, body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests[r.URL.Path] = append(f.requests[r.URL.Path], r.URL.Query())
	if q := f.scripted[r.URL.Path]; len(q) > 0 {
		f.scripted[r.URL.Path] = q[1:]
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, q[0])
		return false
	}
	return true
}

// platformToken is the component appid of the request's platform token;
// "" when WeChat refuses it.
func (f *fake) platformToken(r *http.Request) string {
	return f.componentTokens[r.URL.Query().Get("component_access_token")]
}

func (f *fake) componentToken(w http.ResponseWriter, r *http.Request) {
	f.componentTokenCalls.Add(1)
	var req map[string]string
	if !f.begin(w, r, &req) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case req["component_appsecret"] != componentSecret:
		errcode(w, 40125)
	case f.ticket == "" || req["component_verify_ticket"] != f.ticket:
		errcode(w, 61006)
	default:
		f.seq++
		tok := fmt.Sprintf("ctok-%d", f.seq)
		f.componentTokens[tok] = req["component_appid"]
		write(w, map[string]any{"component_access_token": tok, "expires_in": int(tokenLifetime.Seconds())})
	}
}

// issue gives a shop a new token, which replaces (invalidates) its last.
func (f *fake) issue(key string) string {
	f.seq++
	tok := fmt.Sprintf("stok-%d", f.seq)
	f.current[key] = tok
	return tok
}

func (f *fake) queryAuth(w http.ResponseWriter, r *http.Request) {
	f.queryAuthCalls.Add(1)
	var req map[string]string
	if !f.begin(w, r, &req) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	comp := f.platformToken(r)
	shop, known := f.codes[req["authorization_code"]]
	switch {
	case comp == "" || comp != req["component_appid"]:
		errcode(w, 40001)
		return
	case !known:
		errcode(w, 61010)
		return
	}
	delete(f.codes, req["authorization_code"])
	key := comp + "/" + shop
	f.seq++
	f.refresh[key] = fmt.Sprintf("refresh-%s-%d", shop, f.seq)
	write(w, map[string]any{"authorization_info": map[string]any{
		"authorizer_appid": shop, "authorizer_access_token": f.issue(key), "expires_in": int(tokenLifetime.Seconds()),
		"authorizer_refresh_token": f.refresh[key], "func_info": []any{},
	}})
}

func (f *fake) authorizerToken(w http.ResponseWriter, r *http.Request) {
	f.authorizerTokenCalls.Add(1)
	var req map[string]string
	if !f.begin(w, r, &req) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastRefreshToken = req["authorizer_refresh_token"]
	comp := f.platformToken(r)
	key := comp + "/" + req["authorizer_appid"]
	switch {
	case comp == "" || comp != req["component_appid"]:
		errcode(w, 40001)
	case f.refresh[key] == "" || f.refresh[key] != req["authorizer_refresh_token"]:
		errcode(w, 61023)
	default:
		write(w, map[string]any{"authorizer_access_token": f.issue(key), "expires_in": int(tokenLifetime.Seconds()), "authorizer_refresh_token": f.refresh[key]})
	}
}

func (f *fake) authorizerList(w http.ResponseWriter, r *http.Request) {
	f.listCalls.Add(1)
	var req struct {
		ComponentAppID string `json:"component_appid"`
		Offset, Count  int
	}
	if !f.begin(w, r, &req) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	comp := f.platformToken(r)
	if comp == "" || comp != req.ComponentAppID {
		errcode(w, 40001)
		return
	}
	type entry struct {
		AppID   string `json:"authorizer_appid"`
		Refresh string `json:"refresh_token"`
		Auth    int64  `json:"auth_time"`
	}
	var all []entry
	for _, shop := range f.listed {
		all = append(all, entry{shop, "refresh-of-" + shop, 1700000000})
	}
	var keys []string
	for key := range f.refresh {
		if strings.HasPrefix(key, comp+"/") {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	for _, key := range keys {
		all = append(all, entry{strings.TrimPrefix(key, comp+"/"), f.refresh[key], 1700000000})
	}
	page := all[min(req.Offset, len(all)):min(req.Offset+min(req.Count, 500), len(all))]
	write(w, map[string]any{"total_count": len(all), "list": page})
}

// orderGet is a shop API: it takes a shop's current token only.
func (f *fake) orderGet(w http.ResponseWriter, r *http.Request) {
	f.shopCalls.Add(1)
	var req map[string]any
	f.begin(w, r, &req)
	f.mu.Lock()
	defer f.mu.Unlock()
	tok := r.URL.Query().Get("access_token")
	for _, current := range f.current {
		if current == tok {
			errcode(w, 0)
			return
		}
	}
	errcode(w, 40001)
}

// logBuffer is a log the platform's goroutines write while the test reads.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// clock is a settable time source, starting at the real time so that
// Redis's expiries stay meaningful.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// newPlatform is a Platform of the component appid comp calling f, on the
// clock c, sharing store (nil: its own memory), logging into log (nil:
// nowhere), its transport's every call included.
func newPlatform(t *testing.T, f *fake, c *clock, store component.Store, comp string, log io.Writer) *component.Platform {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	if log != nil {
		logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p, err := component.New(component.Config{
		ComponentAppID: comp, ComponentSecret: componentSecret, Token: msgToken, AESKey: aesKey,
		Transport: wechat.NewTransport(wechat.TransportConfig{BaseURL: f.URL, Logger: logger}),
		Store:     store, Now: c.Now, Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// post sends p an event as WeChat does, signed and encrypted with the
// platform's keys for comp at the clock's time, and returns the status and
// answer.
func post(t *testing.T, p *component.Platform, c *clock, comp, inner string) (int, string) {
	t.Helper()
	crypter, err := wxpush.NewCrypter(msgToken, aesKey, comp)
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(c.Now().Unix(), 10)
	enc, sig := crypter.Encrypt([]byte(inner), [16]byte{7}, ts, "nonce1")
	return postRaw(p, "timestamp="+ts+"&nonce=nonce1&encrypt_type=aes&msg_signature="+sig,
		"<xml><AppId><![CDATA["+comp+"]]></AppId><Encrypt><![CDATA["+enc+"]]></Encrypt></xml>")
}

func postRaw(p *component.Platform, query, body string) (int, string) {
	w := httptest.NewRecorder()
	p.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/wechat/component/events?"+query, strings.NewReader(body)))
	return w.Code, w.Body.String()
}

func ticketEvent(comp, ticket string, c *clock) string {
	return fmt.Sprintf("<xml><AppId><![CDATA[%s]]></AppId><CreateTime>%d</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[%s]]></ComponentVerifyTicket></xml>",
		comp, c.Now().Unix(), ticket)
}

func authorizedEvent(comp, shop, code string, c *clock) string {
	return fmt.Sprintf("<xml><AppId><![CDATA[%s]]></AppId><CreateTime>%d</CreateTime><InfoType><![CDATA[authorized]]></InfoType><AuthorizerAppid><![CDATA[%s]]></AuthorizerAppid><AuthorizationCode><![CDATA[%s]]></AuthorizationCode><AuthorizationCodeExpiredTime>%d</AuthorizationCodeExpiredTime><PreAuthCode><![CDATA[preauthcode@@@x]]></PreAuthCode></xml>",
		comp, c.Now().Unix(), shop, code, c.Now().Add(time.Hour).Unix())
}

func unauthorizedEvent(comp, shop string, c *clock) string {
	return fmt.Sprintf("<xml><AppId><![CDATA[%s]]></AppId><CreateTime>%d</CreateTime><InfoType><![CDATA[unauthorized]]></InfoType><AuthorizerAppid><![CDATA[%s]]></AuthorizerAppid></xml>",
		comp, c.Now().Unix(), shop)
}

// mustPost posts an event that must be answered "success".
func mustPost(t *testing.T, p *component.Platform, c *clock, comp, inner string) {
	t.Helper()
	if code, body := post(t, p, c, comp, inner); code != http.StatusOK || body != "success" {
		t.Fatalf("event answered %d %q", code, body)
	}
}

// orderGetReply is the shop API's answer, of which only the status counts.
type orderGetReply struct{ wechat.Status }

func (r *orderGetReply) ReadReply(d *flex.Decoder) error {
	*r = orderGetReply{}
	_, err := d.Object(flex.NewFields(wechat.StatusFields...), func(name string) error { return r.ReadMember(d, name) })
	return err
}
