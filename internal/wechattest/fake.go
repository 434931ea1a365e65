// Package wechattest is a scriptable fake of the WeChat API for tests: it
// issues tokens, serves canned order JSON, injects errcodes, revokes tokens
// and counts every call, so tests can prove dedupe, single-flight token
// fetches and refresh-and-retry from the outside.
//
// The fake's core (tokens, counting, latency, injected errcodes) is shared
// by every family; a family contributes only its routes: how its order call
// names the id and wraps the order (see New).
package wechattest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Credentials the fake accepts.
const (
	AppID  = "wxfaketestapp0001"
	Secret = "fake-app-secret-5f1c2b9a7e"
)

// Fake is a running fake upstream.
type Fake struct {
	*httptest.Server

	TokenCalls atomic.Int64 // calls to /cgi-bin/stable_token
	ForceCalls atomic.Int64 // of which force_refresh=true
	OrderCalls atomic.Int64 // calls to /product/order/get
	inFlight   atomic.Int64
	PeakOrders atomic.Int64 // most order calls (and Store after-sale calls) in progress at once

	mu         sync.Mutex
	issued     []string // every token handed out, oldest first
	valid      map[string]bool
	sameToken  bool // normal mode hands back the current token even if revoked
	tokenErr   int64
	expiresIn  int64
	latency    time.Duration
	orders     map[uint64]string
	afterSales map[uint64]string
	// afterSaleBatches are the id lists of the batchgetaftersaleorder calls.
	afterSaleBatches [][]uint64
	listRequests     []string
	searchKey        string
	searchWhole      bool
	faults           func(id uint64, attempt int) Fault
	errcodes         map[uint64]int64
	perID            map[uint64]int
}

// New starts a fake upstream, stopped when the test ends.
func New(tb testing.TB) *Fake {
	f := &Fake{valid: map[string]bool{}, orders: map[uint64]string{}, afterSales: map[uint64]string{}, errcodes: map[uint64]int64{}, perID: map[uint64]int{}, expiresIn: 7200}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cgi-bin/stable_token", f.stableToken)
	mux.HandleFunc("POST /product/order/get", f.orderCall(miniShop))
	mux.HandleFunc("POST /product/order/batchgetaftersaleorder", f.afterSaleBatch)
	mux.HandleFunc("POST /product/order/get_list", f.orderList)
	mux.HandleFunc("POST /product/order/search", f.orderList)
	mux.HandleFunc("POST /channels/ec/order/get", f.orderCall(store))
	mux.HandleFunc("POST /channels/ec/aftersale/getaftersaleorder", f.storeAfterSale)
	mux.HandleFunc("POST /channels/ec/order/list/get", f.storeList)
	mux.HandleFunc("POST /channels/ec/order/search", f.storeList)
	f.Server = httptest.NewServer(mux)
	tb.Cleanup(f.Close)
	return f
}

// SetOrder makes id answer with the raw JSON of an order object.
func (f *Fake) SetOrder(id uint64, orderJSON string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.orders[id] = orderJSON
}

// SetAfterSale makes the after-sale order id answer with the raw JSON of an
// after-sale record.
func (f *Fake) SetAfterSale(id uint64, recordJSON string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.afterSales[id] = recordJSON
}

// AfterSaleBatchSizes returns the number of ids of each batch call so far.
func (f *Fake) AfterSaleBatchSizes() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	sizes := make([]int, len(f.afterSaleBatches))
	for i, b := range f.afterSaleBatches {
		sizes[i] = len(b)
	}
	return sizes
}

// afterSaleBatch answers the records it knows, last asked first (the real
// API answers in its own order), and like the vendor's sample without an
// errcode.
func (f *Fake) afterSaleBatch(w http.ResponseWriter, r *http.Request) {
	var req struct {
		IDs []uint64 `json:"after_sale_order_id_list"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.IDs) > 50 {
		writeErr(w, 9401020)
		return
	}
	f.mu.Lock()
	f.afterSaleBatches = append(f.afterSaleBatches, req.IDs)
	valid := f.valid[r.URL.Query().Get("access_token")]
	var records []string
	for i := len(req.IDs) - 1; i >= 0; i-- {
		if rec, ok := f.afterSales[req.IDs[i]]; ok {
			records = append(records, rec)
		}
	}
	f.mu.Unlock()
	if !valid {
		writeErr(w, 40001)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"errmsg":"","after_sale_order_list":[%s]}`, strings.Join(records, ","))
}

