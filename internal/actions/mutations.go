package actions

import (
	"context"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
)

// The contract's mutations: each checks its input, then runs a plan. Input
// refusals are answered before the key is claimed: they call nothing, and
// the same input is refused the same way again.

func orderPayload(r result[*order.Order], err error) (*OrderActionPayload, error) {
	if err != nil {
		return nil, err
	}
	return &OrderActionPayload{Order: r.Target, Pending: r.Pending, Replayed: r.Replayed, UserErrors: nonNil(r.UserErrors)}, nil
}

func afterSalePayload(r result[*order.AfterSaleOrder], err error) (*AftersaleActionPayload, error) {
	if err != nil {
		return nil, err
	}
	return &AftersaleActionPayload{AftersaleOrder: r.Target, Replayed: r.Replayed, UserErrors: nonNil(r.UserErrors)}, nil
}

func nonNil(u []UserError) []UserError {
	if u == nil {
		return []UserError{}
	}
	return u
}

// refused answers refusals found before any call, with their audit line.
func (s *Service) refused(ctx context.Context, mutation, key string, orderID, target uint64, refusals []*order.Refusal) []UserError {
	s.audit(ctx, mutation, key, orderID, target, string(refusals[0].Code), 0, 0)
	return userErrors(refusals)
}

// precheck adds the family's refusal of a, before any call, to refusals.
func (s *Service) precheck(refusals []*order.Refusal, a order.Action) []*order.Refusal {
	if len(refusals) > 0 || s.writer == nil {
		return refusals
	}
	if r := s.writer.Precheck(a); r != nil {
		return append(refusals, r)
	}
	return nil
}

// orderPlan is the part of every order action's plan that reads the order.
func (s *Service) orderPlan(mutation, key string, id uint64, input any) plan[*order.Order] {
	return plan[*order.Order]{mutation: mutation, key: key, input: input, orderID: id, target: id, read: s.orders.Order}
}

// ShipOrder ships an order, whole or in parcels. The order is read first:
// the items are checked against it, and a whole parcel lists what is left.
func (s *Service) ShipOrder(ctx context.Context, in ShipOrderInput) (*OrderActionPayload, error) {
	ship, refusals := in.check()
	if refusals = s.precheck(refusals, order.Action{Kind: order.ActShip, Shipment: &ship}); len(refusals) > 0 {
		return &OrderActionPayload{UserErrors: s.refused(ctx, "shipOrder", in.IdempotencyKey, ship.OrderID, ship.OrderID, refusals)}, nil
	}
	p := s.orderPlan("shipOrder", in.IdempotencyKey, ship.OrderID, ship)
	send := ship
	p.prepare = func(o *order.Order) []*order.Refusal {
		shipment := ship
		if ship.Virtual {
			// Virtual goods ship whatever is left, which the family may
			// have to name (the Store's entry lists its products).
			shipment.Parcels = []order.Parcel{{Whole: true}}
		}
		var r []*order.Refusal
		send, r = checkItems(shipment, o, false)
		return r
	}
	p.write = func(ctx context.Context) error { return s.writer.Ship(ctx, send) }
	p.check = func(before, after *order.Order) verdict {
		if before == nil {
			return cannotTell
		}
		if ship.Virtual {
			return verdictOf(after.Status != before.Status)
		}
		// Every parcel's waybill appears once more than before: a parcel
		// under a waybill the order has already (another box of one
		// shipment) is told apart by the count.
		for _, parcel := range ship.Parcels {
			if parcelsOf(after, parcel) <= parcelsOf(before, parcel) {
				return notApplied
			}
		}
		return applied
	}
	return orderPayload(run(ctx, s, p))
}

