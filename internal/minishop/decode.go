package minishop

import (
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wechat/flex"
	"github.com/ordergraph/ordergraph/internal/wechat/orderjson"
)

// The answer of POST /product/order/get, read in one pass straight into the
// domain model. Each read function below knows one object of the vendor doc:
// its member names, and what each becomes. Codes map onto the domain enums
// as they are read; a missing list becomes [] and a missing section nil.

// orderAnswer is the answer of POST /product/order/get.
var orderAnswer = wechat.NewSection("order", readOrder)

var orderFields = flex.NewFields("order_id", "status", "create_time", "update_time", "openid", "order_type", "order_detail", "aftersale_detail", "ext_info")

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
		case "order_type":
			o.OrderTypeCode, err = d.IntValue()
		case "order_detail":
			err = flex.Optional(d, &o.OrderDetail, readOrderDetail)
		case "aftersale_detail":
			err = flex.Optional(d, &o.AftersaleDetail, orderjson.AfterSaleDetail)
		case "ext_info":
			err = flex.Optional(d, &o.ExtInfo, orderjson.ExtInfo)
		}
		return err
	})
	// An absent code is 0, which maps as any code does.
	o.Status = orderjson.Lookup(orderStatuses, o.StatusCode, order.StatusUnknown)
	o.OrderType = orderjson.Lookup(orderTypes, o.OrderTypeCode, order.TypeUnknown)
	return err
}

var orderDetailFields = flex.NewFields("product_infos", "price_info", "pay_info", "delivery_info", "coupon_info", "couponcode_info")

func readOrderDetail(d *flex.Decoder, o *order.OrderDetail) error {
	_, err := d.Object(orderDetailFields, func(name string) (err error) {
		switch name {
		case "product_infos":
			o.ProductInfos, err = flex.List(d, orderjson.ProductInfo)
		case "price_info":
			err = flex.Optional(d, &o.PriceInfo, orderjson.PriceInfo)
		case "pay_info":
			err = flex.Optional(d, &o.PayInfo, readPayInfo)
		case "delivery_info":
			err = flex.Optional(d, &o.DeliveryInfo, readDeliveryInfo)
		case "coupon_info":
			err = flex.Optional(d, &o.CouponInfo, readCouponInfo)
		case "couponcode_info":
			err = flex.Optional(d, &o.CouponcodeInfo, readCouponCodeInfo)
		}
		return err
	})
	o.ProductInfos = orderjson.NonNil(o.ProductInfos)
	return err
}

var payInfoFields = flex.NewFields("pay_method", "prepay_id", "prepay_time", "pay_time", "transaction_id")

func readPayInfo(d *flex.Decoder, p *order.PayInfo) error {
	_, err := d.Object(payInfoFields, func(name string) (err error) {
		switch name {
		case "pay_method":
			p.PayMethod, err = d.StringPtr()
			p.PaymentMethod = paymentMethod(p.PayMethod)
		case "prepay_id":
			p.PrepayID, err = d.StringPtr()
		case "prepay_time":
			p.PrepayTime, err = d.TimePtr()
		case "pay_time":
			p.PayTime, err = d.TimePtr()
		case "transaction_id":
			p.TransactionID, err = d.StringPtr()
		}
		return err
	})
	return err
}

var couponInfoFields = flex.NewFields("coupon_id")

func readCouponInfo(d *flex.Decoder, c *order.CouponInfo) error {
	_, err := d.Object(couponInfoFields, func(string) (err error) {
		c.CouponID, err = flex.List(d, func(d *flex.Decoder, id *uint64) (err error) {
			*id, err = d.ID()
			return err
		})
		return err
	})
	c.CouponID = orderjson.NonNil(c.CouponID)
	return err
}

var deliveryInfoFields = flex.NewFields("address_info", "delivery_method", "express_fee", "delivery_product_info", "ship_done_time", "insurance_info", "deliver_type", "offline_delivery_time", "offline_pickup_time", "pickup_address")

