package wxstore

import (
	"context"
	"maps"
	"slices"
	"strconv"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wechat/flex"
	"github.com/ordergraph/ordergraph/internal/wechat/orderjson"
)

// Writes is the order.Writer of the WeChat Store: its order and after-sale
// writes, each sent once through wechat.Client.Write, and the lists they
// take their carriers, reasons and addresses from, read through Call.
type Writes struct{ client *wechat.Client }

// NewWrites returns the Store's order actions, called through client.
func NewWrites(client *wechat.Client) *Writes { return &Writes{client: client} }

var _ order.Writer = (*Writes)(nil)

// Refusals of the Store's writes, from its doc and developers' reports
// (shared/upstream/order-writes.md). The errcodes every API shares (quota,
// permission, token, -1) are the core's, and stay infrastructure errors.
var (
	// orderRefusals are what any order write may answer.
	orderRefusals = wechat.Refusals{
		101100: {Code: codes.OrderState, Message: "the order's status does not allow this action"},
		100002: {Code: codes.UserOrderNotFound, Message: "order not found"},
		100003: {Code: codes.ConcurrentUpdate, Message: "another update of the order was in progress; read the order and try again"},
		40097:  {Code: codes.InvalidInput, Message: "WeChat rejected a parameter as invalid"},
		47001:  {Code: codes.InvalidInput, Message: "WeChat rejected the request's format"},
	}
	// deliveryRefusals serve shipping and changing the tracking alike: both
	// send the same parcels, which WeChat checks the same way.
	deliveryRefusals = with(orderRefusals, wechat.Refusals{
		101100: {Code: codes.OrderState, Message: "the order is not awaiting shipment"},
		606034: {Code: codes.ProviderLocked, Message: "only a specific service provider may ship this order"},
		606041: {Code: codes.LimitReached, Message: "the order's tracking has been changed as often as WeChat allows"},
		606040: {Code: codes.InvalidInput, Message: "WeChat does not allow splitting this order into these parcels"},
		606042: {Code: codes.InvalidInput, Message: "WeChat rejected the parcels' products"},
		606004: {Code: codes.InvalidInput, Message: "WeChat rejected the deliveryId"},
		606005: {Code: codes.InvalidInput, Message: "WeChat rejected the waybillId"},
	})
	// priceRefusals take Mini Shop's errcodes for its price call, which
	// takes the same body: the Store's doc names none.
	priceRefusals = with(orderRefusals, wechat.Refusals{
		101100: {Code: codes.OrderState, Message: "only an unpaid order's price can change"},
		108021: {Code: codes.PriceNotLower, Message: "a new price is not lower than the current one"},
		108022: {Code: codes.LimitReached, Message: "the order's price has been changed as often as WeChat allows"},
		108023: {Code: codes.InvalidInput, Message: "the order's total would be 0"},
	})
	// addressRefusals: the doc gives no errcode for the limit of 5 address
	// changes; the sandbox answers the tracking limit's, which says the same.
	addressRefusals = with(orderRefusals, wechat.Refusals{
		606041: {Code: codes.LimitReached, Message: "the order's address has been changed as often as WeChat allows"},
	})
	// afterSaleRefusals serve accepting and rejecting alike: no errcode
	// means one thing for the one and another for the other.
	afterSaleRefusals = wechat.Refusals{
		10020001: {Code: codes.AfterSaleState, Message: "the after-sale order's status does not allow this action"},
		10021041: {Code: codes.AfterSaleState, Message: "the after-sale order's status does not allow this action"},
		10021051: {Code: codes.AfterSaleState, Message: "a dispute is open on the after-sale order"},
		10021043: {Code: codes.UserAfterSaleMissing, Message: "after-sale order not found"},
		10021050: {Code: codes.UserAfterSaleMissing, Message: "after-sale order not found"},
		10021057: {Code: codes.UserAfterSaleMissing, Message: "after-sale order not found"},
		10020000: {Code: codes.UserAfterSaleMissing, Message: "after-sale order not found"},
		10021044: {Code: codes.ConcurrentUpdate, Message: "the after-sale order is busy; read it and try again"},
		100003:   {Code: codes.ConcurrentUpdate, Message: "another update of the order was in progress; read the after-sale order and try again"},
		10021045: {Code: codes.Rejected, Message: "WeChat could not make the refund"},
		10021046: {Code: codes.Rejected, Message: "the refund failed: the shop's balance is insufficient"},
		10021059: {Code: codes.RefundTooSoon, Message: "WeChat allows one refund a minute per order; try again in a minute"},
		10021058: {Code: codes.ReturnAddressNeeded, Message: "approving this return needs a returnAddressId"},
		10021060: {Code: codes.ReturnAddressNeeded, Message: "approving this return needs a returnAddressId"},
		10021062: {Code: codes.ReturnAddressNeeded, Message: "returnAddressId is not one of the shop's return addresses"},
		10021068: {Code: codes.NegotiationRequired, Message: "negotiate with the buyer before rejecting this after-sale request"},
		40097:    {Code: codes.InvalidInput, Message: "WeChat rejected a parameter as invalid"},
		47001:    {Code: codes.InvalidInput, Message: "WeChat rejected the request's format"},
	}
)