// UpdateShipment replaces a shipped order's parcels.
func (s *Service) UpdateShipment(ctx context.Context, in UpdateShipmentInput) (*OrderActionPayload, error) {
	ship, refusals := in.check()
	if refusals = s.precheck(refusals, order.Action{Kind: order.ActUpdateShipment, Shipment: &ship}); len(refusals) > 0 {
		return &OrderActionPayload{UserErrors: s.refused(ctx, "updateShipment", in.IdempotencyKey, ship.OrderID, ship.OrderID, refusals)}, nil
	}
	p := s.orderPlan("updateShipment", in.IdempotencyKey, ship.OrderID, ship)
	send := ship
	p.prepare = func(o *order.Order) []*order.Refusal {
		var r []*order.Refusal
		send, r = checkItems(ship, o, true)
		return r
	}
	p.write = func(ctx context.Context) error { return s.writer.UpdateShipment(ctx, send) }
	p.check = func(_, after *order.Order) verdict { return verdictOf(sameParcels(after, ship.Parcels)) }
	return orderPayload(run(ctx, s, p))
}

// SetMerchantNotes replaces the merchant's notes; no read is needed before.
func (s *Service) SetMerchantNotes(ctx context.Context, in SetMerchantNotesInput) (*OrderActionPayload, error) {
	id, refusals := in.check()
	if len(refusals) > 0 {
		return &OrderActionPayload{UserErrors: s.refused(ctx, "setMerchantNotes", in.IdempotencyKey, id, id, refusals)}, nil
	}
	p := s.orderPlan("setMerchantNotes", in.IdempotencyKey, id, struct {
		ID    uint64
		Notes string
	}{id, in.Notes})
	p.write = func(ctx context.Context) error { return s.writer.SetMerchantNotes(ctx, id, in.Notes) }
	p.check = func(_, after *order.Order) verdict { return verdictOf(merchantNotes(after) == in.Notes) }
	return orderPayload(run(ctx, s, p))
}

// ChangeOrderPrice lowers an unpaid order's line totals and/or freight.
func (s *Service) ChangeOrderPrice(ctx context.Context, in ChangeOrderPriceInput) (*OrderActionPayload, error) {
	change, refusals := in.check()
	if len(refusals) > 0 {
		return &OrderActionPayload{UserErrors: s.refused(ctx, "changeOrderPrice", in.IdempotencyKey, change.OrderID, change.OrderID, refusals)}, nil
	}
	p := s.orderPlan("changeOrderPrice", in.IdempotencyKey, change.OrderID, change)
	p.prepare = func(o *order.Order) []*order.Refusal { return checkPrices(change, o) }
	p.write = func(ctx context.Context) error { return s.writer.ChangePrice(ctx, change) }
	// The read-back shows the lines' new totals where the family sends
	// line totals (the Store's real_price), and every accepted change
	// lowers the order's price or freight, which any family shows.
	p.check = func(before, after *order.Order) verdict {
		if hasPrices(after, change) {
			return applied
		}
		if before == nil {
			return cannotTell
		}
		return verdictOf(orderPrice(after) != orderPrice(before) || freight(after) != freight(before))
	}
	return orderPayload(run(ctx, s, p))
}

// ChangeOrderAddress asks the buyer to agree to a new address (the WeChat
// Store): WeChat's success means "asked", so the payload is pending. A
// read-back can tell only when the buyer has agreed already.
func (s *Service) ChangeOrderAddress(ctx context.Context, in ChangeOrderAddressInput) (*OrderActionPayload, error) {
	id, address, refusals := in.check()
	if refusals = s.precheck(refusals, order.Action{Kind: order.ActChangeAddress}); len(refusals) > 0 {
		return &OrderActionPayload{UserErrors: s.refused(ctx, "changeOrderAddress", in.IdempotencyKey, id, id, refusals)}, nil
	}
	p := s.orderPlan("changeOrderAddress", in.IdempotencyKey, id, struct {
		ID      uint64
		Address order.Address
	}{id, address})
	p.pending = true
	p.write = func(ctx context.Context) error { return s.writer.ChangeAddress(ctx, id, address) }
	p.check = func(_, after *order.Order) verdict {
		if sameAddress(after, address) {
			return applied
		}
		return cannotTell
	}
	return orderPayload(run(ctx, s, p))
}

