// Package orderjson reads the parts of a WeChat order that the API families
// share, field for field: SKU lines, amounts, addresses, parcels' SKUs,
// after-sale summaries and notes are the same JSON in the Mini Shop and the
// WeChat Store (the Store's order doc maps them one to one). Each family
// reads the rest of its own shape and calls these for the shared parts.
package orderjson

import (
	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat/flex"
)

var productInfoFields = flex.NewFields("product_id", "out_product_id", "sku_id", "out_sku_id", "thumb_img", "sku_cnt", "sale_price", "title", "sku_attrs", "on_aftersale_sku_cnt", "finish_aftersale_sku_cnt", "sku_code", "market_price", "real_price")

// ProductInfo reads one SKU line of an order.
func ProductInfo(d *flex.Decoder, p *order.ProductInfo) error {
	_, err := d.Object(productInfoFields, func(name string) (err error) {
		switch name {
		case "product_id":
			p.ProductID, err = d.ID()
		case "out_product_id":
			p.OutProductID, err = d.StringPtr()
		case "sku_id":
			p.SkuID, err = d.ID()
		case "out_sku_id":
			p.OutSkuID, err = d.StringPtr()
		case "thumb_img":
			p.ThumbImg, err = d.StringPtr()
		case "sku_cnt":
			p.SkuCnt, err = d.IntValue()
		case "sale_price":
			p.SalePrice, err = d.IntValue()
		case "title":
			p.Title, err = d.StringPtr()
		case "sku_attrs":
			p.SkuAttrs, err = flex.List(d, AttrInfo)
		case "on_aftersale_sku_cnt":
			p.OnAftersaleSkuCnt, err = d.IntValue()
		case "finish_aftersale_sku_cnt":
			p.FinishAftersaleSkuCnt, err = d.IntValue()
		case "sku_code":
			p.SkuCode, err = d.StringPtr()
		case "market_price":
			p.MarketPrice, err = d.IntPtr()
		case "real_price":
			p.RealPrice, err = d.IntPtr()
		}
		return err
	})
	p.SkuAttrs = NonNil(p.SkuAttrs)
	return err
}

var attrInfoFields = flex.NewFields("attr_key", "attr_value")

// AttrInfo reads one SKU attribute.
func AttrInfo(d *flex.Decoder, a *order.AttrInfo) error {
	_, err := d.Object(attrInfoFields, func(name string) (err error) {
		switch name {
		case "attr_key":
			a.AttrKey, err = d.StringValue()
		case "attr_value":
			a.AttrValue, err = d.StringValue()
		}
		return err
	})
	return err
}

var priceInfoFields = flex.NewFields("product_price", "order_price", "freight", "discounted_price", "is_discounted", "original_order_price", "estimate_product_price", "change_down_price", "change_freight", "is_change_freight", "buyer_insurance_price")

// PriceInfo reads an order's amounts.
func PriceInfo(d *flex.Decoder, p *order.PriceInfo) error {
	_, err := d.Object(priceInfoFields, func(name string) (err error) {
		switch name {
		case "product_price":
			p.ProductPrice, err = d.IntValue()
		case "order_price":
			p.OrderPrice, err = d.IntValue()
		case "freight":
			p.Freight, err = d.IntValue()
		case "discounted_price":
			p.DiscountedPrice, err = d.IntPtr()
		case "is_discounted":
			p.IsDiscounted, err = d.BoolValue()
		case "original_order_price":
			p.OriginalOrderPrice, err = d.IntPtr()
		case "estimate_product_price":
			p.EstimateProductPrice, err = d.IntPtr()
		case "change_down_price":
			p.ChangeDownPrice, err = d.IntPtr()
		case "change_freight":
			p.ChangeFreight, err = d.IntPtr()
		case "is_change_freight":
			p.IsChangeFreight, err = d.BoolPtr()
		case "buyer_insurance_price":
			p.BuyerInsurancePrice, err = d.IntPtr()
		}
		return err
	})
	return err
}

var freightProductInfoFields = flex.NewFields("product_id", "sku_id", "product_cnt")

// FreightProductInfo reads one SKU of a parcel.
func FreightProductInfo(d *flex.Decoder, p *order.FreightProductInfo) error {
	_, err := d.Object(freightProductInfoFields, func(name string) (err error) {
		switch name {
		case "product_id":
			p.ProductID, err = d.ID()
		case "sku_id":
			p.SkuID, err = d.ID()
		case "product_cnt":
			p.ProductCnt, err = d.IntValue()
		}
		return err
	})
	return err
}

var addressInfoFields = flex.NewFields("user_name", "postal_code", "province_name", "city_name", "county_name", "detail_info", "national_code", "tel_number", "house_number")