func readDeliveryInfo(d *flex.Decoder, di *order.DeliveryInfo) error {
	_, err := d.Object(deliveryInfoFields, func(name string) (err error) {
		switch name {
		case "address_info":
			err = flex.Optional(d, &di.AddressInfo, orderjson.AddressInfo)
		case "delivery_method":
			di.DeliveryMethod, err = d.StringPtr()
		case "express_fee":
			di.ExpressFee, err = flex.List(d, readExpressFee)
		case "delivery_product_info":
			di.DeliveryProductInfo, err = flex.List(d, readDeliveryProductInfo)
		case "ship_done_time":
			di.ShipDoneTime, err = d.TimePtr()
		case "insurance_info":
			err = flex.Optional(d, &di.InsuranceInfo, readInsuranceInfo)
		case "deliver_type":
			di.DeliverType, err = deliveryType(d)
		case "offline_delivery_time":
			di.OfflineDeliveryTime, err = d.TimePtr()
		case "offline_pickup_time":
			di.OfflinePickupTime, err = d.TimePtr()
		case "pickup_address":
			err = flex.Optional(d, &di.PickupAddress, orderjson.AddressInfo)
		}
		return err
	})
	di.ExpressFee, di.DeliveryProductInfo = orderjson.NonNil(di.ExpressFee), orderjson.NonNil(di.DeliveryProductInfo)
	return err
}

var expressFeeFields = flex.NewFields("shipping_method")

func readExpressFee(d *flex.Decoder, f *order.DeliveryExpressFee) error {
	f.ShippingMethod = order.ShippingUnknown
	_, err := d.Object(expressFeeFields, func(string) error {
		s, err := d.StringValue()
		f.ShippingMethod = orderjson.Lookup(shippingMethods, s, order.ShippingUnknown)
		return err
	})
	return err
}

var deliveryProductInfoFields = flex.NewFields("waybill_id", "delivery_id", "product_infos", "delivery_name", "delivery_time", "deliver_type", "delivery_address")

func readDeliveryProductInfo(d *flex.Decoder, p *order.DeliveryProductInfo) error {
	_, err := d.Object(deliveryProductInfoFields, func(name string) (err error) {
		switch name {
		case "waybill_id":
			p.WaybillID, err = d.StringPtr()
		case "delivery_id":
			p.DeliveryID, err = d.StringPtr()
		case "product_infos":
			p.ProductInfos, err = flex.List(d, orderjson.FreightProductInfo)
		case "delivery_name":
			p.DeliveryName, err = d.StringPtr()
		case "delivery_time":
			p.DeliveryTime, err = d.TimePtr()
		case "deliver_type":
			p.DeliverType, err = deliveryType(d)
		case "delivery_address":
			err = flex.Optional(d, &p.DeliveryAddress, orderjson.AddressInfo)
		}
		return err
	})
	p.ProductInfos = orderjson.NonNil(p.ProductInfos)
	return err
}

var insuranceInfoFields = flex.NewFields("type", "insurance_price")

func readInsuranceInfo(d *flex.Decoder, i *order.InsuranceInfo) error {
	if i.Type == "" {
		i.Type = order.InsuranceUnknown
	}
	_, err := d.Object(insuranceInfoFields, func(name string) (err error) {
		switch name {
		case "type":
			var s string
			s, err = d.StringValue()
			i.Type = orderjson.Lookup(insuranceTypes, s, order.InsuranceUnknown)
		case "insurance_price":
			i.InsurancePrice, err = d.IntValue()
		}
		return err
	})
	return err
}

var couponCodeInfoFields = flex.NewFields("start_time", "end_time", "verify_type", "phone_number", "verifier_nickname", "verify_time")

func readCouponCodeInfo(d *flex.Decoder, c *order.CouponCodeInfo) error {
	_, err := d.Object(couponCodeInfoFields, func(name string) (err error) {
		switch name {
		case "start_time":
			c.StartTime, err = d.TimePtr()
		case "end_time":
			c.EndTime, err = d.TimePtr()
		case "verify_type":
			c.VerifyType, err = orderjson.Code(d, verifyTypes, order.VerifyUnknown)
		case "phone_number":
			c.PhoneNumber, err = d.StringPtr()
		case "verifier_nickname":
			c.VerifierNickname, err = d.StringPtr()
		case "verify_time":
			c.VerifyTime, err = d.TimePtr()
		}
		return err
	})
	return err
}

// deliveryType maps an optional deliver_type; absent or "" stays nil.
func deliveryType(d *flex.Decoder) (*order.DeliveryType, error) {
	s, err := d.StringValue()
	if err != nil || s == "" {
		return nil, err
	}
	t := orderjson.Lookup(deliveryTypes, s, order.DeliveryUnknown)
	return &t, nil
}

// paymentMethod maps Mini Shop's payment text; no text is no method.
func paymentMethod(text *string) *order.PaymentMethod {
	if text == nil {
		return nil
	}
	m := order.PaymentUnknown
	if *text == "微信支付" {
		m = order.PaymentWeChatPay
	}
	return &m
}
