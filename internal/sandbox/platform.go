package sandbox

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ordergraph/ordergraph/internal/wxpush"
)

// The sandbox as a WeChat third-party platform (开放平台 第三方平台,
// shared/upstream/component-platform.md), for a server in provider mode:
// several shops, each a Sandbox with a catalogue of its own, that
// authorize the platform. It answers the platform's four endpoints with
// WeChat's checks, routes every shop call by its access token to the shop
// whose token it is, and pushes what WeChat pushes: the verify ticket every
// 10 minutes, shops authorizing and revoking the platform, and each shop's
// Store events, all signed and encrypted with the platform's keys.

// The sandbox platform's credentials.
const (
	ComponentAppID  = "wxsandboxcomponent"
	ComponentSecret = "sandbox-component-secret"
)

// ComponentEventsPath is the path the platform posts its events to (the
// platform's 授权事件接收URL): serve the server's platform event handler
// there, or hand Start that handler itself.
const ComponentEventsPath = "/wechat/component/events"

// TicketInterval is how often WeChat pushes a new verify ticket.
const TicketInterval = 10 * time.Minute

// WeChat's lifetimes.
const (
	ticketLifetime = 12 * time.Hour
	tokenLifetime  = 7200 * time.Second // platform and shop tokens
	codeLifetime   = time.Hour          // an authorization code
	listPageMax    = 500                // authorizers api_get_authorizer_list answers at most
)

// The platform's endpoints.
const (
	pathComponentToken  = "/cgi-bin/component/api_component_token"
	pathQueryAuth       = "/cgi-bin/component/api_query_auth"
	pathAuthorizerToken = "/cgi-bin/component/api_authorizer_token"
	pathAuthorizerList  = "/cgi-bin/component/api_get_authorizer_list"
)

// ErrNoShop is an appid that is none of the platform's shops.
var ErrNoShop = errors.New("sandbox: no such shop on the platform")

var platformKeys = sync.OnceValues(PushKeys)

// PlatformKeys are the platform's message Token and EncodingAESKey for
// this run: the same on every call, so that the server's platform and
// the sandbox's share them.
func PlatformKeys() (token, encodingAESKey string) { return platformKeys() }

// ShopAppID is the appid of the platform's shop n, from 1.
func ShopAppID(n int) string { return fmt.Sprintf("wxsandboxshop%04d", n) }

// Platform is the fake third-party platform's HTTP handler.
type Platform struct {
	crypter *wxpush.Crypter
	latency time.Duration
	// now is the clock of lifetimes and events; tests set it before Start.
	now    func() time.Time
	appIDs []string
	shops  map[string]*platformShop
	mux    *http.ServeMux

	mu      sync.Mutex
	events  http.Handler             // Start's; nil pushes nothing
	tickets map[string]time.Time     // verify ticket → when it expires
	tokens  map[string]time.Time     // platform token → when it expires
	codes   map[string]authCode      // unused authorization code → its grant
	byToken map[string]*platformShop // a shop's one valid token → the shop
	calls   map[string]int           // platform endpoint → calls
	// What the test hooks (platform_hooks.go) set and count.
	failing   map[string]int // shop appid → the HTTP status its calls answer
	shopCalls map[string]int // shop appid → shop API calls routed to it
	all       int            // every request
	issued    []string       // every ticket, code, token and refresh token
}

// platformShop is one shop and what WeChat knows of its grant, under the
// platform's mu.
type platformShop struct {
	appID   string
	sandbox *Sandbox
	// authorized is false until the shop authorizes the platform and
	// after it revokes it; refresh and authTime are its grant's.
	authorized bool
	refresh    string
	authTime   time.Time
	// token is the shop's one valid token ("" for none), until expires.
	token   string
	expires time.Time
}

type authCode struct {
	shop    *platformShop
	expires time.Time
}

// NewPlatform returns a platform of shops shops (ShopAppID(1)…), each
// serving routes with latency added to every call, and its platform
// endpoints the same latency. Shop 1's catalogue is a sandbox's own;
// shop n's ids are those plus (n-1) × ShopIDStride, its buyers and their
// names its own, and it has none of the other shops' orders. No shop has
// authorized the platform until Start.
func NewPlatform(shops int, latency time.Duration, routes Routes) *Platform {
	return newPlatform(shops, latency, routes, newCatalogue)
}