// AddressInfo reads a postal address.
func AddressInfo(d *flex.Decoder, a *order.AddressInfo) error {
	_, err := d.Object(addressInfoFields, func(name string) (err error) {
		var s *string
		s, err = d.StringPtr()
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

var afterSaleDetailFields = flex.NewFields("on_aftersale_order_cnt", "aftersale_order_list")

// AfterSaleDetail reads an order's after-sale summary.
func AfterSaleDetail(d *flex.Decoder, a *order.AfterSaleDetail) error {
	_, err := d.Object(afterSaleDetailFields, func(name string) (err error) {
		switch name {
		case "on_aftersale_order_cnt":
			a.OnAftersaleOrderCnt, err = d.IntValue()
		case "aftersale_order_list":
			a.AftersaleOrderList, err = flex.List(d, AfterSaleOrderInfo)
		}
		return err
	})
	a.AftersaleOrderList = NonNil(a.AftersaleOrderList)
	return err
}

var afterSaleOrderInfoFields = flex.NewFields("aftersale_order_id", "status")

// AfterSaleOrderInfo reads one entry of it.
func AfterSaleOrderInfo(d *flex.Decoder, a *order.AfterSaleOrderInfo) error {
	_, err := d.Object(afterSaleOrderInfoFields, func(name string) (err error) {
		switch name {
		case "aftersale_order_id":
			a.AftersaleOrderID, err = d.ID()
		case "status":
			a.Status, err = d.IntValue()
		}
		return err
	})
	return err
}

var extInfoFields = flex.NewFields("customer_notes", "merchant_notes")

// ExtInfo reads an order's notes.
func ExtInfo(d *flex.Decoder, e *order.ExtInfo) error {
	_, err := d.Object(extInfoFields, func(name string) (err error) {
		switch name {
		case "customer_notes":
			e.CustomerNotes, err = d.StringPtr()
		case "merchant_notes":
			e.MerchantNotes, err = d.StringPtr()
		}
		return err
	})
	return err
}

// NonNil keeps a missing list from reaching clients as null.
func NonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Lookup maps an upstream code through a family's table; a code missing
// from it is the enum's unknown value, so a new code never fails an order.
func Lookup[K comparable, V any](table map[K]V, code K, unknown V) V {
	if v, ok := table[code]; ok {
		return v
	}
	return unknown
}

// Code reads a numeric code through a family's table: absent or null is
// nil, a code missing from the table the enum's unknown value.
func Code[V any](d *flex.Decoder, table map[int64]V, unknown V) (*V, error) {
	code, err := d.Int()
	if err != nil || !code.Set {
		return nil, err
	}
	v := Lookup(table, code.V, unknown)
	return &v, nil
}

var errNoOrder = order.Errorf(codes.UpstreamUnavailable, "upstream sent no order", nil)

// Result is the order of an answer with errcode 0, with the requested id
// filled in where the upstream left out its echo.
func Result(o *order.Order, id uint64) (*order.Order, error) {
	if o == nil {
		return nil, errNoOrder
	}
	if o.ID == 0 {
		o.ID = id
	}
	return o, nil
}

// AfterSaleKeys names the members of an after-sale record that the
// families call differently: the two ids are swapped between them, and the
// Store's readable reason is reason_text.
type AfterSaleKeys struct{ ID, OrderID, Reason string }

var afterSaleTypes = map[string]order.AfterSaleType{
	"REFUND":   order.AfterSaleRefund,
	"RETURN":   order.AfterSaleReturn,
	"EXCHANGE": order.AfterSaleExchange,
}

// AfterSaleOrderReader returns the reader of one after-sale record under
// the family's keys.
func AfterSaleOrderReader(k AfterSaleKeys) func(*flex.Decoder, *order.AfterSaleOrder) error {
	fields := flex.NewFields(k.ID, k.OrderID, "status", "type", "openid", k.Reason, "product_info", "refund_info", "return_info", "create_time", "update_time")
	return func(d *flex.Decoder, a *order.AfterSaleOrder) error {
		return readAfterSaleOrder(d, a, fields, k)
	}
}

func readAfterSaleOrder(d *flex.Decoder, a *order.AfterSaleOrder, fields *flex.Fields, k AfterSaleKeys) error {
	a.Type = order.AfterSaleUnknown
	_, err := d.Object(fields, func(name string) (err error) {
		switch name {
		case k.ID:
			a.ID, err = d.ID()
		case k.OrderID:
			a.OrderID, err = d.ID()
		case "status":
			a.Status, err = d.StringValue()
		case "type":
			var s string
			s, err = d.StringValue()
			a.Type = Lookup(afterSaleTypes, s, order.AfterSaleUnknown)
		case "openid":
			a.Openid, err = d.StringPtr()
		case k.Reason:
			a.Reason, err = d.StringPtr()
		case "product_info":
			_, err = d.Object(afterSaleProductFields, func(name string) (err error) {
				switch name {
				case "product_id":
					a.ProductID, err = d.IDPtr()
				case "sku_id":
					a.SkuID, err = d.IDPtr()
				case "count":
					a.Count, err = d.IntPtr()
				}
				return err
			})
		case "refund_info":
			_, err = d.Object(refundInfoFields, func(string) (err error) {
				a.RefundAmount, err = d.IntPtr()
				return err
			})
		case "return_info":
			_, err = d.Object(returnInfoFields, func(name string) (err error) {
				switch name {
				case "waybill_id":
					a.ReturnWaybillID, err = d.StringPtr()
				case "delivery_id":
					a.ReturnDeliveryID, err = d.StringPtr()
				}
				return err
			})
		case "create_time":
			a.CreateTime, err = d.TimePtr()
		case "update_time":
			a.UpdateTime, err = d.TimePtr()
		}
		return err
	})
	return err
}

var (
	afterSaleProductFields = flex.NewFields("product_id", "sku_id", "count")
	refundInfoFields       = flex.NewFields("amount")
	returnInfoFields       = flex.NewFields("waybill_id", "delivery_id")
)

// StatusFilter returns the function that gives a status filter the code of
// a family's table, nil for no filter; a status without a code there (such
// as UNKNOWN) cannot be a filter.
func StatusFilter(statuses map[int64]order.OrderStatus) func(*order.OrderStatus) (*int64, error) {
	codeOf := make(map[order.OrderStatus]int64, len(statuses))
	for code, s := range statuses {
		codeOf[s] = code
	}
	return func(s *order.OrderStatus) (*int64, error) {
		if s == nil {
			return nil, nil
		}
		code, ok := codeOf[*s]
		if !ok {
			return nil, order.Errorf(codes.BadUserInput, "status "+string(*s)+" cannot be a filter with this upstream family", nil)
		}
		return &code, nil
	}
}
