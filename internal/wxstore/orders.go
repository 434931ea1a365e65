// Package wxstore is the WeChat Store family (微信小店, /channels/ec/*), the
// successor of the Mini Shop: its order shape, status and payment codes and
// errcodes, on the WeChat core in package wechat. The parts of an order both
// families share are read by package orderjson.
//
// The Store's order differs from the Mini Shop's where it matters here: ids
// are strings, times Unix seconds, the payment method a code, the notes sit
// in order_detail, and there is no order type (every Store order is
// ORDINARY, code 0).
package wxstore

import (
	"context"
	"strconv"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wechat/flex"
	"github.com/ordergraph/ordergraph/internal/wechat/orderjson"
)

// Errcodes of the Store's order and after-sale calls, from its doc; the
// ones every WeChat API shares are mapped by the core.
var errcodes = wechat.Errcodes{
	100002:   {Code: codes.OrderNotFound, Message: "order not found"},
	40097:    {Code: codes.BadUserInput, Message: "upstream rejected a parameter as invalid"},
	47001:    {Code: codes.BadUserInput, Message: "upstream rejected the request's format"},
	10020000: {Code: codes.AfterSaleNotFound, Message: "after-sale order not found"},
	10021050: {Code: codes.AfterSaleNotFound, Message: "after-sale order not found"},
	10021043: {Code: codes.AfterSaleNotFound, Message: "after-sale order not found"},
}

// The Store's codes for the domain enums; codes missing here map to the
// enum's Unknown value, keeping the raw code.
var orderStatuses = map[int64]order.OrderStatus{
	10:  order.StatusPendingPayment,
	12:  order.StatusGiftAwaitingAccept,
	13:  order.StatusGroupOrderAwaitingGroup,
	20:  order.StatusToBeShipped,
	21:  order.StatusPartiallyShipped,
	30:  order.StatusToBeReceived,
	100: order.StatusCompleted,
	190: order.StatusCancelledOversold,
	200: order.StatusCancelledAllAftersale,
	250: order.StatusCancelledUnpaid,
}

var paymentMethods = map[int64]order.PaymentMethod{
	1: order.PaymentWeChatPay,
	2: order.PaymentPayAfterUse,
	3: order.PaymentFreeLottery,
	4: order.PaymentPointsExchange,
}

// deliverTypes maps a parcel's deliver_type: 1 the merchant's own courier,
// 2 and 4 a courier ordered online, 3 virtual goods with no logistics.
var deliverTypes = map[int64]order.DeliveryType{
	1: order.DeliveryOptionalExpress,
	2: order.DeliveryOrderOnline,
	3: order.DeliveryNoExpress,
	4: order.DeliveryOrderOnline,
}

// deliverMethods names deliver_method in the words Mini Shop uses.
var deliverMethods = map[int64]string{0: "快递", 1: "虚拟发货"}

// textOf is the text a table gives a code, nil for a code it lacks.
func textOf[K comparable](table map[K]string, code K) *string {
	if text, ok := table[code]; ok {
		return &text
	}
	return nil
}

// Orders is the order.Source backed by POST /channels/ec/order/get.
type Orders struct{ client *wechat.Client }

// NewOrders returns an order source that calls through client.
func NewOrders(client *wechat.Client) *Orders { return &Orders{client: client} }

var _ order.Source = (*Orders)(nil)

// Order fetches one order.
func (o *Orders) Order(ctx context.Context, id uint64) (*order.Order, error) {
	resp := orderAnswer.Reply()
	if err := o.client.Call(ctx, "/channels/ec/order/get", orderRequest{OrderID: strconv.FormatUint(id, 10)}, &resp, errcodes); err != nil {
		return nil, err
	}
	return orderjson.Result(resp.Value, id)
}

// orderRequest sends the id as the decimal string the Store wants.
type orderRequest struct {
	OrderID string `json:"order_id"`
}

// orderAnswer is the answer of POST /channels/ec/order/get.
var orderAnswer = wechat.NewSection("order", readOrder)

var orderFields = flex.NewFields("order_id", "status", "create_time", "update_time", "openid", "unionid", "order_detail", "aftersale_detail")

func readOrder(d *flex.Decoder, o *order.Order) error {
	_, err := d.Object(orderFields, func(name string) (err error) {
		switch name {
		case "order_id":
			o.ID, err = d.ID()
		case "status":
			o.StatusCode, err = d.IntValue()
		case "create_time":
			o.CreateTime, err = d.TimePtr()
		case "update_time":
			o.UpdateTime, err = d.TimePtr()
		case "openid":
			o.Openid, err = d.StringPtr()
		case "unionid":
			o.Unionid, err = d.StringPtr()
		case "order_detail":
			err = flex.Optional(d, &o.OrderDetail, func(d *flex.Decoder, od *order.OrderDetail) error { return readOrderDetail(d, od, o) })
		case "aftersale_detail":
			err = flex.Optional(d, &o.AftersaleDetail, orderjson.AfterSaleDetail)
		}
		return err
	})
	o.Status = orderjson.Lookup(orderStatuses, o.StatusCode, order.StatusUnknown)
	o.OrderType, o.OrderTypeCode = order.TypeOrdinary, 0
	return err
}

