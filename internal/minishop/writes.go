package minishop

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wechat/flex"
)

// Writes is the order.Writer of the Mini Shop: /product/delivery/send,
// /product/order/change_merchant_notes, change_order_price, acceptapply and
// rejectrefund, and the carrier list. Every id goes out as a JSON number,
// as Mini Shop takes them; encoding/json writes a uint64 exactly, never
// through a float. Each write is one attempt (wechat.Client.Write).
type Writes struct{ client *wechat.Client }

// NewWrites returns the order actions that call through client.
func NewWrites(client *wechat.Client) *Writes { return &Writes{client: client} }

var _ order.Writer = (*Writes)(nil)

// Errcodes of the Mini Shop write calls, from shared/upstream/order-writes.md
// (errOrderNotFound and errBadParameter are the reads').
const (
	errConcurrentUpdate = 100003
	errOrderState       = 101100
	errInAfterSale      = 108009
	errPriceNotLower    = 108021
	errPriceLimit       = 108022
	errPriceZero        = 108023
	errShipFailed       = 109000
	errAlreadyShipped   = 109001
	errNoPermission     = 9401021
)

var (
	refuseOrderNotFound = wechat.Refusal{Code: codes.UserOrderNotFound, Message: "the shop has no such order"}
	refuseConcurrent    = wechat.Refusal{Code: codes.ConcurrentUpdate, Message: "another change to the order was under way; try again"}
	refuseOrderState    = wechat.Refusal{Code: codes.OrderState, Message: "the order's status does not allow this"}
)

var shipRefusals = wechat.Refusals{
	errInAfterSale: {Code: codes.OrderState, Message: "the order is in after-sale"},
	// WeChat gives 109000 for any failed shipment, and (report) for a
	// delivery id and waybill id already used: the message says both.
	errShipFailed:       {Code: codes.Rejected, Message: "WeChat refused the shipment; a delivery id and waybill id already used also give this"},
	errAlreadyShipped:   {Code: codes.AlreadyShipped, Message: "the order has shipped already"},
	errBadParameter:     {Code: codes.InvalidInput, Message: "WeChat refused the shipment's parameters"},
	errOrderNotFound:    refuseOrderNotFound,
	errConcurrentUpdate: refuseConcurrent,
	errOrderState:       refuseOrderState,
}

// refuseBadParameter is 9401020, which any Mini Shop call may answer.
var refuseBadParameter = wechat.Refusal{Code: codes.InvalidInput, Message: "WeChat refused a parameter"}

var notesRefusals = wechat.Refusals{
	errBadParameter:     refuseBadParameter,
	errOrderNotFound:    refuseOrderNotFound,
	errConcurrentUpdate: refuseConcurrent,
}

var priceRefusals = wechat.Refusals{
	errOrderState:       {Code: codes.OrderState, Message: "only an unpaid order's price can change"},
	errPriceNotLower:    {Code: codes.PriceNotLower, Message: "a new price is above the original one"},
	errPriceLimit:       {Code: codes.LimitReached, Message: "the order's price has changed the most times WeChat allows"},
	errPriceZero:        {Code: codes.InvalidInput, Message: "the order's total would be 0"},
	errBadParameter:     refuseBadParameter,
	errOrderNotFound:    refuseOrderNotFound,
	errConcurrentUpdate: refuseConcurrent,
}

// afterSaleRefusals serve accept and reject, whose order_id is the
// after-sale id: 100002 is a missing after-sale order there, and 101100
// its status.
var afterSaleRefusals = wechat.Refusals{
	errBadParameter:     refuseBadParameter,
	errOrderNotFound:    {Code: codes.UserAfterSaleMissing, Message: "the shop has no such after-sale order"},
	errOrderState:       {Code: codes.AfterSaleState, Message: "the after-sale order's status does not allow this"},
	errConcurrentUpdate: {Code: codes.ConcurrentUpdate, Message: "another change to the after-sale order was under way; try again"},
}

// noPermission is 9401021's message, for an operator: no client can fix it.
const noPermission = "the app has no permission for this Mini Shop API; enable it in the WeChat admin console"

// lookupErrcodes are the carrier list's. Its call has no order, so the
// reads' errcodes (order not found, bad order id) do not apply; 9401021
// is the permission failure it shares with the writes.
var lookupErrcodes = wechat.Errcodes{
	errNoPermission: {Code: codes.UpstreamPermissionDenied, Message: noPermission},
}