// with is base with extra's rows added or replacing base's.
func with(base, extra wechat.Refusals) wechat.Refusals {
	r := maps.Clone(base)
	maps.Copy(r, extra)
	return r
}

// Ship sends the order's parcels, or marks virtual goods delivered.
func (w *Writes) Ship(ctx context.Context, s order.Shipment) error {
	return w.write(ctx, "/channels/ec/order/delivery/send", deliveryRequest{OrderID: decimal(s.OrderID), Parcels: parcels(s)}, deliveryRefusals)
}

// UpdateShipment replaces the order's parcels with s's.
func (w *Writes) UpdateShipment(ctx context.Context, s order.Shipment) error {
	return w.write(ctx, "/channels/ec/order/deliveryinfo/update", deliveryRequest{OrderID: decimal(s.OrderID), Parcels: parcels(s)}, deliveryRefusals)
}

// SetMerchantNotes replaces the order's merchant notes: the Store has no
// append.
func (w *Writes) SetMerchantNotes(ctx context.Context, orderID uint64, notes string) error {
	return w.write(ctx, "/channels/ec/order/merchantnotes/update", notesRequest{OrderID: decimal(orderID), Notes: notes}, orderRefusals)
}

// ChangePrice sets new SKU line totals and, when c.Freight is set, the
// freight.
func (w *Writes) ChangePrice(ctx context.Context, c order.PriceChange) error {
	req := priceRequest{OrderID: decimal(c.OrderID), ChangeExpress: c.Freight != nil}
	if c.Freight != nil {
		req.ExpressFee = *c.Freight
	}
	for _, l := range c.Lines {
		req.Lines = append(req.Lines, priceLine{ProductID: decimal(l.ProductID), SkuID: decimal(l.SkuID), Price: l.NewLineTotal})
	}
	return w.write(ctx, "/channels/ec/order/price/update", req, priceRefusals)
}

// ChangeAddress asks to change the delivery address. Success means the
// Store asked the buyer, who must agree; the outcome arrives as an event.
func (w *Writes) ChangeAddress(ctx context.Context, orderID uint64, a order.Address) error {
	req := addressRequest{OrderID: decimal(orderID), Address: userAddress{
		UserName: a.UserName, PostalCode: a.PostalCode, ProvinceName: a.ProvinceName, CityName: a.CityName,
		CountyName: a.CountyName, DetailInfo: a.DetailInfo, TelNumber: a.TelNumber, HouseNumber: a.HouseNumber,
	}}
	return w.write(ctx, "/channels/ec/order/address/update", req, addressRefusals)
}

// AcceptAfterSale accepts the request without accept_type, so that the
// Store takes the step the after-sale order's state calls for: refund,
// approve a return (which needs a return address), or confirm the goods
// back and refund.
func (w *Writes) AcceptAfterSale(ctx context.Context, a order.AfterSaleAccept) error {
	return w.write(ctx, "/channels/ec/aftersale/acceptapply", acceptRequest{ID: decimal(a.AfterSaleID), AddressID: a.ReturnAddressID}, afterSaleRefusals)
}