var orderDetailFields = flex.NewFields("product_infos", "price_info", "pay_info", "delivery_info", "coupon_info", "ext_info")

// readOrderDetail reads order_detail; its ext_info is the order's notes.
func readOrderDetail(d *flex.Decoder, od *order.OrderDetail, o *order.Order) error {
	_, err := d.Object(orderDetailFields, func(name string) (err error) {
		switch name {
		case "product_infos":
			od.ProductInfos, err = flex.List(d, orderjson.ProductInfo)
		case "price_info":
			err = flex.Optional(d, &od.PriceInfo, orderjson.PriceInfo)
		case "pay_info":
			err = flex.Optional(d, &od.PayInfo, readPayInfo)
		case "delivery_info":
			err = flex.Optional(d, &od.DeliveryInfo, readDeliveryInfo)
		case "coupon_info":
			err = flex.Optional(d, &od.CouponInfo, readCouponInfo)
		case "ext_info":
			err = flex.Optional(d, &o.ExtInfo, orderjson.ExtInfo)
		}
		return err
	})
	od.ProductInfos = orderjson.NonNil(od.ProductInfos)
	return err
}

var payInfoFields = flex.NewFields("prepay_id", "prepay_time", "pay_time", "transaction_id", "payment_method")

// readPayInfo reads pay_info. The Store sends its payment method as a code
// only, so PayMethod, Mini Shop's text, stays nil: the contract has a field a
// family does not send be null, not words made up for it.
func readPayInfo(d *flex.Decoder, p *order.PayInfo) error {
	_, err := d.Object(payInfoFields, func(name string) (err error) {
		switch name {
		case "prepay_id":
			p.PrepayID, err = d.StringPtr()
		case "prepay_time":
			p.PrepayTime, err = d.TimePtr()
		case "pay_time":
			p.PayTime, err = d.TimePtr()
		case "transaction_id":
			p.TransactionID, err = d.StringPtr()
		case "payment_method":
			p.PaymentMethod, err = orderjson.Code(d, paymentMethods, order.PaymentUnknown)
		}
		return err
	})
	return err
}

var deliveryInfoFields = flex.NewFields("address_info", "delivery_product_info", "ship_done_time", "deliver_method")

func readDeliveryInfo(d *flex.Decoder, di *order.DeliveryInfo) error {
	_, err := d.Object(deliveryInfoFields, func(name string) (err error) {
		switch name {
		case "address_info":
			err = flex.Optional(d, &di.AddressInfo, orderjson.AddressInfo)
		case "delivery_product_info":
			di.DeliveryProductInfo, err = flex.List(d, readParcel)
		case "ship_done_time":
			di.ShipDoneTime, err = d.TimePtr()
		case "deliver_method":
			var code flex.Int
			code, err = d.Int()
			di.DeliveryMethod = nil
			if code.Set {
				di.DeliveryMethod = textOf(deliverMethods, code.V)
			}
		}
		return err
	})
	di.ExpressFee, di.DeliveryProductInfo = orderjson.NonNil(di.ExpressFee), orderjson.NonNil(di.DeliveryProductInfo)
	return err
}

var parcelFields = flex.NewFields("waybill_id", "delivery_id", "delivery_name", "delivery_time", "deliver_type", "product_infos")

func readParcel(d *flex.Decoder, p *order.DeliveryProductInfo) error {
	_, err := d.Object(parcelFields, func(name string) (err error) {
		switch name {
		case "waybill_id":
			p.WaybillID, err = d.StringPtr()
		case "delivery_id":
			p.DeliveryID, err = d.StringPtr()
		case "delivery_name":
			p.DeliveryName, err = d.StringPtr()
		case "delivery_time":
			p.DeliveryTime, err = d.TimePtr()
		case "deliver_type":
			p.DeliverType, err = orderjson.Code(d, deliverTypes, order.DeliveryUnknown)
		case "product_infos":
			p.ProductInfos, err = flex.List(d, orderjson.FreightProductInfo)
		}
		return err
	})
	p.ProductInfos = orderjson.NonNil(p.ProductInfos)
	return err
}

var couponInfoFields = flex.NewFields("user_coupon_id")

// readCouponInfo reads the Store's one coupon id into the list of them.
func readCouponInfo(d *flex.Decoder, c *order.CouponInfo) error {
	_, err := d.Object(couponInfoFields, func(string) error {
		id, err := d.ID()
		c.CouponID = nil
		if id != 0 {
			c.CouponID = []uint64{id}
		}
		return err
	})
	c.CouponID = orderjson.NonNil(c.CouponID)
	return err
}