// Ship sends the order's parcels. A whole parcel (the client named no
// items) says is_all_product, whatever items the server filled in; Mini
// Shop has no virtual shipment.
func (w *Writes) Ship(ctx context.Context, s order.Shipment) error {
	if r := w.Precheck(order.Action{Kind: order.ActShip, Shipment: &s}); r != nil {
		return r
	}
	req := shipRequest{OrderID: s.OrderID, Deliveries: make([]delivery, len(s.Parcels))}
	for i, p := range s.Parcels {
		d := delivery{DeliveryID: p.DeliveryID, WaybillID: p.WaybillID, AllProducts: p.Whole || len(p.Items) == 0}
		if !d.AllProducts {
			for _, it := range p.Items {
				d.Products = append(d.Products, productInfo{ProductID: it.ProductID, SkuID: it.SkuID, Count: it.Count})
			}
		}
		req.Deliveries[i] = d
	}
	return w.write(ctx, "/product/delivery/send", req, shipRefusals)
}

// Precheck refuses what the Mini Shop has no call for (a tracking change,
// an address change, a virtual shipment) and a rejection without the
// reason the buyer sees, which it requires (it has no reason types).
func (*Writes) Precheck(a order.Action) *order.Refusal {
	switch {
	case a.Kind == order.ActUpdateShipment:
		return order.Refuse(codes.NotSupported, "the Mini Shop has no call to change a shipment's tracking")
	case a.Kind == order.ActChangeAddress:
		return order.Refuse(codes.NotSupported, "the Mini Shop has no call to change an order's address")
	case a.Kind == order.ActShip && a.Shipment != nil && a.Shipment.Virtual:
		return order.Refuse(codes.NotSupported, "the Mini Shop has no virtual shipment", "input", "virtual")
	case a.Kind == order.ActRejectAfterSale && a.Reject != nil && (a.Reject.Reason == nil || strings.TrimSpace(*a.Reject.Reason) == ""):
		// A blank reason tells the buyer nothing, as an empty one would.
		return order.Refuse(codes.InvalidInput, "the Mini Shop needs a reason", "input", "reason")
	}
	return nil
}

// UpdateShipment is not a Mini Shop call.
func (w *Writes) UpdateShipment(_ context.Context, s order.Shipment) error {
	return w.Precheck(order.Action{Kind: order.ActUpdateShipment, Shipment: &s})
}

// SetMerchantNotes replaces the order's merchant notes.
func (w *Writes) SetMerchantNotes(ctx context.Context, orderID uint64, notes string) error {
	return w.write(ctx, "/product/order/change_merchant_notes", notesRequest{OrderID: orderID, Notes: notes}, notesRefusals)
}

// ChangePrice sets new SKU line totals and, with a Freight, the freight.
func (w *Writes) ChangePrice(ctx context.Context, c order.PriceChange) error {
	req := priceRequest{OrderID: c.OrderID, ChangeExpress: c.Freight != nil}
	if c.Freight != nil {
		req.ExpressFee = *c.Freight
	}
	for _, l := range c.Lines {
		req.Lines = append(req.Lines, priceLine{ProductID: l.ProductID, SkuID: l.SkuID, Price: l.NewLineTotal})
	}
	return w.write(ctx, "/product/order/change_order_price", req, priceRefusals)
}

// ChangeAddress is not a Mini Shop call.
func (w *Writes) ChangeAddress(context.Context, uint64, order.Address) error {
	return w.Precheck(order.Action{Kind: order.ActChangeAddress})
}

// AcceptAfterSale accepts an after-sale request, with the return address
// when one is given.
func (w *Writes) AcceptAfterSale(ctx context.Context, a order.AfterSaleAccept) error {
	req := acceptRequest{AfterSaleID: a.AfterSaleID}
	if a.ReturnAddressID != nil {
		// The id comes from the merchant (Mini Shop lists no addresses), and
		// the doc does not type address_id. Mini Shop takes its ids as
		// numbers, so a decimal id goes as a number, exactly; any other
		// (leading zeros included, which a number would lose) is sent as
		// given, for WeChat to judge, rather than refused here.
		id := *a.ReturnAddressID
		if n, err := strconv.ParseUint(id, 10, 64); err == nil && strconv.FormatUint(n, 10) == id {
			req.AddressID = n
		} else {
			req.AddressID = id
		}
	}
	return w.write(ctx, "/product/order/acceptapply", req, afterSaleRefusals)
}

// RejectAfterSale rejects an after-sale request with the reason the buyer
// sees.
func (w *Writes) RejectAfterSale(ctx context.Context, r order.AfterSaleReject) error {
	if refusal := w.Precheck(order.Action{Kind: order.ActRejectAfterSale, Reject: &r}); refusal != nil {
		return refusal
	}
	return w.write(ctx, "/product/order/rejectrefund", rejectRequest{AfterSaleID: r.AfterSaleID, Reason: *r.Reason}, afterSaleRefusals)
}