// afterSalePlan reads the after-sale order, and locks its order.
func (s *Service) afterSalePlan(mutation, key string, id uint64, input any) plan[*order.AfterSaleOrder] {
	p := plan[*order.AfterSaleOrder]{mutation: mutation, key: key, input: input, target: id, read: s.afterSale}
	p.resolve = func(ctx context.Context) (uint64, error) {
		a, err := s.afterSale(ctx, id)
		if err != nil {
			return 0, err
		}
		return a.OrderID, nil
	}
	// The read before is the baseline: a decision moves the status.
	p.prepare = func(*order.AfterSaleOrder) []*order.Refusal { return nil }
	// A decision moves the status; a buyer's cancellation moves it too,
	// and is no sign of the decision.
	p.check = func(before, after *order.AfterSaleOrder) verdict {
		if before == nil {
			return cannotTell
		}
		return verdictOf(after.Status != before.Status && !cancelledByBuyer[after.Status])
	}
	return p
}

func (s *Service) afterSale(ctx context.Context, id uint64) (*order.AfterSaleOrder, error) {
	found, err := s.afterSales.AfterSaleOrders(ctx, []uint64{id})
	if err != nil {
		return nil, err
	}
	if a := found[id]; a != nil {
		return a, nil
	}
	return nil, order.Errorf(codes.AfterSaleNotFound, "after-sale order not found", nil)
}

// AcceptAftersale accepts a buyer's after-sale request.
func (s *Service) AcceptAftersale(ctx context.Context, in AcceptAftersaleInput) (*AftersaleActionPayload, error) {
	accept, refusals := in.check()
	if len(refusals) > 0 {
		return &AftersaleActionPayload{UserErrors: s.refused(ctx, "acceptAftersale", in.IdempotencyKey, 0, accept.AfterSaleID, refusals)}, nil
	}
	p := s.afterSalePlan("acceptAftersale", in.IdempotencyKey, accept.AfterSaleID, accept)
	p.write = func(ctx context.Context) error { return s.writer.AcceptAfterSale(ctx, accept) }
	return afterSalePayload(run(ctx, s, p))
}

// RejectAftersale rejects a buyer's after-sale request.
func (s *Service) RejectAftersale(ctx context.Context, in RejectAftersaleInput) (*AftersaleActionPayload, error) {
	reject, refusals := in.check()
	if refusals = s.precheck(refusals, order.Action{Kind: order.ActRejectAfterSale, Reject: &reject}); len(refusals) > 0 {
		return &AftersaleActionPayload{UserErrors: s.refused(ctx, "rejectAftersale", in.IdempotencyKey, 0, reject.AfterSaleID, refusals)}, nil
	}
	p := s.afterSalePlan("rejectAftersale", in.IdempotencyKey, reject.AfterSaleID, reject)
	p.write = func(ctx context.Context) error { return s.writer.RejectAfterSale(ctx, reject) }
	return afterSalePayload(run(ctx, s, p))
}

// DeliveryCompanies, AftersaleRejectReasons and ReturnAddresses are the
// lookups actions need; [] where the family has none.
func (s *Service) DeliveryCompanies(ctx context.Context) ([]order.DeliveryCompany, error) {
	if s.writer == nil {
		return []order.DeliveryCompany{}, nil
	}
	list, err := s.writer.DeliveryCompanies(ctx)
	return nonNilList(list), err
}

func (s *Service) AftersaleRejectReasons(ctx context.Context) ([]order.AftersaleRejectReason, error) {
	if s.writer == nil {
		return []order.AftersaleRejectReason{}, nil
	}
	list, err := s.writer.AftersaleRejectReasons(ctx)
	return nonNilList(list), err
}

func (s *Service) ReturnAddresses(ctx context.Context) ([]order.ReturnAddress, error) {
	if s.writer == nil {
		return []order.ReturnAddress{}, nil
	}
	list, err := s.writer.ReturnAddresses(ctx)
	return nonNilList(list), err
}