// newPlatform is NewPlatform with each shop's catalogue from catalogueOf.
func newPlatform(shops int, latency time.Duration, routes Routes, catalogueOf func(start time.Time, shop, shops int) catalogue) *Platform {
	token, aesKey := PlatformKeys()
	crypter, err := wxpush.NewCrypter(token, aesKey, ComponentAppID)
	if err != nil {
		panic(err) // PushKeys makes valid keys
	}
	p := &Platform{
		crypter: crypter, latency: latency, now: time.Now, shops: map[string]*platformShop{}, mux: http.NewServeMux(),
		tickets: map[string]time.Time{}, tokens: map[string]time.Time{}, codes: map[string]authCode{},
		byToken: map[string]*platformShop{}, calls: map[string]int{},
		failing: map[string]int{}, shopCalls: map[string]int{},
	}
	start := time.Now()
	for i := range shops {
		s := newSandbox(latency, catalogueOf(start, i, shops), []Routes{routes})
		s.setToken("") // none until the platform issues one
		appID := ShopAppID(i + 1)
		p.appIDs = append(p.appIDs, appID)
		p.shops[appID] = &platformShop{appID: appID, sandbox: s}
	}
	for path, h := range map[string]http.HandlerFunc{
		pathComponentToken: p.componentToken, pathQueryAuth: platformCall(p, p.queryAuth),
		pathAuthorizerToken: platformCall(p, p.authorizerToken), pathAuthorizerList: platformCall(p, p.authorizerList),
	} {
		p.mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
			p.mu.Lock()
			p.calls[path]++
			p.mu.Unlock()
			if Wait(r, p.latency) {
				h(w, r)
			}
		})
	}
	p.mux.HandleFunc("/", p.shopCall)
	return p
}

// Shops are the shops' appids, in order.
func (p *Platform) Shops() []string { return slices.Clone(p.appIDs) }

// Shop is the shop appID, nil for none.
func (p *Platform) Shop(appID string) *Sandbox {
	if s := p.shops[appID]; s != nil {
		return s.sandbox
	}
	return nil
}

// Calls is how many calls the platform endpoint path (e.g.
// "/cgi-bin/component/api_authorizer_token") has had.
func (p *Platform) Calls(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[path]
}

func (p *Platform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.all++
	p.mu.Unlock()
	p.mux.ServeHTTP(w, r)
}

// Start points the platform's pushes at events, the server's platform
// event handler (served at ComponentEventsPath), and pushes there what
// WeChat pushes to a platform it starts serving: a verify ticket, then for
// every shop an authorization with a fresh code; then a new ticket every
// TicketInterval until stop. Each push is delivered in-process, before
// Start returns; one the server does not answer "success" is not sent
// again (the server recovers a shop from the list of authorizers, and
// the next ticket comes anyway).
func (p *Platform) Start(events http.Handler) (stop func()) {
	p.mu.Lock()
	p.events = events
	p.mu.Unlock()
	_ = p.PushTicket()
	for _, appID := range p.appIDs {
		_ = p.Authorize(appID)
	}
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(TicketInterval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				_ = p.PushTicket()
			}
		}
	}()
	return func() {
		close(done)
		p.mu.Lock()
		p.events = nil
		p.mu.Unlock()
	}
}

// PushTicket issues a new verify ticket, valid 12 hours beside the
// earlier ones, and pushes it, as WeChat does every TicketInterval.
func (p *Platform) PushTicket() error {
	p.mu.Lock()
	now := p.now()
	ticket := newToken("ticket@@@")
	maps.DeleteFunc(p.tickets, func(_ string, expires time.Time) bool { return !now.Before(expires) })
	p.tickets[ticket] = now.Add(ticketLifetime)
	p.issued = append(p.issued, ticket)
	p.mu.Unlock()
	return p.push(platformEvent{InfoType: "component_verify_ticket", Ticket: ticket})
}