// DeliveryCompanies lists the carriers a parcel may name.
func (w *Writes) DeliveryCompanies(ctx context.Context) ([]order.DeliveryCompany, error) {
	var resp companiesResponse
	if err := w.client.Call(ctx, "/product/delivery/get_company_list", struct{}{}, &resp, lookupErrcodes); err != nil {
		return nil, err
	}
	list := resp.top
	if len(list) == 0 {
		list = resp.data
	}
	// A carrier without an id cannot be named in a shipment.
	return slices.DeleteFunc(list, func(c order.DeliveryCompany) bool { return c.DeliveryID == "" }), nil
}

// AftersaleRejectReasons is nil: Mini Shop takes a free-text reason.
func (*Writes) AftersaleRejectReasons(context.Context) ([]order.AftersaleRejectReason, error) {
	return nil, nil
}

// ReturnAddresses is nil: Mini Shop has no call that lists them.
func (*Writes) ReturnAddresses(context.Context) ([]order.ReturnAddress, error) { return nil, nil }

// write makes one write call whose answer is the status alone.
func (w *Writes) write(ctx context.Context, path string, body any, refusals wechat.Refusals) error {
	var reply wechat.WriteReply
	err := w.client.Write(ctx, path, body, &reply, refusals)
	// 9401021 is Mini Shop's own "no permission": the app's setting, for an
	// operator to fix, not a refusal of this action, so it stays a
	// top-level error as WeChat's shared 48001 does. The core keeps only
	// the shared errcodes as *order.Error and makes every other a refusal;
	// it is turned back here.
	var r *order.Refusal
	if errors.As(err, &r) && r.Errcode != nil && *r.Errcode == errNoPermission {
		return &order.Error{Code: codes.UpstreamPermissionDenied, Message: noPermission, Errcode: r.Errcode}
	}
	return err
}

type shipRequest struct {
	OrderID    uint64     `json:"order_id"`
	Deliveries []delivery `json:"delivery_list"`
}

// delivery is one parcel: is_all_product without product_infos for the
// whole order, else the products it carries.
type delivery struct {
	DeliveryID  string        `json:"delivery_id"`
	WaybillID   string        `json:"waybill_id"`
	AllProducts bool          `json:"is_all_product"`
	Products    []productInfo `json:"product_infos,omitempty"`
}

type productInfo struct {
	ProductID uint64 `json:"product_id"`
	SkuID     uint64 `json:"sku_id"`
	Count     int64  `json:"product_cnt"`
}

type notesRequest struct {
	OrderID uint64 `json:"order_id"`
	Notes   string `json:"merchant_notes"`
}

// priceRequest always says whether the freight changes, and sends 0 as its
// fee when it does not.
type priceRequest struct {
	OrderID       uint64      `json:"order_id"`
	ChangeExpress bool        `json:"change_express"`
	ExpressFee    int64       `json:"express_fee"`
	Lines         []priceLine `json:"change_order_infos,omitempty"`
}

// priceLine is a SKU line's new total in fen.
type priceLine struct {
	ProductID uint64 `json:"product_id"`
	SkuID     uint64 `json:"sku_id"`
	Price     int64  `json:"change_price"`
}

// acceptRequest's order_id is the after-sale id. AddressID is a uint64 or
// a string (see AcceptAfterSale); nil leaves it out.
type acceptRequest struct {
	AfterSaleID uint64 `json:"order_id"`
	AddressID   any    `json:"address_id,omitempty"`
}

// rejectRequest's order_id is the after-sale id.
type rejectRequest struct {
	AfterSaleID uint64 `json:"order_id"`
	Reason      string `json:"reject_reason"`
}

// companiesResponse keeps both places the list is found: the doc wraps it
// as data.company_list, real answers and SDK samples have it at the top.
type companiesResponse struct {
	wechat.Status
	top, data []order.DeliveryCompany
}

var (
	companiesResponseFields = flex.NewFields(slices.Concat(wechat.StatusFields, []string{"company_list", "data"})...)
	companiesDataFields     = flex.NewFields("company_list")
	companyFields           = flex.NewFields("delivery_id", "delivery_name")
)

func (r *companiesResponse) ReadReply(d *flex.Decoder) error {
	*r = companiesResponse{}
	_, err := d.Object(companiesResponseFields, func(name string) (err error) {
		switch name {
		case "company_list":
			r.top, err = flex.List(d, readCompany)
		case "data":
			_, err = d.Object(companiesDataFields, func(string) (err error) {
				r.data, err = flex.List(d, readCompany)
				return err
			})
		default:
			err = r.ReadMember(d, name)
		}
		return err
	})
	return err
}

func readCompany(d *flex.Decoder, c *order.DeliveryCompany) error {
	_, err := d.Object(companyFields, func(name string) (err error) {
		switch name {
		case "delivery_id":
			c.DeliveryID, err = d.StringValue()
		case "delivery_name":
			c.Name, err = d.StringValue()
		}
		return err
	})
	return err
}