// Precheck refuses a rejection without one of the Store's reason types,
// which it requires; the Store has every other action.
func (*Writes) Precheck(a order.Action) *order.Refusal {
	if a.Kind == order.ActRejectAfterSale && a.Reject != nil && a.Reject.ReasonType == nil {
		return order.Refuse(codes.InvalidInput, "the WeChat Store needs reasonType (see aftersaleRejectReasons)", "input", "reasonType")
	}
	return nil
}

// RejectAfterSale rejects the request with its reason type.
func (w *Writes) RejectAfterSale(ctx context.Context, r order.AfterSaleReject) error {
	if refusal := w.Precheck(order.Action{Kind: order.ActRejectAfterSale, Reject: &r}); refusal != nil {
		return refusal
	}
	return w.write(ctx, "/channels/ec/aftersale/rejectapply", rejectRequest{ID: decimal(r.AfterSaleID), ReasonType: *r.ReasonType, Reason: r.Reason}, afterSaleRefusals)
}

func (w *Writes) write(ctx context.Context, path string, body any, refusals wechat.Refusals) error {
	var reply wechat.WriteReply
	return w.client.Write(ctx, path, body, &reply, refusals)
}

// decimal is an id as the Store takes it, a decimal string.
func decimal(v uint64) string { return strconv.FormatUint(v, 10) }

type deliveryRequest struct {
	OrderID string   `json:"order_id"`
	Parcels []parcel `json:"delivery_list"`
}

// parcel is one delivery_list entry. Products is omitted for virtual goods
// only (omitzero keeps an empty, non-nil list).
type parcel struct {
	DeliveryID  string        `json:"delivery_id"`
	WaybillID   string        `json:"waybill_id"`
	DeliverType int           `json:"deliver_type"`
	Products    []productInfo `json:"product_infos,omitzero"`
}

type productInfo struct {
	ProductID string `json:"product_id"`
	SkuID     string `json:"sku_id"`
	Count     int64  `json:"product_cnt"`
}

// The Store's deliver_type for a parcel by the merchant's own carrier and
// for virtual goods without logistics (2 and 4 are deprecated).
const (
	deliverExpress = 1
	deliverVirtual = 3
)

// parcels is s's delivery_list: virtual goods are one entry without
// carrier, waybill or products, whatever parcels s names. A parcel's
// products are exactly its items. The Store needs them even for a sole
// parcel that carries the whole order, which the Writer cannot list, not
// knowing the order's lines: the actions service reads the order and
// fills the items in first. A parcel still without items goes out with an
// empty list, for WeChat to refuse, rather than with products made up.
func parcels(s order.Shipment) []parcel {
	if s.Virtual {
		// One entry without carrier or waybill; like every entry it lists
		// the products it carries, which the server filled in as a whole
		// parcel's.
		virtual := parcel{DeliverType: deliverVirtual}
		if len(s.Parcels) > 0 {
			virtual.Products = products(s.Parcels[0].Items)
		}
		return []parcel{virtual}
	}
	out := make([]parcel, len(s.Parcels))
	for i, p := range s.Parcels {
		out[i] = parcel{DeliveryID: p.DeliveryID, WaybillID: p.WaybillID, DeliverType: deliverExpress, Products: products(p.Items)}
	}
	return out
}

func products(items []order.ParcelItem) []productInfo {
	out := make([]productInfo, len(items))
	for i, it := range items {
		out[i] = productInfo{ProductID: decimal(it.ProductID), SkuID: decimal(it.SkuID), Count: it.Count}
	}
	return out
}

type notesRequest struct {
	OrderID string `json:"order_id"`
	Notes   string `json:"merchant_notes"`
}

// priceRequest always says whether the freight changes; the lines are
// left out when only the freight does.
type priceRequest struct {
	OrderID       string      `json:"order_id"`
	ChangeExpress bool        `json:"change_express"`
	ExpressFee    int64       `json:"express_fee"`
	Lines         []priceLine `json:"change_order_infos,omitempty"`
}