// Authorize is the shop appID authorizing the platform (again): its grant
// gets a new refresh token, the token it had stops working, and the
// authorization event carries a new code.
func (p *Platform) Authorize(appID string) error {
	p.mu.Lock()
	s := p.shops[appID]
	if s == nil {
		p.mu.Unlock()
		return ErrNoShop
	}
	now := p.now()
	ev := platformEvent{InfoType: "authorized", Authorizer: appID, Code: newToken("queryauthcode@@@"), CodeExpires: now.Add(codeLifetime).Unix()}
	if s.authorized {
		ev.InfoType = "updateauthorized"
	}
	p.forget(s)
	s.authorized, s.refresh, s.authTime = true, newToken("refreshtoken@@@"), now
	p.codes[ev.Code] = authCode{shop: s, expires: now.Add(codeLifetime)}
	p.issued = append(p.issued, ev.Code, s.refresh)
	p.mu.Unlock()
	return p.push(ev)
}

// Revoke is the shop appID revoking its authorization: WeChat forgets the
// grant (its refresh token answers 61023, its token 40001) and pushes
// unauthorized.
func (p *Platform) Revoke(appID string) error {
	p.mu.Lock()
	s := p.shops[appID]
	if s == nil {
		p.mu.Unlock()
		return ErrNoShop
	}
	p.forget(s)
	p.mu.Unlock()
	return p.push(platformEvent{InfoType: "unauthorized", Authorizer: appID})
}

// forget drops the shop's grant: its refresh token, its unused codes and
// its token. The caller holds mu.
func (p *Platform) forget(s *platformShop) {
	s.authorized, s.refresh = false, ""
	maps.DeleteFunc(p.codes, func(_ string, c authCode) bool { return c.shop == s })
	p.setShopToken(s, "", time.Time{})
}

// issue gives the shop a new token, which replaces (invalidates) its last,
// and returns it. The caller holds mu.
func (p *Platform) issue(s *platformShop, now time.Time) string {
	p.setShopToken(s, newToken("sandbox-shop-"), now.Add(tokenLifetime))
	p.issued = append(p.issued, s.token)
	return s.token
}

func (p *Platform) setShopToken(s *platformShop, token string, expires time.Time) {
	delete(p.byToken, s.token)
	s.token, s.expires = token, expires
	if token != "" {
		p.byToken[token] = s
	}
	s.sandbox.setToken(token)
}

// Console is the sandbox's shop console, which the server mounts in
// sandbox provider mode: POST /sandbox/shops/{appid}/revoke and
// /sandbox/shops/{appid}/authorize (Revoke, Authorize) answer 204, or 404
// for an appid that is none of the shops.
func (p *Platform) Console() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /sandbox/shops/{appid}/revoke", consoleAction(p.Revoke))
	mux.HandleFunc("POST /sandbox/shops/{appid}/authorize", consoleAction(p.Authorize))
	return mux
}

