package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"time"
)

// The sandbox's write calls: each family's shape of an order (or after-sale
// order) is written by that family's calls, through WeChat's rules
// (writes.go), into a copy that order/get, the lists and the after-sale
// calls answer from then on. Any order the sandbox serves may be written:
// the catalogue's, the docs' examples, generated ones. A deployment serves
// one family; cmd/sandbox, which serves both, keeps their copies apart.

// Catalogue orders and after-sale orders kept for trying the write calls:
// the player never moves them (or the orders of the after-sale orders) on,
// so they stay as described until written.
const (
	// ShippableOrderID is in status 20 with three SKU lines and no
	// after-sale order: ship it whole or in parcels.
	ShippableOrderID = CatalogueFirstID + 2
	// PartlyShippedOrderID is in status 21: ship the rest, or on the Store
	// change its tracking.
	PartlyShippedOrderID = CatalogueFirstID + 5
	// ShippedOrderID is in status 30: on the Store change its tracking;
	// Mini Shop refuses to ship it again (109001).
	ShippedOrderID = CatalogueFirstID + 13
	// UnpaidOrderID is in status 10: lower its price, or on the Store
	// change its address.
	UnpaidOrderID = CatalogueFirstID + 11
	// AfterSaleOrderID is in status 21 with an after-sale order in
	// progress: Mini Shop refuses to ship it (108009).
	AfterSaleOrderID = CatalogueFirstID + 10
	// RefundAfterSaleID asks for a refund only (MERCHANT_PROCESSING): one
	// accept refunds it, or reject it.
	RefundAfterSaleID = CatalogueAfterSaleFirstID + 20
	// ReturnAfterSaleID asks to return the goods (MERCHANT_PROCESSING):
	// accept it with a return address (DefaultReturnAddressID), then again
	// to refund, or reject it.
	ReturnAfterSaleID = CatalogueAfterSaleFirstID + 30
)

// reserved are the orders the player leaves alone; a platform's other
// shops keep theirs at the same places in their catalogues.
var reserved = map[uint64]bool{
	ShippableOrderID: true, PartlyShippedOrderID: true, ShippedOrderID: true, UnpaidOrderID: true, AfterSaleOrderID: true,
	CatalogueFirstID + (RefundAfterSaleID - CatalogueAfterSaleFirstID): true,
	CatalogueFirstID + (ReturnAfterSaleID - CatalogueAfterSaleFirstID): true,
}

// DefaultAddressDelay is how long the sandbox's buyers take to agree to an
// address change.
const DefaultAddressDelay = 10 * time.Second

// copies are one family's written orders and after-sale orders, as JSON.
type copies struct{ orders, afterSales map[uint64][]byte }

func newCopies() *copies {
	return &copies{orders: map[uint64][]byte{}, afterSales: map[uint64][]byte{}}
}

// withWrites adds shape's write calls and their lookups to routes.
func (s *Sandbox) withWrites(shape Shape, routes map[string]http.HandlerFunc) map[string]http.HandlerFunc {
	for _, path := range WritePaths(shape) {
		routes["POST "+path] = s.serveWrite
	}
	for path, h := range Lookups(shape) {
		routes["POST "+path] = h
	}
	return routes
}

// serveWrite answers a write call. It is in flight (see InFlight) from its
// arrival, through the latency, until it answers; it applies under the
// write lock, and pushes its events after.
func (s *Sandbox) serveWrite(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	c, _ := ParseWrite(r.URL.Path, body)
	shop := shop{s, c.Shape}
	s.mu.RLock()
	orderID := c.OrderID(shop)
	s.mu.RUnlock()
	busy, leave := s.inFlight.Enter(orderID)
	defer leave()
	if !Wait(r, s.latency) || !CheckToken(w, r, s.validToken) {
		return
	}
	s.mu.Lock()
	now := time.Now()
	result := s.writes.Apply(shop, c, now, busy)
	emit := s.emit
	if result.AddressPending && s.addressDelay > 0 {
		time.AfterFunc(s.addressDelay, func() { s.AgreeAddress(c.ID) })
	}
	s.mu.Unlock()
	if emit != nil {
		for _, event := range result.Events {
			emit(event, now)
		}
	}
	WriteJSON(w, result.Answer)
}

