// Package sandbox is an in-process stand-in for the WeChat API. It speaks the
// same HTTP protocol as the real upstream (stable_token and order/get), so a
// server without WeChat credentials runs its real client, token and loader
// code against it. It serves the vendor's example order, deterministic
// generated orders for any other id, and documented ids that show errors and
// upstream quirks (see Specials).
package sandbox

import (
	"bytes"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// VendorExample is the example response of the vendor doc, verbatim but for
// its "..." placeholders. The sandbox serves it at VendorExampleID.
//
//go:embed vendor_example.json
var VendorExample []byte

// VendorExampleID is the order id of VendorExample.
const VendorExampleID = 12123121332

// Credentials the sandbox accepts at its token endpoint.
const (
	AppID  = "wxsandbox00000000"
	Secret = "sandbox-secret"
)

// Special ids and what the sandbox answers for them. Every other id from
// 1000 up is a generated order; ids below 1000 do not exist.
var Specials = []Special{
	{VendorExampleID, "the vendor doc's example order, verbatim"},
	{100002, "errcode 100002: order not found"},
	{48001, "errcode 48001: no permission for the API"},
	{45009, "errcode 45009: daily quota exhausted"},
	{45011, "errcode 45011: per-minute quota exhausted"},
	{30000, "errcode 30000: frequency limit"},
	{9401020, "errcode 9401020: invalid parameter"},
	{1400007, "errcode 1400007: API taken offline"},
	{900001, "express_fee and delivery_product_info sent as single objects, as documented"},
	{900002, "successor-API style: ids, counts, errcode and times as strings; prepay_id and transaction_id as numbers; wall-clock delivery_time"},
	{900003, "unknown status (77) and order type (42), unknown shipping method and insurance type, 0 and \"\" times, no lists, no optional sections"},
	{900004, "malformed JSON"},
	{900005, "HTTP 502 from the upstream"},
}

// Special documents one id with scripted behaviour.
type Special struct {
	ID   uint64
	What string
}

// Sandbox is the fake upstream's HTTP handler.
type Sandbox struct {
	token   string
	latency time.Duration
	mux     *http.ServeMux
}

// New returns a sandbox that adds latency to every order call.
func New(latency time.Duration) *Sandbox {
	var b [16]byte
	_, _ = rand.Read(b[:])
	s := &Sandbox{token: "sandbox-" + hex.EncodeToString(b[:]), latency: latency, mux: http.NewServeMux()}
	s.mux.HandleFunc("POST /cgi-bin/stable_token", s.stableToken)
	s.mux.HandleFunc("POST /product/order/get", s.orderGet)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return s
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

func (s *Sandbox) orderGet(w http.ResponseWriter, r *http.Request) {
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
	var req struct {
		OrderID json.Number `json:"order_id"`
	}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, errcode(9401020, "invalid parameter"))
		return
	}
	id, err := strconv.ParseUint(req.OrderID.String(), 10, 64)
	if err != nil || id == 0 {
		writeJSON(w, errcode(9401020, "invalid parameter"))
		return
	}
	switch id {
	case VendorExampleID:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(VendorExample)
	case 100002, 48001, 45009, 45011, 30000, 9401020, 1400007:
		writeJSON(w, errcode(int64(id), "sandbox: scripted error"))
	case 900001, 900002, 900003:
		writeJSON(w, quirk(id))
	case 900004:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"errcode":0,"order":{"order_id":900004,`))
	case 900005:
		http.Error(w, "bad gateway", http.StatusBadGateway)
	default:
		if id < 1000 {
			writeJSON(w, errcode(100002, "order not exist"))
			return
		}
		writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "order": Generate(id)})
	}
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
