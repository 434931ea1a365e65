package minishop

import (
	"slices"
	"time"

	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wechat/flex"
)

// The answer of POST /product/order/get, read in one pass straight into the
// domain model. Each read function below knows one object of the vendor doc:
// its member names, and what each becomes. Codes map onto the domain enums
// as they are read; a missing list becomes [] and a missing section nil.

type orderResponse struct {
	wechat.Status
	Order *order.Order
}

var responseFields = flex.NewFields(slices.Concat(wechat.StatusFields, []string{"order"})...)

func (r *orderResponse) ReadReply(d *flex.Decoder) error {
	*r = orderResponse{}
	_, err := d.Object(responseFields, func(name string) error {
		if name == "order" {
			return flex.Optional(d, &r.Order, readOrder)
		}
		return r.ReadMember(d, name)
	})
	return err
}

var orderFields = flex.NewFields("order_id", "status", "create_time", "update_time", "openid", "order_type", "order_detail", "aftersale_detail", "ext_info")

func readOrder(d *flex.Decoder, o *order.Order) error {
	_, err := d.Object(orderFields, func(name string) (err error) {
		switch name {
		case "order_id":
			o.ID, err = d.ID()
		case "status":
			o.StatusCode, err = intValue(d)
		case "create_time":
			o.CreateTime, err = timePtr(d)
		case "update_time":
			o.UpdateTime, err = timePtr(d)
		case "openid":
			o.Openid, err = stringPtr(d)
		case "order_type":
			o.OrderTypeCode, err = intValue(d)
		case "order_detail":
			err = flex.Optional(d, &o.OrderDetail, readOrderDetail)
		case "aftersale_detail":
			err = flex.Optional(d, &o.AftersaleDetail, readAfterSaleDetail)
		case "ext_info":
			err = flex.Optional(d, &o.ExtInfo, readExtInfo)
		}
		return err
	})
	// An absent code is 0, which maps as any code does.
	o.Status = lookup(orderStatuses, o.StatusCode, order.StatusUnknown)
	o.OrderType = lookup(orderTypes, o.OrderTypeCode, order.TypeUnknown)
	return err
}

var orderDetailFields = flex.NewFields("product_infos", "price_info", "pay_info", "delivery_info", "coupon_info", "couponcode_info")