func consoleAction(act func(appID string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch err := act(r.PathValue("appid")); {
		case errors.Is(err, ErrNoShop):
			http.Error(w, "no such sandbox shop", http.StatusNotFound)
		case err != nil: // done on WeChat's side; the server refused the event
			http.Error(w, err.Error(), http.StatusBadGateway)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}
}

// Play plays every shop, as Sandbox.Play does one. With events, each
// shop's Store events go there as WeChat posts a platform's shops'
// messages to its 消息与事件接收URL with $APPID$: to /wechat/events/<shop
// appid>, signed and encrypted with the platform's keys and appid, from
// the shop's original id (gh_…); with nil, none is pushed.
func (p *Platform) Play(interval time.Duration, events http.Handler) (stop func()) {
	var stops []func()
	for _, appID := range p.appIDs {
		var emit func([]byte, time.Time)
		if events != nil {
			emit = storePush{crypter: p.crypter, handler: events, path: "/wechat/events/" + appID, toUser: "gh_" + strings.TrimPrefix(appID, "wx")}.send
		}
		stops = append(stops, p.shops[appID].sandbox.play(interval, emit))
	}
	return func() {
		for _, stop := range stops {
			stop()
		}
	}
}

// platformEvent is an authorization event as WeChat encrypts it.
type platformEvent struct {
	XMLName     xml.Name `xml:"xml"`
	AppID       string   `xml:"AppId"`
	CreateTime  int64    `xml:"CreateTime"`
	InfoType    string   `xml:"InfoType"`
	Ticket      string   `xml:"ComponentVerifyTicket,omitempty"`
	Authorizer  string   `xml:"AuthorizerAppid,omitempty"`
	Code        string   `xml:"AuthorizationCode,omitempty"`
	CodeExpires int64    `xml:"AuthorizationCodeExpiredTime,omitempty"`
}

// push posts ev to Start's handler, as WeChat posts a platform's events:
// XML, signed and encrypted with the platform's keys and appid.
func (p *Platform) push(ev platformEvent) error {
	p.mu.Lock()
	events, now := p.events, p.now()
	p.mu.Unlock()
	if events == nil {
		return nil
	}
	ev.AppID, ev.CreateTime = ComponentAppID, now.Unix()
	message, _ := xml.Marshal(ev)
	q, encrypted := seal(p.crypter, message, now)
	body, _ := xml.Marshal(struct {
		XMLName xml.Name `xml:"xml"`
		AppID   string   `xml:"AppId"`
		Encrypt string   `xml:"Encrypt"`
	}{AppID: ComponentAppID, Encrypt: encrypted})
	return deliver(events, ComponentEventsPath, q, body)
}

// Answers the platform endpoints share.
var (
	componentMalformed = errcode(47001, "data format error")
	tokenExpired       = errcode(42001, "access_token expired")
	wrongComponent     = errcode(40013, "invalid appid")
)

// decodeRequest reads a platform call's body into req; false when it is
// no JSON object, which it answers.
func decodeRequest(w http.ResponseWriter, r *http.Request, req any) bool {
	if err := json.NewDecoder(r.Body).Decode(req); err != nil {
		WriteJSON(w, componentMalformed)
		return false
	}
	return true
}

// api_component_token: the platform's appid, appsecret and an unexpired
// verify ticket give a platform token.
func (p *Platform) componentToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AppID  string `json:"component_appid"`
		Secret string `json:"component_appsecret"`
		Ticket string `json:"component_verify_ticket"`
	}
	if !decodeRequest(w, r, &req) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	expires, known := p.tickets[req.Ticket]
	switch {
	case req.AppID != ComponentAppID:
		WriteJSON(w, wrongComponent)
	case req.Secret != ComponentSecret:
		WriteJSON(w, errcode(40125, "invalid appsecret"))
	case !known:
		WriteJSON(w, errcode(61006, "component ticket is invalid"))
	case !now.Before(expires):
		WriteJSON(w, errcode(61005, "component ticket is expired"))
	default:
		// Tokens expired a lifetime ago are forgotten: WeChat stops
		// telling them from made-up ones too.
		maps.DeleteFunc(p.tokens, func(_ string, expires time.Time) bool { return now.Sub(expires) > tokenLifetime })
		token := newToken("sandbox-component-")
		p.tokens[token] = now.Add(tokenLifetime)
		p.issued = append(p.issued, token)
		WriteJSON(w, map[string]any{"component_access_token": token, "expires_in": int64(tokenLifetime.Seconds())})
	}
}

// componentRefused answers a call whose component_access_token WeChat
// refuses (40001, 42001 when expired), or that names another platform
// (40013), and says so. The caller holds mu.
func (p *Platform) componentRefused(w http.ResponseWriter, r *http.Request, appID string, now time.Time) bool {
	expires, known := p.tokens[r.URL.Query().Get("component_access_token")]
	switch {
	case !known:
		WriteJSON(w, invalidCredential)
	case !now.Before(expires):
		WriteJSON(w, tokenExpired)
	case appID != ComponentAppID:
		WriteJSON(w, wrongComponent)
	default:
		return false
	}
	return true
}

// componentRequest is what every call with a platform token names: the
// platform.
type componentRequest struct {
	AppID string `json:"component_appid"`
}

