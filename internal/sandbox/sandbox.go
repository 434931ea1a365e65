// Package sandbox is an in-process stand-in for the WeChat API. It speaks the
// same HTTP protocol as the real upstream, so a server without WeChat
// credentials runs its real client, token and loader code against it.
//
// This file is the part every family shares: the token endpoint and the
// check of the access token on each call. WeChat's rules for lists and
// searches are in rules.go, which package wechattest runs too. Each
// family's fake endpoints live in a file of their own (minishop.go,
// store.go), and the family's value (package family) names them; New
// serves the routes it is given.
package sandbox

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Credentials the sandbox accepts at its token endpoint.
const (
	AppID  = "wxsandbox00000000"
	Secret = "sandbox-secret"
)

// Sandbox is the fake upstream's HTTP handler.
type Sandbox struct {
	// token is the access token calls must carry (a string): the one its
	// token endpoint hands out, or on a platform the one the platform last
	// issued the shop (see setToken).
	token   atomic.Value
	latency time.Duration
	mux     *http.ServeMux

	// mu guards the catalogue and what writes changed, which Advance and
	// the write calls change while handlers read.
	mu        sync.RWMutex
	catalogue catalogue
	advanced  int
	written   map[Shape]*copies
	writes    Writes
	// emit pushes a write's Store event (see Play); nil pushes none.
	emit func(event []byte, now time.Time)
	// addressDelay is how long a buyer takes to agree to an address
	// change; 0: until AgreeAddress.
	addressDelay time.Duration

	inFlight InFlight
	calls    Calls // what quota/get answers from
}

// Routes are one family's fake API calls, on the sandbox they answer from.
type Routes func(*Sandbox) map[string]http.HandlerFunc

// New returns a sandbox that serves the given families' calls and adds
// latency to every one.
func New(latency time.Duration, families ...Routes) *Sandbox {
	return newSandbox(latency, newCatalogue(time.Now(), 0, 1), families)
}

// newSandbox is New with the catalogue cat (a platform's shop has its own).
func newSandbox(latency time.Duration, cat catalogue, families []Routes) *Sandbox {
	s := &Sandbox{
		latency: latency, mux: http.NewServeMux(),
		catalogue: cat, written: map[Shape]*copies{MiniShopShape: newCopies(), StoreShape: newCopies()},
		addressDelay: DefaultAddressDelay,
	}
	s.setToken(newToken("sandbox-"))
	s.mux.HandleFunc("POST /cgi-bin/stable_token", StableToken(AppID, Secret, func(bool) (string, int64, int64) { return s.accessToken(), 7200, 0 }))
	s.mux.Handle("POST "+QuotaPath, s.authorized(s.quotaGet))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	for _, routes := range families {
		for pattern, h := range routes(s) {
			if _, write := writeCalls[strings.TrimPrefix(pattern, "POST ")]; write {
				// A write waits, checks and locks in its own order (serveWrite).
				s.mux.Handle(pattern, h)
				continue
			}
			s.mux.Handle(pattern, s.authorized(h))
		}
	}
	return s
}

// MiniShopRoutes are the WeChat Mini Shop's calls (minishop.go), its
// write calls (written.go) and their lookups (lookups.go).
func MiniShopRoutes(s *Sandbox) map[string]http.HandlerFunc {
	return s.withWrites(MiniShopShape, map[string]http.HandlerFunc{
		"POST /product/order/get":                    s.miniShopOrderGet,
		"POST /product/order/batchgetaftersaleorder": s.miniShopAfterSales,
		"POST /product/order/get_list":               s.miniShopOrderList,
		"POST /product/order/search":                 s.miniShopOrderSearch,
	})
}

// StoreRoutes are the WeChat Store's calls (store.go), its write calls
// (written.go) and their lookups (lookups.go).
func StoreRoutes(s *Sandbox) map[string]http.HandlerFunc {
	return s.withWrites(StoreShape, map[string]http.HandlerFunc{
		"POST /channels/ec/order/get":                   s.storeOrderGet,
		"POST /channels/ec/order/list/get":              s.storeOrderList,
		"POST /channels/ec/order/search":                s.storeOrderSearch,
		"POST /channels/ec/aftersale/getaftersaleorder": s.storeAfterSaleGet,
	})
}

func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		s.calls.Count(r)
	}
	s.mux.ServeHTTP(w, r)
}

// TokenIssuer hands out the token of a stable_token call that passed the
// checks, with its lifetime, or an errcode to answer instead (0 for none).
type TokenIssuer func(forceRefresh bool) (token string, expiresIn, errcode int64)

// StableToken answers POST /cgi-bin/stable_token as WeChat does: 47001 for
// a body that does not parse, 40002 for another grant than
// client_credential, 40013 for another appid, 40125 for a wrong secret;
// otherwise what issue says.
func StableToken(appID, secret string, issue TokenIssuer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			GrantType    string `json:"grant_type"`
			AppID        string `json:"appid"`
			Secret       string `json:"secret"`
			ForceRefresh bool   `json:"force_refresh"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			WriteJSON(w, errcode(47001, "data format error"))
			return
		}
		switch {
		case req.GrantType != "client_credential":
			WriteJSON(w, errcode(40002, "invalid grant_type"))
		case req.AppID != appID:
			WriteJSON(w, errcode(40013, "invalid appid"))
		case req.Secret != secret:
			WriteJSON(w, errcode(40125, "invalid appsecret"))
		default:
			token, expiresIn, code := issue(req.ForceRefresh)
			if code != 0 {
				WriteJSON(w, errcode(code, "token refused"))
				return
			}
			WriteJSON(w, map[string]any{"access_token": token, "expires_in": expiresIn})
		}
	}
}

// CheckToken refuses a call whose access_token valid does not accept, with
// WeChat's 40001, and says whether the call may go on.
func CheckToken(w http.ResponseWriter, r *http.Request, valid func(token string) bool) bool {
	if valid(r.URL.Query().Get("access_token")) {
		return true
	}
	WriteJSON(w, invalidCredential)
	return false
}

// invalidCredential is WeChat's answer to a token it does not take.
var invalidCredential = errcode(40001, "invalid credential, access_token is invalid or not latest")

// Wait waits d before a call answers; false when the caller gave up first.
func Wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	select {
	case <-time.After(d):
		return true
	case <-r.Context().Done():
		return false
	}
}

// authorized adds the latency and refuses calls without the current access
// token, as WeChat does, before a family's handler runs.
func (s *Sandbox) authorized(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Wait(r, s.latency) || !CheckToken(w, r, s.validToken) {
			return
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
		h(w, r)
	})
}

// validToken says token is the one calls must carry; "" (a call without
// one, or a platform's shop before its first token) never is.
func (s *Sandbox) validToken(token string) bool { return token != "" && token == s.accessToken() }

func (s *Sandbox) accessToken() string { return s.token.Load().(string) }

// setToken makes token the one calls must carry from now on, and the
// last one invalid, as a platform's refresh does; "" takes none.
func (s *Sandbox) setToken(token string) { s.token.Store(token) }

// newToken is an unguessable token, after prefix.
func newToken(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func errcode(code int64, msg string) map[string]any {
	return map[string]any{"errcode": code, "errmsg": msg}
}

// WriteJSON answers v as JSON.
func WriteJSON(w http.ResponseWriter, v any) {
	b, _ := marshal(v)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// marshal is v's JSON, with text as WeChat sends it (no HTML escapes).
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return buf.Bytes(), err
}