// priceLine's Price is the SKU line's new total in fen, not a unit price.
type priceLine struct {
	ProductID string `json:"product_id"`
	SkuID     string `json:"sku_id"`
	Price     int64  `json:"change_price"`
}

type addressRequest struct {
	OrderID string      `json:"order_id"`
	Address userAddress `json:"user_address"`
}

type userAddress struct {
	UserName     string  `json:"user_name"`
	PostalCode   *string `json:"postal_code,omitempty"`
	ProvinceName string  `json:"province_name"`
	CityName     string  `json:"city_name"`
	CountyName   string  `json:"county_name"`
	DetailInfo   string  `json:"detail_info"`
	TelNumber    string  `json:"tel_number"`
	HouseNumber  *string `json:"house_number,omitempty"`
}

type acceptRequest struct {
	ID        string  `json:"after_sale_order_id"`
	AddressID *string `json:"address_id,omitempty"`
}

type rejectRequest struct {
	ID         string  `json:"after_sale_order_id"`
	ReasonType int64   `json:"reject_reason_type"`
	Reason     *string `json:"reject_reason,omitempty"`
}

// DeliveryCompanies lists the carriers a parcel may name, from the call
// WeChat asks for in place of the older deliverycompanylist/get.
func (w *Writes) DeliveryCompanies(ctx context.Context) ([]order.DeliveryCompany, error) {
	var reply companiesReply
	if err := w.client.Call(ctx, "/channels/ec/order/deliverycompanylist/new/get", companiesRequest{}, &reply, errcodes); err != nil {
		return nil, err
	}
	return reply.Companies, nil
}

// companiesRequest asks for every carrier, not only those with electronic
// waybills; the Store requires the member.
type companiesRequest struct {
	EwaybillOnly bool `json:"ewaybill_only"`
}

type companiesReply struct {
	wechat.Status
	Companies []order.DeliveryCompany
}

var (
	companiesReplyFields = flex.NewFields(slices.Concat(wechat.StatusFields, []string{"company_list"})...)
	companyFields        = flex.NewFields("delivery_id", "delivery_name")
)