func readOrderDetail(d *flex.Decoder, o *order.OrderDetail) error {
	_, err := d.Object(orderDetailFields, func(name string) (err error) {
		switch name {
		case "product_infos":
			o.ProductInfos, err = flex.List(d, readProductInfo)
		case "price_info":
			err = flex.Optional(d, &o.PriceInfo, readPriceInfo)
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
	o.ProductInfos = nonNil(o.ProductInfos)
	return err
}

var productInfoFields = flex.NewFields("product_id", "out_product_id", "sku_id", "out_sku_id", "thumb_img", "sku_cnt", "sale_price", "title", "sku_attrs", "on_aftersale_sku_cnt", "finish_aftersale_sku_cnt", "sku_code", "market_price")

func readProductInfo(d *flex.Decoder, p *order.ProductInfo) error {
	_, err := d.Object(productInfoFields, func(name string) (err error) {
		switch name {
		case "product_id":
			p.ProductID, err = d.ID()
		case "out_product_id":
			p.OutProductID, err = stringPtr(d)
		case "sku_id":
			p.SkuID, err = d.ID()
		case "out_sku_id":
			p.OutSkuID, err = stringPtr(d)
		case "thumb_img":
			p.ThumbImg, err = stringPtr(d)
		case "sku_cnt":
			p.SkuCnt, err = intValue(d)
		case "sale_price":
			p.SalePrice, err = intValue(d)
		case "title":
			p.Title, err = stringPtr(d)
		case "sku_attrs":
			p.SkuAttrs, err = flex.List(d, readAttrInfo)
		case "on_aftersale_sku_cnt":
			p.OnAftersaleSkuCnt, err = intValue(d)
		case "finish_aftersale_sku_cnt":
			p.FinishAftersaleSkuCnt, err = intValue(d)
		case "sku_code":
			p.SkuCode, err = stringPtr(d)
		case "market_price":
			p.MarketPrice, err = intPtr(d)
		}
		return err
	})
	p.SkuAttrs = nonNil(p.SkuAttrs)
	return err
}

var attrInfoFields = flex.NewFields("attr_key", "attr_value")

func readAttrInfo(d *flex.Decoder, a *order.AttrInfo) error {
	_, err := d.Object(attrInfoFields, func(name string) (err error) {
		switch name {
		case "attr_key":
			a.AttrKey, err = stringValue(d)
		case "attr_value":
			a.AttrValue, err = stringValue(d)
		}
		return err
	})
	return err
}

var payInfoFields = flex.NewFields("pay_method", "prepay_id", "prepay_time", "pay_time", "transaction_id")

func readPayInfo(d *flex.Decoder, p *order.PayInfo) error {
	_, err := d.Object(payInfoFields, func(name string) (err error) {
		switch name {
		case "pay_method":
			p.PayMethod, err = stringPtr(d)
			p.PaymentMethod = paymentMethod(p.PayMethod)
		case "prepay_id":
			p.PrepayID, err = stringPtr(d)
		case "prepay_time":
			p.PrepayTime, err = timePtr(d)
		case "pay_time":
			p.PayTime, err = timePtr(d)
		case "transaction_id":
			p.TransactionID, err = stringPtr(d)
		}
		return err
	})
	return err
}

var priceInfoFields = flex.NewFields("product_price", "order_price", "freight", "discounted_price", "is_discounted", "original_order_price", "estimate_product_price", "change_down_price", "change_freight", "is_change_freight", "buyer_insurance_price")

func readPriceInfo(d *flex.Decoder, p *order.PriceInfo) error {
	_, err := d.Object(priceInfoFields, func(name string) (err error) {
		switch name {
		case "product_price":
			p.ProductPrice, err = intValue(d)
		case "order_price":
			p.OrderPrice, err = intValue(d)
		case "freight":
			p.Freight, err = intValue(d)
		case "discounted_price":
			p.DiscountedPrice, err = intPtr(d)
		case "is_discounted":
			var b flex.Bool
			b, err = d.Bool()
			p.IsDiscounted = b.V
		case "original_order_price":
			p.OriginalOrderPrice, err = intPtr(d)
		case "estimate_product_price":
			p.EstimateProductPrice, err = intPtr(d)
		case "change_down_price":
			p.ChangeDownPrice, err = intPtr(d)
		case "change_freight":
			p.ChangeFreight, err = intPtr(d)
		case "is_change_freight":
			var b flex.Bool
			b, err = d.Bool()
			p.IsChangeFreight = d.BoolPtr(b)
		case "buyer_insurance_price":
			p.BuyerInsurancePrice, err = intPtr(d)
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
	c.CouponID = nonNil(c.CouponID)
	return err
}

var deliveryInfoFields = flex.NewFields("address_info", "delivery_method", "express_fee", "delivery_product_info", "ship_done_time", "insurance_info", "deliver_type", "offline_delivery_time", "offline_pickup_time", "pickup_address")

func readDeliveryInfo(d *flex.Decoder, di *order.DeliveryInfo) error {
	_, err := d.Object(deliveryInfoFields, func(name string) (err error) {
		switch name {
		case "address_info":
			err = flex.Optional(d, &di.AddressInfo, readAddressInfo)
		case "delivery_method":
			di.DeliveryMethod, err = stringPtr(d)
		case "express_fee":
			di.ExpressFee, err = flex.List(d, readExpressFee)
		case "delivery_product_info":
			di.DeliveryProductInfo, err = flex.List(d, readDeliveryProductInfo)
		case "ship_done_time":
			di.ShipDoneTime, err = timePtr(d)
		case "insurance_info":
			err = flex.Optional(d, &di.InsuranceInfo, readInsuranceInfo)
		case "deliver_type":
			di.DeliverType, err = deliveryType(d)
		case "offline_delivery_time":
			di.OfflineDeliveryTime, err = timePtr(d)
		case "offline_pickup_time":
			di.OfflinePickupTime, err = timePtr(d)
		case "pickup_address":
			err = flex.Optional(d, &di.PickupAddress, readAddressInfo)
		}
		return err
	})
	di.ExpressFee, di.DeliveryProductInfo = nonNil(di.ExpressFee), nonNil(di.DeliveryProductInfo)
	return err
}

var expressFeeFields = flex.NewFields("shipping_method")

func readExpressFee(d *flex.Decoder, f *order.DeliveryExpressFee) error {
	f.ShippingMethod = order.ShippingUnknown
	_, err := d.Object(expressFeeFields, func(string) error {
		s, err := d.String()
		f.ShippingMethod = lookup(shippingMethods, s.V, order.ShippingUnknown)
		return err
	})
	return err
}

var deliveryProductInfoFields = flex.NewFields("waybill_id", "delivery_id", "product_infos", "delivery_name", "delivery_time", "deliver_type", "delivery_address")

func readDeliveryProductInfo(d *flex.Decoder, p *order.DeliveryProductInfo) error {
	_, err := d.Object(deliveryProductInfoFields, func(name string) (err error) {
		switch name {
		case "waybill_id":
			p.WaybillID, err = stringPtr(d)
		case "delivery_id":
			p.DeliveryID, err = stringPtr(d)
		case "product_infos":
			p.ProductInfos, err = flex.List(d, readFreightProductInfo)
		case "delivery_name":
			p.DeliveryName, err = stringPtr(d)
		case "delivery_time":
			p.DeliveryTime, err = timePtr(d)
		case "deliver_type":
			p.DeliverType, err = deliveryType(d)
		case "delivery_address":
			err = flex.Optional(d, &p.DeliveryAddress, readAddressInfo)
		}
		return err
	})
	p.ProductInfos = nonNil(p.ProductInfos)
	return err
}

var freightProductInfoFields = flex.NewFields("product_id", "sku_id", "product_cnt")

func readFreightProductInfo(d *flex.Decoder, p *order.FreightProductInfo) error {
	_, err := d.Object(freightProductInfoFields, func(name string) (err error) {
		switch name {
		case "product_id":
			p.ProductID, err = d.ID()
		case "sku_id":
			p.SkuID, err = d.ID()
		case "product_cnt":
			p.ProductCnt, err = intValue(d)
		}
		return err
	})
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
			var s flex.String
			s, err = d.String()
			i.Type = lookup(insuranceTypes, s.V, order.InsuranceUnknown)
		case "insurance_price":
			i.InsurancePrice, err = intValue(d)
		}
		return err
	})
	return err
}

var addressInfoFields = flex.NewFields("user_name", "postal_code", "province_name", "city_name", "county_name", "detail_info", "national_code", "tel_number", "house_number")

func readAddressInfo(d *flex.Decoder, a *order.AddressInfo) error {
	_, err := d.Object(addressInfoFields, func(name string) (err error) {
		var s *string
		s, err = stringPtr(d)
		switch name {
		case "user_name":
			a.UserName = s
		case "postal_code":
			a.PostalCode = s
		case "province_name":
			a.ProvinceName = s
		case "city_name":
			a.CityName = s
		case "county_name":
			a.CountyName = s
		case "detail_info":
			a.DetailInfo = s
		case "national_code":
			a.NationalCode = s
		case "tel_number":
			a.TelNumber = s
		case "house_number":
			a.HouseNumber = s
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
			c.StartTime, err = timePtr(d)
		case "end_time":
			c.EndTime, err = timePtr(d)
		case "verify_type":
			var code flex.Int
			code, err = d.Int()
			c.VerifyType = nil
			if code.Set {
				v := lookup(verifyTypes, code.V, order.VerifyUnknown)
				c.VerifyType = &v
			}
		case "phone_number":
			c.PhoneNumber, err = stringPtr(d)
		case "verifier_nickname":
			c.VerifierNickname, err = stringPtr(d)
		case "verify_time":
			c.VerifyTime, err = timePtr(d)
		}
		return err
	})
	return err
}

var afterSaleDetailFields = flex.NewFields("on_aftersale_order_cnt", "aftersale_order_list")

func readAfterSaleDetail(d *flex.Decoder, a *order.AfterSaleDetail) error {
	_, err := d.Object(afterSaleDetailFields, func(name string) (err error) {
		switch name {
		case "on_aftersale_order_cnt":
			a.OnAftersaleOrderCnt, err = intValue(d)
		case "aftersale_order_list":
			a.AftersaleOrderList, err = flex.List(d, readAfterSaleOrderInfo)
		}
		return err
	})
	a.AftersaleOrderList = nonNil(a.AftersaleOrderList)
	return err
}

var afterSaleOrderInfoFields = flex.NewFields("aftersale_order_id", "status")

func readAfterSaleOrderInfo(d *flex.Decoder, a *order.AfterSaleOrderInfo) error {
	_, err := d.Object(afterSaleOrderInfoFields, func(name string) (err error) {
		switch name {
		case "aftersale_order_id":
			a.AftersaleOrderID, err = d.ID()
		case "status":
			a.Status, err = intValue(d)
		}
		return err
	})
	return err
}

var extInfoFields = flex.NewFields("customer_notes", "merchant_notes")

func readExtInfo(d *flex.Decoder, e *order.ExtInfo) error {
	_, err := d.Object(extInfoFields, func(name string) (err error) {
		switch name {
		case "customer_notes":
			e.CustomerNotes, err = stringPtr(d)
		case "merchant_notes":
			e.MerchantNotes, err = stringPtr(d)
		}
		return err
	})
	return err
}

// The readers of one member's value, as the domain wants it.

func intValue(d *flex.Decoder) (int64, error) {
	i, err := d.Int()
	return i.V, err
}

func intPtr(d *flex.Decoder) (*int64, error) {
	i, err := d.Int()
	return d.IntPtr(i), err
}

func stringValue(d *flex.Decoder) (string, error) {
	s, err := d.String()
	return s.V, err
}

func stringPtr(d *flex.Decoder) (*string, error) {
	s, err := d.String()
	return d.StringPtr(s), err
}

func timePtr(d *flex.Decoder) (*time.Time, error) {
	t, err := d.Time()
	return d.TimePtr(t), err
}

// deliveryType maps an optional deliver_type; absent or "" stays nil.
func deliveryType(d *flex.Decoder) (*order.DeliveryType, error) {
	s, err := d.String()
	if err != nil || s.V == "" {
		return nil, err
	}
	t := lookup(deliveryTypes, s.V, order.DeliveryUnknown)
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

// nonNil keeps a missing list from reaching clients as null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