func nonNilList[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}

func verdictOf(ok bool) verdict {
	if ok {
		return applied
	}
	return notApplied
}

// parcelsOf counts o's parcels under p's carrier and waybill.
func parcelsOf(o *order.Order, p order.Parcel) int {
	n := 0
	for _, got := range deliveries(o) {
		if deref(got.WaybillID) == p.WaybillID && deref(got.DeliveryID) == p.DeliveryID {
			n++
		}
	}
	return n
}

// sameParcels reports whether o's parcels are exactly parcels: carriers,
// waybills and, where the client named them, items.
func sameParcels(o *order.Order, parcels []order.Parcel) bool {
	got := deliveries(o)
	if len(got) != len(parcels) {
		return false
	}
	used := make([]bool, len(got))
	for _, p := range parcels {
		found := false
		for i, g := range got {
			if !used[i] && deref(g.DeliveryID) == p.DeliveryID && deref(g.WaybillID) == p.WaybillID && (p.Whole || sameItems(g.ProductInfos, p.Items)) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func sameItems(got []order.FreightProductInfo, want []order.ParcelItem) bool {
	count := map[[2]uint64]int64{}
	for _, it := range got {
		count[[2]uint64{it.ProductID, it.SkuID}] += it.ProductCnt
	}
	for _, it := range want {
		count[[2]uint64{it.ProductID, it.SkuID}] -= it.Count
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return true
}

func deliveries(o *order.Order) []order.DeliveryProductInfo {
	if o == nil || o.OrderDetail == nil || o.OrderDetail.DeliveryInfo == nil {
		return nil
	}
	return o.OrderDetail.DeliveryInfo.DeliveryProductInfo
}

// hasPrices reports whether o shows every line of c at its new total (where
// the family sends line totals) and the new freight.
func hasPrices(o *order.Order, c order.PriceChange) bool {
	if c.Freight != nil && freight(o) != *c.Freight {
		return false
	}
	for _, l := range c.Lines {
		found := false
		if o.OrderDetail != nil {
			for _, p := range o.OrderDetail.ProductInfos {
				if p.ProductID == l.ProductID && p.SkuID == l.SkuID && p.RealPrice != nil && *p.RealPrice == l.NewLineTotal {
					found = true
				}
			}
		}
		if !found {
			return false
		}
	}
	return len(c.Lines) > 0 || c.Freight != nil
}

// cancelledByBuyer are the after-sale statuses a buyer's cancellation
// leaves (the Store spells one without its E).
var cancelledByBuyer = map[string]bool{"USER_CANCELD": true, "USER_CANCELED": true}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func merchantNotes(o *order.Order) string {
	if o.ExtInfo == nil || o.ExtInfo.MerchantNotes == nil {
		return ""
	}
	return *o.ExtInfo.MerchantNotes
}

func orderPrice(o *order.Order) int64 {
	if o.OrderDetail == nil || o.OrderDetail.PriceInfo == nil {
		return 0
	}
	return o.OrderDetail.PriceInfo.OrderPrice
}

func freight(o *order.Order) int64 {
	if o.OrderDetail == nil || o.OrderDetail.PriceInfo == nil {
		return 0
	}
	return o.OrderDetail.PriceInfo.Freight
}

func sameAddress(o *order.Order, a order.Address) bool {
	if o.OrderDetail == nil || o.OrderDetail.DeliveryInfo == nil || o.OrderDetail.DeliveryInfo.AddressInfo == nil {
		return false
	}
	got := o.OrderDetail.DeliveryInfo.AddressInfo
	eq := func(p *string, s string) bool { return p != nil && *p == s }
	return eq(got.UserName, a.UserName) && eq(got.TelNumber, a.TelNumber) && eq(got.ProvinceName, a.ProvinceName) &&
		eq(got.CityName, a.CityName) && eq(got.CountyName, a.CountyName) && eq(got.DetailInfo, a.DetailInfo)
}
