// Package sandbox is an in-process stand-in for the WeChat API. It speaks the
// same HTTP protocol as the real upstream, so a server without WeChat
// credentials runs its real client, token and loader code against it.
//
// This file is the part every family shares: the token endpoint and the
// check of the access token on each call. Each family's fake endpoints live
// in a file of their own (minishop.go, store.go), and the family's value
// (package family) names them; New serves the routes it is given.
package sandbox

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// Credentials the sandbox accepts at its token endpoint.
const (
	AppID  = "wxsandbox00000000"
	Secret = "sandbox-secret"
)

// Sandbox is the fake upstream's HTTP handler.
type Sandbox struct {
	token   string
	latency time.Duration
	mux     *http.ServeMux

	// mu guards the catalogue, which Advance changes while handlers read.
	mu        sync.RWMutex
	catalogue catalogue
	advanced  int
}

// Routes are one family's fake API calls, on the sandbox they answer from.
type Routes func(*Sandbox) map[string]http.HandlerFunc

// New returns a sandbox that serves the given families' calls and adds
// latency to every one.
func New(latency time.Duration, families ...Routes) *Sandbox {
	var b [16]byte
	_, _ = rand.Read(b[:])
	s := &Sandbox{token: "sandbox-" + hex.EncodeToString(b[:]), latency: latency, mux: http.NewServeMux(), catalogue: newCatalogue(time.Now())}
	s.mux.HandleFunc("POST /cgi-bin/stable_token", s.stableToken)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	for _, routes := range families {
		for pattern, h := range routes(s) {
			s.mux.Handle(pattern, s.authorized(h))
		}
	}
	return s
}

// MiniShopRoutes are the WeChat Mini Shop's calls (minishop.go).
func MiniShopRoutes(s *Sandbox) map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"POST /product/order/get":                    s.miniShopOrderGet,
		"POST /product/order/batchgetaftersaleorder": s.miniShopAfterSales,
		"POST /product/order/get_list":               s.miniShopOrderList,
		"POST /product/order/search":                 s.miniShopOrderSearch,
	}
}

// StoreRoutes are the WeChat Store's calls (store.go).
func StoreRoutes(s *Sandbox) map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"POST /channels/ec/order/get":                   s.storeOrderGet,
		"POST /channels/ec/order/list/get":              s.storeOrderList,
		"POST /channels/ec/order/search":                s.storeOrderSearch,
		"POST /channels/ec/aftersale/getaftersaleorder": s.storeAfterSaleGet,
	}
}

func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Sandbox) stableToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AppID  string `json:"appid"`
		Secret string `json:"secret"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, errcode(47001, "data format error"))
		return
	}
	switch {
	case req.AppID != AppID:
		writeJSON(w, errcode(40013, "invalid appid"))
	case req.Secret != Secret:
		writeJSON(w, errcode(40125, "invalid appsecret"))
	default:
		writeJSON(w, map[string]any{"access_token": s.token, "expires_in": 7200})
	}
}

// authorized adds the latency and refuses calls without the current access
// token, as WeChat does, before a family's handler runs.
func (s *Sandbox) authorized(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.latency > 0 {
			select {
			case <-time.After(s.latency):
			case <-r.Context().Done():
				return
			}
		}
		if r.URL.Query().Get("access_token") != s.token {
			writeJSON(w, errcode(40001, "invalid credential, access_token is invalid or not latest"))
			return
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
		h(w, r)
	})
}

func errcode(code int64, msg string) map[string]any {
	return map[string]any{"errcode": code, "errmsg": msg}
}

func writeJSON(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf.Bytes())
}