func (c componentRequest) component() string { return c.AppID }

// platformCall serves a call made with a platform token: it reads the
// body into a T and, under p.mu, refuses the call as WeChat does when its
// platform token or appid is not good, else serves it.
func platformCall[T interface{ component() string }](p *Platform, serve func(w http.ResponseWriter, req T, now time.Time)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req T
		if !decodeRequest(w, r, &req) {
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		now := p.now()
		if p.componentRefused(w, r, req.component(), now) {
			return
		}
		serve(w, req, now)
	}
}

type queryAuthRequest struct {
	componentRequest
	Code string `json:"authorization_code"`
}

// api_query_auth: a shop's authorization code, once, gives its token and
// refresh token.
func (p *Platform) queryAuth(w http.ResponseWriter, req queryAuthRequest, now time.Time) {
	c, known := p.codes[req.Code]
	delete(p.codes, req.Code)
	switch {
	case !known:
		WriteJSON(w, errcode(61009, "code is invalid"))
	case !now.Before(c.expires):
		WriteJSON(w, errcode(61010, "code is expired"))
	default:
		s := c.shop
		WriteJSON(w, map[string]any{"authorization_info": map[string]any{
			"authorizer_appid": s.appID, "authorizer_access_token": p.issue(s, now), "expires_in": int64(tokenLifetime.Seconds()),
			"authorizer_refresh_token": s.refresh,
			// Permission set 131: the Store's orders and after-sales.
			"func_info": []map[string]any{{"funcscope_category": map[string]any{"id": 131}}},
		}})
	}
}

type authorizerTokenRequest struct {
	componentRequest
	Authorizer string `json:"authorizer_appid"`
	Refresh    string `json:"authorizer_refresh_token"`
}

// api_authorizer_token: a shop's refresh token gives it a new token, and
// the one it had stops working.
func (p *Platform) authorizerToken(w http.ResponseWriter, req authorizerTokenRequest, now time.Time) {
	s := p.shops[req.Authorizer]
	if s == nil || !s.authorized || req.Refresh != s.refresh {
		WriteJSON(w, errcode(61023, "refresh_token is invalid"))
		return
	}
	WriteJSON(w, map[string]any{"authorizer_access_token": p.issue(s, now), "expires_in": int64(tokenLifetime.Seconds()), "authorizer_refresh_token": s.refresh})
}

type authorizerListRequest struct {
	componentRequest
	Offset, Count int
}

// api_get_authorizer_list: the shops that authorize the platform, with
// their refresh tokens, count (at most 500) from offset.
func (p *Platform) authorizerList(w http.ResponseWriter, req authorizerListRequest, _ time.Time) {
	if req.Offset < 0 || req.Count < 1 || req.Count > listPageMax {
		WriteJSON(w, errcode(40097, "invalid args: offset or count"))
		return
	}
	all := []map[string]any{}
	for _, appID := range p.appIDs {
		if s := p.shops[appID]; s.authorized {
			all = append(all, map[string]any{"authorizer_appid": appID, "refresh_token": s.refresh, "auth_time": s.authTime.Unix()})
		}
	}
	from := min(req.Offset, len(all))
	WriteJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "total_count": len(all), "list": all[from:min(from+req.Count, len(all))]})
}

// shopCall routes a shop call to the shop whose token it carries, which
// serves it as a sandbox of its own; WeChat refuses any other token.
func (p *Platform) shopCall(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	s := p.byToken[r.URL.Query().Get("access_token")]
	expired := s != nil && !p.now().Before(s.expires)
	failing := 0
	if s != nil {
		p.shopCalls[s.appID]++
		failing = p.failing[s.appID]
	}
	p.mu.Unlock()
	if !CheckToken(w, r, func(string) bool { return s != nil }) {
		return
	}
	if failing != 0 {
		http.Error(w, "sandbox: the shop's calls fail (FailShop)", failing)
		return
	}
	if expired {
		WriteJSON(w, tokenExpired)
		return
	}
	s.sandbox.ServeHTTP(w, r)
}
