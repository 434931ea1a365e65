// Package wechattest is a scriptable fake of the WeChat API for tests: it
// issues tokens, serves canned order JSON, injects errcodes, revokes tokens
// and counts every call, so tests can prove dedupe, single-flight token
// fetches and refresh-and-retry from the outside.
//
// The fake's core (tokens, counting, latency, injected errcodes) is shared
// by every family; a family contributes only its routes: how its order call
// names the id and wraps the order (see New). WeChat's own rules (the token
// endpoint's checks, the access-token check, what lists and searches
// match and how they page, what the write calls may do and change) are
// package sandbox's, run here over what the test scripts (writes.go).
package wechattest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/sandbox"
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
	QuotaCalls atomic.Int64 // calls to /cgi-bin/openapi/quota/get
	calls      sandbox.Calls

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
	searchAnswer     sandbox.SearchAnswer
	faults           func(id uint64, attempt int) Fault
	errcodes         map[uint64]int64
	perID            map[uint64]int
	quotas           map[string]Quota
	quotaAsked       []string

	// The write calls (writes.go).
	writes         sandbox.Writes
	writesInFlight sandbox.InFlight
	refused100003  atomic.Int64
	writeCalls     []WriteCall
	writeAttempts  map[writeAttempt]int
	writeFaults    func(path string, id uint64, attempt int) WriteFault
	writeLatency   time.Duration
	now            func() time.Time
}

// New starts a fake upstream, stopped when the test ends.
func New(tb testing.TB) *Fake {
	f := &Fake{
		valid: map[string]bool{}, orders: map[uint64]string{}, afterSales: map[uint64]string{}, errcodes: map[uint64]int64{}, perID: map[uint64]int{}, quotas: map[string]Quota{}, expiresIn: 7200,
		writeAttempts: map[writeAttempt]int{}, now: time.Now,
	}
	mux := http.NewServeMux()
	stableToken := sandbox.StableToken(AppID, Secret, f.issue)
	mux.HandleFunc("POST /cgi-bin/stable_token", func(w http.ResponseWriter, r *http.Request) {
		f.TokenCalls.Add(1)
		stableToken(w, r)
	})
	mux.HandleFunc("POST /product/order/get", f.orderCall(miniShop))
	mux.HandleFunc("POST /product/order/batchgetaftersaleorder", f.afterSaleBatch)
	mux.HandleFunc("POST /product/order/get_list", f.listCall(sandbox.MiniShopList))
	mux.HandleFunc("POST /product/order/search", f.listCall(sandbox.MiniShopSearch))
	mux.HandleFunc("POST /channels/ec/order/get", f.orderCall(store))
	mux.HandleFunc("POST /channels/ec/aftersale/getaftersaleorder", f.storeAfterSale)
	mux.HandleFunc("POST /channels/ec/order/list/get", f.listCall(sandbox.StoreList))
	mux.HandleFunc("POST /channels/ec/order/search", f.listCall(f.storeSearch))
	mux.HandleFunc("POST "+sandbox.QuotaPath, f.quotaGet)
	f.handleWrites(mux)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Count(r)
		mux.ServeHTTP(w, r)
	}))
	tb.Cleanup(f.Close)
	return f
}

// SetOrder makes id answer with the raw JSON of an order object. The
// order starts afresh: WeChat's memory of writes to it (changes used up, a
// pending address, the last refund) is forgotten.
func (f *Fake) SetOrder(id uint64, orderJSON string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.orders[id] = orderJSON
	f.writes.Forget(id)
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
	var records []string
	for i := len(req.IDs) - 1; i >= 0; i-- {
		if rec, ok := f.afterSales[req.IDs[i]]; ok {
			records = append(records, rec)
		}
	}
	f.mu.Unlock()
	if !sandbox.CheckToken(w, r, f.tokenValid) {
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

// listCall answers a list or search call by WeChat's rule (package
// sandbox) over the orders set with SetOrder, after recording it.
func (f *Fake) listCall(rule func(request []byte, orders []sandbox.Order) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		f.mu.Lock()
		f.listRequests = append(f.listRequests, string(body))
		var orders []sandbox.Order
		for _, o := range f.orders {
			if strings.HasPrefix(o, "RAW:") {
				continue
			}
			if parsed, err := sandbox.ParseOrder([]byte(o)); err == nil {
				orders = append(orders, parsed)
			}
		}
		f.mu.Unlock()
		if sandbox.CheckToken(w, r, f.tokenValid) {
			sandbox.WriteJSON(w, rule(body, orders))
		}
	}
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

// issue hands out the current token (unless forced to refresh, or it was
// revoked without sticky), or a new one, or the scripted errcode.
func (f *Fake) issue(force bool) (token string, expiresIn, errcode int64) {
	if force {
		f.ForceCalls.Add(1)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tokenErr != 0 {
		return "", 0, f.tokenErr
	}
	if n := len(f.issued); n > 0 && !force && (f.valid[f.issued[n-1]] || f.sameToken) {
		return f.issued[n-1], f.expiresIn, 0
	}
	token = fmt.Sprintf("ACCESS_TOKEN_%d_%d", time.Now().UnixNano(), len(f.issued))
	f.issued = append(f.issued, token)
	f.valid[token] = true
	f.sameToken = false
	return token, f.expiresIn, 0
}

func (f *Fake) tokenValid(token string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.valid[token]
}

// family is what a family's order call does its own way: how the request
// names the id (and the errcode when it does not), and the errcode for a
// missing order.
type family struct {
	readID   func(r *http.Request, member string) (id uint64, errcode int64)
	notFound int64
}

var (
	miniShop = family{readID: sandbox.MiniShopRequestID, notFound: 100002}
	store    = family{readID: sandbox.StoreRequestID, notFound: 100002}
)

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
	return sandbox.Wait(r, latency)
}

// orderCall serves fam's order call with what the test scripted for the id.
func (f *Fake) orderCall(fam family) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.OrderCalls.Add(1)
		defer f.enter()()
		if !f.wait(r) {
			return
		}
		id, bad := fam.readID(r, "order_id")
		if bad != 0 {
			writeErr(w, bad)
			return
		}
		f.mu.Lock()
		f.perID[id]++
		attempt := f.perID[id]
		errcode, hasErr := f.errcodes[id]
		body, hasOrder := f.orders[id]
		faults := f.faults
		f.mu.Unlock()
		var fault Fault
		if faults != nil {
			fault = faults(id, attempt)
		}
		if !sandbox.Wait(r, fault.Delay) || answerFault(w, fault) {
			return
		}
		if !sandbox.CheckToken(w, r, f.tokenValid) {
			return
		}
		switch {
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

// answerFault answers with fault (but for its Delay) instead of normally;
// false for a fault that changes nothing.
func answerFault(w http.ResponseWriter, fault Fault) bool {
	switch {
	case fault.Drop:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
	case fault.Status != 0:
		http.Error(w, http.StatusText(fault.Status), fault.Status)
	case fault.Errcode != 0:
		writeErr(w, fault.Errcode)
	default:
		return false
	}
	return true
}

func writeErr(w http.ResponseWriter, errcode int64) {
	sandbox.WriteJSON(w, map[string]any{"errcode": errcode, "errmsg": "fake error " + strconv.FormatInt(errcode, 10) + " rid: 0000-fake"})
}
