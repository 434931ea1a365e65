package wechattest

import (
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ordergraph/ordergraph/internal/sandbox"
)

// The write calls of both families (shared/upstream/order-writes.md) and
// their lookups, answered by WeChat's rules (package sandbox, writes.go)
// over what SetOrder and SetAfterSale scripted, so that the next read shows
// the change. The fake records each call, sees writes to one order overlap
// (a write is in flight from its arrival, through any latency, until it
// answers), and lets a test script faults that strike instead of a write
// or after it applied.

// WriteFault is what a write call does instead of answering by WeChat's
// rules: Fault's errcode, HTTP status or dropped connection, after its
// Delay. With Apply the write applies first, then the fault answers: {Apply:
// true, Drop: true} is a write that landed but whose answer was lost;
// {Drop: true} one that never landed.
type WriteFault struct {
	Fault
	Apply bool
}

// WriteCall is one write call that reached the fake.
type WriteCall struct {
	Path string
	// ID is the id the body names: the order's, or on an after-sale call
	// the after-sale order's; 0 when it names none.
	ID uint64
	// OrderID is the order the call concerns (an after-sale call's is the
	// after-sale order's order); 0 when the fake knows none.
	OrderID uint64
	Body    string
	// Applied says the write changed the order (or, for a Store address
	// change, was asked).
	Applied bool
	// Errcode is the errcode of the answer; 0 too when the answer was no
	// JSON (a dropped connection, an HTTP status: see Fault) or the caller
	// gave up first.
	Errcode int64
	Fault   WriteFault
}

type writeAttempt struct {
	path string
	id   uint64
}

// handleWrites serves every family's write calls and lookups.
func (f *Fake) handleWrites(mux *http.ServeMux) {
	for _, shape := range []sandbox.Shape{sandbox.MiniShopShape, sandbox.StoreShape} {
		for _, path := range sandbox.WritePaths(shape) {
			mux.HandleFunc("POST "+path, f.writeCall)
		}
		for path, lookup := range sandbox.Lookups(shape) {
			mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
				if sandbox.CheckToken(w, r, f.tokenValid) {
					lookup(w, r)
				}
			})
		}
	}
}

// SetWriteFaults makes every write call ask faults what to do, with its
// path, the id its body names (see WriteCall.ID) and its attempt: 1 for
// the first call of that path for that id, 2 for the next, and so on. A
// zero WriteFault answers by the rules.
func (f *Fake) SetWriteFaults(faults func(path string, id uint64, attempt int) WriteFault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writeFaults = faults
}

// SetWriteLatency delays every write call's answer by d, the call in
// flight all the while, so that a test can make writes overlap.
func (f *Fake) SetWriteLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writeLatency = d
}

// SetClock sets the clock of the write rules (update times, parcels'
// times, the Store's one refund a minute).
func (f *Fake) SetClock(now func() time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = now
}

// AgreeAddress is the buyer of a Store order agreeing to its pending
// address change: the order takes the new address. False when none is
// pending, or the order has moved past the states an address may change in.
func (f *Fake) AgreeAddress(orderID uint64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.writes.AgreeAddress(fakeShop{f}, orderID, f.now())
	return ok
}

// WriteCalls returns the write calls so far, in the order they answered.
func (f *Fake) WriteCalls() []WriteCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]WriteCall(nil), f.writeCalls...)
}

// WritesTo returns how many write calls concerned the order id, whatever
// they answered; an after-sale call counts for its order.
func (f *Fake) WritesTo(id uint64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.writeCalls {
		if c.OrderID == id {
			n++
		}
	}
	return n
}

// PeakWritesPerOrder returns the most write calls to one order that were in
// flight at once.
func (f *Fake) PeakWritesPerOrder() int64 { return int64(f.writesInFlight.Peak()) }

// Refused100003 returns how many write calls WeChat's rule refused with
// 100003 because another write to their order was in flight.
func (f *Fake) Refused100003() int64 { return f.refused100003.Load() }

// writeCall answers a write call by the rules, or by its fault. The call
// is recorded before it answers, so that a client that sees the answer (or
// the dropped connection) finds it in WriteCalls.
func (f *Fake) writeCall(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	c, _ := sandbox.ParseWrite(r.URL.Path, body)
	call := WriteCall{Path: c.Path, ID: c.ID, Body: string(body)}
	f.mu.Lock()
	call.OrderID = c.OrderID(fakeShop{f})
	key := writeAttempt{c.Path, c.ID}
	f.writeAttempts[key]++
	attempt, faults, latency := f.writeAttempts[key], f.writeFaults, f.writeLatency
	f.mu.Unlock()
	busy, leave := f.writesInFlight.Enter(call.OrderID)
	defer leave() // a call given up on leaves here; one answered, before it answers
	if faults != nil {
		call.Fault = faults(c.Path, c.ID, attempt)
	}
	fault := call.Fault.Fault
	var answer map[string]any
	apply := func() {
		tokenValid := f.tokenValid(r.URL.Query().Get("access_token"))
		f.mu.Lock()
		result := sandbox.WriteResult{Answer: map[string]any{"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}, Errcode: 40001}
		if tokenValid {
			result = f.writes.Apply(fakeShop{f}, c, f.now(), busy)
		}
		f.mu.Unlock()
		answer, call.Applied, call.Errcode = result.Answer, result.Applied(), result.Errcode
		if busy && result.Errcode == 100003 {
			f.refused100003.Add(1)
		}
	}
	// A fault with Apply writes first and then fails, however it fails:
	// the write has landed even when the caller gives up waiting.
	if call.Fault.Apply {
		apply()
	}
	if !sandbox.Wait(r, latency+fault.Delay) {
		f.record(call)
		return
	}
	fault.Delay = 0
	if fault == (Fault{}) && !call.Fault.Apply {
		apply()
	}
	if fault != (Fault{}) {
		call.Errcode = fault.Errcode
	}
	f.record(call)
	// Answering ends the flight: a client that sees the answer (or the
	// dropped connection) may write again at once.
	leave()
	if !answerFault(w, fault) {
		sandbox.WriteJSON(w, answer)
	}
}

func (f *Fake) record(call WriteCall) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writeCalls = append(f.writeCalls, call)
}

// fakeShop is the scripted orders and after-sale records as the write
// rules read and keep them; the caller holds f.mu. An order scripted as a
// whole response (SetResponse) cannot be written.
type fakeShop struct{ f *Fake }

func (s fakeShop) Order(id uint64) ([]byte, bool) {
	o, ok := s.f.orders[id]
	if !ok || strings.HasPrefix(o, "RAW:") {
		return nil, false
	}
	return []byte(o), true
}

func (s fakeShop) PutOrder(id uint64, orderJSON []byte) { s.f.orders[id] = string(orderJSON) }

func (s fakeShop) AfterSale(id uint64) ([]byte, bool) {
	a, ok := s.f.afterSales[id]
	return []byte(a), ok
}

func (s fakeShop) PutAfterSale(id uint64, recordJSON []byte) { s.f.afterSales[id] = string(recordJSON) }