// ListRequests returns the bodies of the get_list and search calls so far.
func (f *Fake) ListRequests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.listRequests...)
}

// orderList answers get_list and search from the orders set with SetOrder:
// those whose create_time (or update_time, or for a search the pay time) is
// in the inclusive range, of the status when one is asked, and for a search
// whose JSON holds the title, newest first, a page of them.
func (f *Fake) orderList(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var q map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&q); err != nil {
		writeErr(w, 9401020)
		return
	}
	field := "create_time"
	from, to := str(q["start_create_time"]), str(q["end_create_time"])
	if _, ok := q["start_update_time"]; ok {
		field, from, to = "update_time", str(q["start_update_time"]), str(q["end_update_time"])
	}
	if strings.HasSuffix(r.URL.Path, "/search") {
		field, from, to = "create_time", str(q["start_pay_time"]), str(q["end_pay_time"])
		if to == "" {
			to = "9999"
		}
	}
	title := str(q["title"])
	page, _ := strconv.Atoi(str(q["page"]))
	size, _ := strconv.Atoi(str(q["page_size"]))
	status, hasStatus := q["status"]
	f.mu.Lock()
	f.listRequests = append(f.listRequests, string(body))
	valid := f.valid[r.URL.Query().Get("access_token")]
	type listed struct {
		at   string
		id   uint64
		body string
	}
	var all []listed
	for id, o := range f.orders {
		if strings.HasPrefix(o, "RAW:") {
			continue
		}
		var fields map[string]any
		d := json.NewDecoder(strings.NewReader(o))
		d.UseNumber()
		if d.Decode(&fields) != nil {
			continue
		}
		at := str(fields[field])
		if at < from || at > to || (hasStatus && str(fields["status"]) != str(status)) || !strings.Contains(o, title) {
			continue
		}
		all = append(all, listed{at, id, o})
	}
	f.mu.Unlock()
	if !valid {
		writeErr(w, 40001)
		return
	}
	if page < 1 || size < 1 {
		writeErr(w, 9401020)
		return
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].at != all[j].at {
			return all[i].at > all[j].at
		}
		return all[i].id > all[j].id
	})
	var out []string
	for _, o := range all[min((page-1)*size, len(all)):min(page*size, len(all))] {
		out = append(out, o.body)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"errcode":0,"errmsg":"ok","total_num":%d,"orders":[%s]}`, len(all), strings.Join(out, ","))
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// SetResponse makes id answer with body verbatim (a whole response).
func (f *Fake) SetResponse(id uint64, body string) { f.SetOrder(id, "RAW:"+body) }

// SetErrcode makes id answer with errcode.
func (f *Fake) SetErrcode(id uint64, errcode int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errcodes[id] = errcode
}

// SetTokenErrcode makes the token endpoint fail with errcode (0: succeed).
func (f *Fake) SetTokenErrcode(errcode int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenErr = errcode
}

// SetExpiresIn sets the lifetime of tokens issued from now on.
func (f *Fake) SetExpiresIn(secs int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.expiresIn = secs
}

// SetLatency delays every order call.
func (f *Fake) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency = d
}

// Fault is what an order call does instead of answering normally.
type Fault struct {
	Errcode int64         // answer with this errcode
	Status  int           // answer with this HTTP status and no JSON
	Drop    bool          // close the connection without answering
	Delay   time.Duration // answer this much later
}

// SetFaults makes every order call ask faults what to do, with its id and
// its attempt: 1 for the first call for that id, 2 for the next, and so on.
// A zero Fault answers normally.
func (f *Fake) SetFaults(faults func(id uint64, attempt int) Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = faults
}

// RevokeAll makes every token issued so far invalid (errcode 40001).
// With sticky, normal-mode token calls keep returning the revoked current
// token, as WeChat does until a force refresh.
func (f *Fake) RevokeAll(sticky bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.valid = map[string]bool{}
	f.sameToken = sticky
}

// IssueToken hands out a valid token without a token call, for tests that
// use a static token source.
func (f *Fake) IssueToken() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	tok := fmt.Sprintf("ISSUED_TOKEN_%d", len(f.issued))
	f.issued = append(f.issued, tok)
	f.valid[tok] = true
	return tok
}

// Issued returns every token handed out so far.
func (f *Fake) Issued() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.issued...)
}

// CallsFor returns how many order calls asked for id.
func (f *Fake) CallsFor(id uint64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.perID[id]
}

func (f *Fake) stableToken(w http.ResponseWriter, r *http.Request) {
	f.TokenCalls.Add(1)
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.GrantType != "client_credential" {
		writeErr(w, 40002)
		return
	}
	if req.ForceRefresh {
		f.ForceCalls.Add(1)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.tokenErr != 0:
		writeErr(w, f.tokenErr)
		return
	case req.AppID != AppID:
		writeErr(w, 40013)
		return
	case req.Secret != Secret:
		writeErr(w, 40125)
		return
	}
	var tok string
	if n := len(f.issued); n > 0 && !req.ForceRefresh && (f.valid[f.issued[n-1]] || f.sameToken) {
		tok = f.issued[n-1]
	} else {
		tok = fmt.Sprintf("ACCESS_TOKEN_%d_%d", time.Now().UnixNano(), len(f.issued))
		f.issued = append(f.issued, tok)
		f.valid[tok] = true
		f.sameToken = false
	}
	writeJSON(w, map[string]any{"access_token": tok, "expires_in": f.expiresIn})
}

// family is what a family's order call does its own way: how the request
// names the id, and the errcodes for an unreadable id and a missing order.
type family struct {
	readID          func(*http.Request) (uint64, error)
	badID, notFound int64
}

var (
	miniShop = family{readID: numericOrderID, badID: 9401020, notFound: 100002}
	store    = family{readID: textOrderID, badID: 47001, notFound: 100002}
)

// numericOrderID reads a Mini Shop order call: {"order_id": <number>}.
func numericOrderID(r *http.Request) (uint64, error) {
	var req struct {
		OrderID json.Number `json:"order_id"`
	}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		return 0, err
	}
	return strconv.ParseUint(string(req.OrderID), 10, 64)
}

// textOrderID reads a WeChat Store order call: {"order_id": "<decimal>"}.
// A number is refused, as a wrong JSON type is by the Store (47001).
func textOrderID(r *http.Request) (uint64, error) {
	var req struct {
		OrderID string `json:"order_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		return 0, err
	}
	return strconv.ParseUint(req.OrderID, 10, 64)
}