// ReadReply keeps the carriers that have an id: one without cannot be
// named by a parcel.
func (r *companiesReply) ReadReply(d *flex.Decoder) error {
	*r = companiesReply{}
	_, err := d.Object(companiesReplyFields, func(name string) (err error) {
		if name == "company_list" {
			r.Companies, err = flex.List(d, readCompany)
			return err
		}
		return r.ReadMember(d, name)
	})
	r.Companies = orderjson.NonNil(slices.DeleteFunc(r.Companies, func(c order.DeliveryCompany) bool { return c.DeliveryID == "" }))
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

// AftersaleRejectReasons lists the reason types a rejection may give.
func (w *Writes) AftersaleRejectReasons(ctx context.Context) ([]order.AftersaleRejectReason, error) {
	var reply reasonsReply
	if err := w.client.Call(ctx, "/channels/ec/aftersale/rejectreason/get", struct{}{}, &reply, errcodes); err != nil {
		return nil, err
	}
	return reply.Reasons, nil
}

// reasonsReply reads the reasons under reason_list, the doc's name, or
// reject_reason_list, which a developer reports the live API sends: the
// one that holds any.
type reasonsReply struct {
	wechat.Status
	Reasons []order.AftersaleRejectReason
}

var (
	reasonsReplyFields = flex.NewFields(slices.Concat(wechat.StatusFields, []string{"reason_list", "reject_reason_list"})...)
	reasonFields       = flex.NewFields("reject_reason_type", "reject_reason_type_text", "reject_reason")
)

func (r *reasonsReply) ReadReply(d *flex.Decoder) error {
	*r = reasonsReply{}
	_, err := d.Object(reasonsReplyFields, func(name string) (err error) {
		switch name {
		case "reason_list", "reject_reason_list":
			var reasons []order.AftersaleRejectReason
			if reasons, err = flex.List(d, readReason); len(reasons) > 0 {
				r.Reasons = reasons
			}
		default:
			err = r.ReadMember(d, name)
		}
		return err
	})
	r.Reasons = orderjson.NonNil(r.Reasons)
	return err
}

// readReason names a reason by its type's text, else by its sample
// wording.
func readReason(d *flex.Decoder, reason *order.AftersaleRejectReason) error {
	var typeText, text string
	_, err := d.Object(reasonFields, func(name string) (err error) {
		switch name {
		case "reject_reason_type":
			reason.ReasonType, err = d.IntValue()
		case "reject_reason_type_text":
			typeText, err = d.StringValue()
		case "reject_reason":
			text, err = d.StringValue()
		}
		return err
	})
	reason.Text = typeText
	if reason.Text == "" {
		reason.Text = text
	}
	return err
}

// ReturnAddresses lists the merchant's return addresses: the ids, then
// each address, one call apiece, in the list's order.
func (w *Writes) ReturnAddresses(ctx context.Context) ([]order.ReturnAddress, error) {
	var list addressListReply
	if err := w.client.Call(ctx, "/channels/ec/merchant/address/list", addressListRequest{Limit: order.MaxReturnAddresses}, &list, errcodes); err != nil {
		return nil, err
	}
	addresses := []order.ReturnAddress{}
	for _, addressID := range list.IDs[:min(len(list.IDs), order.MaxReturnAddresses)] {
		reply := addressAnswer.Reply()
		if err := w.client.Call(ctx, "/channels/ec/merchant/address/get", addressGetRequest{ID: addressID}, &reply, errcodes); err != nil {
			return nil, err
		}
		if reply.Value == nil {
			continue
		}
		if reply.Value.ID == "" {
			reply.Value.ID = addressID
		}
		addresses = append(addresses, *reply.Value)
	}
	return addresses, nil
}

type addressListRequest struct {
	Offset int `json:"offset"`
	Limit  int `json:"limit"`
}

type addressListReply struct {
	wechat.Status
	IDs []string
}

var addressListFields = flex.NewFields(slices.Concat(wechat.StatusFields, []string{"address_id_list"})...)

func (r *addressListReply) ReadReply(d *flex.Decoder) error {
	*r = addressListReply{}
	_, err := d.Object(addressListFields, func(name string) (err error) {
		if name == "address_id_list" {
			r.IDs, err = flex.List(d, func(d *flex.Decoder, s *string) (err error) {
				*s, err = d.StringValue()
				return err
			})
			return err
		}
		return r.ReadMember(d, name)
	})
	r.IDs = slices.DeleteFunc(r.IDs, func(s string) bool { return s == "" })
	return err
}

type addressGetRequest struct {
	ID string `json:"address_id"`
}

// addressAnswer is the answer of /channels/ec/merchant/address/get.
var addressAnswer = wechat.NewSection("address_detail", readAddressDetail)

var (
	addressDetailFields = flex.NewFields("address_id", "address_info", "default_recv")
	addressInfoFields   = flex.NewFields("user_name", "tel_number", "province_name", "city_name", "county_name", "detail_info")
)

// readAddressDetail reads address_detail; default_recv 1 marks the
// default return address (default_send, the default sender, is not it).
func readAddressDetail(d *flex.Decoder, a *order.ReturnAddress) error {
	_, err := d.Object(addressDetailFields, func(name string) (err error) {
		switch name {
		case "address_id":
			a.ID, err = d.StringValue()
		case "address_info":
			_, err = d.Object(addressInfoFields, func(name string) (err error) {
				switch name {
				case "user_name":
					a.UserName, err = d.StringPtr()
				case "tel_number":
					a.TelNumber, err = d.StringPtr()
				case "province_name":
					a.ProvinceName, err = d.StringPtr()
				case "city_name":
					a.CityName, err = d.StringPtr()
				case "county_name":
					a.CountyName, err = d.StringPtr()
				case "detail_info":
					a.DetailInfo, err = d.StringPtr()
				}
				return err
			})
		case "default_recv":
			var v int64
			v, err = d.IntValue()
			a.IsDefault = v == 1
		}
		return err
	})
	return err
}