// AgreeAddress is the buyer of a WeChat Store order agreeing now to the
// address change asked last: the order takes the address, and its
// ext_info_update event (type 2) is pushed. False when none is pending.
// The sandbox calls it DefaultAddressDelay after each change is asked (see
// SetAddressDelay).
func (s *Sandbox) AgreeAddress(orderID uint64) bool {
	s.mu.Lock()
	now := time.Now()
	event, ok := s.writes.AgreeAddress(shop{s, StoreShape}, orderID, now)
	emit := s.emit
	s.mu.Unlock()
	if ok && emit != nil {
		emit(event, now)
	}
	return ok
}

// SetAddressDelay sets how long buyers take to agree to the address
// changes asked from now on; 0 leaves them pending until AgreeAddress.
func (s *Sandbox) SetAddressDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addressDelay = d
}

// kept says the player must leave order id alone: it is reserved, or a
// write changed it (moving the catalogue's copy on would not move the
// written one, and would clobber it on the next write).
func (s *Sandbox) kept(id uint64) bool {
	_, miniShop := s.written[MiniShopShape].orders[id]
	_, store := s.written[StoreShape].orders[id]
	i, listed := s.catalogue.index(id)
	return listed && reserved[CatalogueFirstID+uint64(i)] || miniShop || store
}

// shop is the sandbox's orders in one family's shape, as the write rules
// read and keep them. The caller holds mu (for PutOrder and PutAfterSale,
// its write lock).
type shop struct {
	s     *Sandbox
	shape Shape
}

func (v shop) Order(id uint64) ([]byte, bool) {
	if o, ok := v.s.written[v.shape].orders[id]; ok {
		return o, true
	}
	o := v.s.unwrittenOrder(v.shape, id)
	return encode(o), o != nil
}

// PutOrder keeps a written order; a catalogue order's list row follows.
func (v shop) PutOrder(id uint64, orderJSON []byte) {
	v.s.written[v.shape].orders[id] = orderJSON
	i, listed := v.s.catalogue.index(id)
	if !listed {
		return
	}
	rows := v.s.catalogue.miniShopRows
	if v.shape == StoreShape {
		rows = v.s.catalogue.storeRows
	}
	rows[i] = parsedRow(orderJSON)
}

func (v shop) AfterSale(id uint64) ([]byte, bool) {
	if a, ok := v.s.written[v.shape].afterSales[id]; ok {
		return a, true
	}
	if id < 1000 || v.s.catalogue.foreign(id) {
		return nil, false
	}
	a := generateAfterSale(id, v.s.catalogue.shop)
	if v.shape == StoreShape {
		a = storeAfterSale(a)
	}
	return encode(a), true
}

func (v shop) PutAfterSale(id uint64, recordJSON []byte) {
	v.s.written[v.shape].afterSales[id] = recordJSON
}

// writtenOrder is the written copy of order id in shape, if any.
func (s *Sandbox) writtenOrder(shape Shape, id uint64) (json.RawMessage, bool) {
	o, ok := s.written[shape].orders[id]
	return o, ok
}

// unwrittenOrder is the order the sandbox serves at id in shape until a
// write changes it: the doc's example, the catalogue's, or a generated
// one; nil for an id that answers no order (or an errcode or a quirk, or
// is another shop's).
func (s *Sandbox) unwrittenOrder(shape Shape, id uint64) map[string]any {
	if s.catalogue.foreign(id) {
		return nil
	}
	if shape == MiniShopShape {
		switch {
		case id == VendorExampleID:
			return exampleOrder(VendorExample)
		case id < 1000 || slices.ContainsFunc(Specials, func(sp Special) bool { return sp.ID == id }):
			return nil
		}
		if o, ok := s.catalogue.byID[id]; ok {
			return o
		}
		return Generate(id)
	}
	switch {
	case id == StoreVendorExampleID:
		return exampleOrder(StoreVendorExample)
	case id < 1000 || id == VendorExampleID || id >= 900000 && id < 1000000:
		return nil
	}
	if o, ok := s.catalogue.storeByID[id]; ok {
		return o
	}
	return storeOrder(Generate(id))
}

// exampleOrder is the order of a doc's example answer.
func exampleOrder(answer []byte) map[string]any {
	a, _ := decodeObject(answer)
	return object(a["order"])
}

// answerOrder answers order/get with orderJSON.
func answerOrder(w http.ResponseWriter, orderJSON json.RawMessage) {
	WriteJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "order": orderJSON})
}