// enter counts a call of one order (or, on the Store, one after-sale
// order) in flight, for PeakOrders, until the function it returns runs.
func (f *Fake) enter() (leave func()) {
	now := f.inFlight.Add(1)
	for peak := f.PeakOrders.Load(); now > peak && !f.PeakOrders.CompareAndSwap(peak, now); peak = f.PeakOrders.Load() {
	}
	return func() { f.inFlight.Add(-1) }
}

// wait adds the scripted latency; false when the caller gave up first.
func (f *Fake) wait(r *http.Request) bool {
	f.mu.Lock()
	latency := f.latency
	f.mu.Unlock()
	if latency <= 0 {
		return true
	}
	select {
	case <-time.After(latency):
		return true
	case <-r.Context().Done():
		return false
	}
}

// orderCall serves fam's order call with what the test scripted for the id.
func (f *Fake) orderCall(fam family) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.OrderCalls.Add(1)
		defer f.enter()()
		if !f.wait(r) {
			return
		}
		id, err := fam.readID(r)
		if err != nil {
			writeErr(w, fam.badID)
			return
		}
		tok := r.URL.Query().Get("access_token")
		f.mu.Lock()
		f.perID[id]++
		attempt := f.perID[id]
		valid := f.valid[tok]
		errcode, hasErr := f.errcodes[id]
		body, hasOrder := f.orders[id]
		faults := f.faults
		f.mu.Unlock()
		var fault Fault
		if faults != nil {
			fault = faults(id, attempt)
		}
		if fault.Delay > 0 {
			select {
			case <-time.After(fault.Delay):
			case <-r.Context().Done():
				return
			}
		}
		switch {
		case fault.Drop:
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				_ = conn.Close()
			}
		case fault.Status != 0:
			http.Error(w, http.StatusText(fault.Status), fault.Status)
		case fault.Errcode != 0:
			writeErr(w, fault.Errcode)
		case !valid:
			writeErr(w, 40001)
		case hasErr:
			writeErr(w, errcode)
		case !hasOrder:
			writeErr(w, fam.notFound)
		case len(body) > 4 && body[:4] == "RAW:":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(body[4:]))
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprintf(w, `{"errcode":0,"errmsg":"ok","order":%s}`, body)
		}
	}
}

func writeErr(w http.ResponseWriter, errcode int64) {
	writeJSON(w, map[string]any{"errcode": errcode, "errmsg": "fake error " + strconv.FormatInt(errcode, 10) + " rid: 0000-fake"})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
