package minishop

import (
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wechat/flex"
)

// Wire types mirror the JSON of POST /product/order/get field for field; the
// to* methods translate them into the domain model, filling list defaults and
// mapping codes onto enums.

type orderResponse struct {
	wechat.Status
	Order *wireOrder `json:"order"`
}

type wireOrder struct {
	OrderID         flex.ID              `json:"order_id"`
	Status          flex.Int             `json:"status"`
	CreateTime      flex.Time            `json:"create_time"`
	UpdateTime      flex.Time            `json:"update_time"`
	Openid          flex.String          `json:"openid"`
	OrderType       flex.Int             `json:"order_type"`
	OrderDetail     *wireOrderDetail     `json:"order_detail"`
	AftersaleDetail *wireAfterSaleDetail `json:"aftersale_detail"`
	ExtInfo         *wireExtInfo         `json:"ext_info"`
}

type wireOrderDetail struct {
	ProductInfos   flex.List[wireProductInfo] `json:"product_infos"`
	PriceInfo      *wirePriceInfo             `json:"price_info"`
	PayInfo        *wirePayInfo               `json:"pay_info"`
	DeliveryInfo   *wireDeliveryInfo          `json:"delivery_info"`
	CouponInfo     *wireCouponInfo            `json:"coupon_info"`
	CouponcodeInfo *wireCouponCodeInfo        `json:"couponcode_info"`
}

type wireProductInfo struct {
	ProductID             flex.ID                 `json:"product_id"`
	OutProductID          flex.String             `json:"out_product_id"`
	SkuID                 flex.ID                 `json:"sku_id"`
	OutSkuID              flex.String             `json:"out_sku_id"`
	ThumbImg              flex.String             `json:"thumb_img"`
	SkuCnt                flex.Int                `json:"sku_cnt"`
	SalePrice             flex.Int                `json:"sale_price"`
	Title                 flex.String             `json:"title"`
	SkuAttrs              flex.List[wireAttrInfo] `json:"sku_attrs"`
	OnAftersaleSkuCnt     flex.Int                `json:"on_aftersale_sku_cnt"`
	FinishAftersaleSkuCnt flex.Int                `json:"finish_aftersale_sku_cnt"`
	SkuCode               flex.String             `json:"sku_code"`
	MarketPrice           flex.Int                `json:"market_price"`
}

type wireAttrInfo struct {
	AttrKey   flex.String `json:"attr_key"`
	AttrValue flex.String `json:"attr_value"`
}

type wirePayInfo struct {
	PayMethod     flex.String `json:"pay_method"`
	PrepayID      flex.String `json:"prepay_id"`
	PrepayTime    flex.Time   `json:"prepay_time"`
	PayTime       flex.Time   `json:"pay_time"`
	TransactionID flex.String `json:"transaction_id"`
}

type wirePriceInfo struct {
	ProductPrice         flex.Int  `json:"product_price"`
	OrderPrice           flex.Int  `json:"order_price"`
	Freight              flex.Int  `json:"freight"`
	DiscountedPrice      flex.Int  `json:"discounted_price"`
	IsDiscounted         flex.Bool `json:"is_discounted"`
	OriginalOrderPrice   flex.Int  `json:"original_order_price"`
	EstimateProductPrice flex.Int  `json:"estimate_product_price"`
	ChangeDownPrice      flex.Int  `json:"change_down_price"`
	ChangeFreight        flex.Int  `json:"change_freight"`
	IsChangeFreight      flex.Bool `json:"is_change_freight"`
	BuyerInsurancePrice  flex.Int  `json:"buyer_insurance_price"`
}

type wireCouponInfo struct {
	CouponID flex.List[flex.ID] `json:"coupon_id"`
}

type wireDeliveryInfo struct {
	AddressInfo         *wireAddressInfo                   `json:"address_info"`
	DeliveryMethod      flex.String                        `json:"delivery_method"`
	ExpressFee          flex.List[wireExpressFee]          `json:"express_fee"`
	DeliveryProductInfo flex.List[wireDeliveryProductInfo] `json:"delivery_product_info"`
	ShipDoneTime        flex.Time                          `json:"ship_done_time"`
	InsuranceInfo       *wireInsuranceInfo                 `json:"insurance_info"`
	DeliverType         flex.String                        `json:"deliver_type"`
	OfflineDeliveryTime flex.Time                          `json:"offline_delivery_time"`
	OfflinePickupTime   flex.Time                          `json:"offline_pickup_time"`
	PickupAddress       *wireAddressInfo                   `json:"pickup_address"`
}

type wireExpressFee struct {
	ShippingMethod flex.String `json:"shipping_method"`
}

type wireDeliveryProductInfo struct {
	WaybillID       flex.String                       `json:"waybill_id"`
	DeliveryID      flex.String                       `json:"delivery_id"`
	ProductInfos    flex.List[wireFreightProductInfo] `json:"product_infos"`
	DeliveryName    flex.String                       `json:"delivery_name"`
	DeliveryTime    flex.Time                         `json:"delivery_time"`
	DeliverType     flex.String                       `json:"deliver_type"`
	DeliveryAddress *wireAddressInfo                  `json:"delivery_address"`
}

type wireFreightProductInfo struct {
	ProductID  flex.ID  `json:"product_id"`
	SkuID      flex.ID  `json:"sku_id"`
	ProductCnt flex.Int `json:"product_cnt"`
}

type wireInsuranceInfo struct {
	Type           flex.String `json:"type"`
	InsurancePrice flex.Int    `json:"insurance_price"`
}

type wireAddressInfo struct {
	UserName     flex.String `json:"user_name"`
	PostalCode   flex.String `json:"postal_code"`
	ProvinceName flex.String `json:"province_name"`
	CityName     flex.String `json:"city_name"`
	CountyName   flex.String `json:"county_name"`
	DetailInfo   flex.String `json:"detail_info"`
	NationalCode flex.String `json:"national_code"`
	TelNumber    flex.String `json:"tel_number"`
	HouseNumber  flex.String `json:"house_number"`
}

type wireCouponCodeInfo struct {
	StartTime        flex.Time   `json:"start_time"`
	EndTime          flex.Time   `json:"end_time"`
	VerifyType       flex.Int    `json:"verify_type"`
	PhoneNumber      flex.String `json:"phone_number"`
	VerifierNickname flex.String `json:"verifier_nickname"`
	VerifyTime       flex.Time   `json:"verify_time"`
}

type wireAfterSaleDetail struct {
	OnAftersaleOrderCnt flex.Int                          `json:"on_aftersale_order_cnt"`
	AftersaleOrderList  flex.List[wireAfterSaleOrderInfo] `json:"aftersale_order_list"`
}

type wireAfterSaleOrderInfo struct {
	AftersaleOrderID flex.ID  `json:"aftersale_order_id"`
	Status           flex.Int `json:"status"`
}

type wireExtInfo struct {
	CustomerNotes flex.String `json:"customer_notes"`
	MerchantNotes flex.String `json:"merchant_notes"`
}

// mapList converts a wire list, always returning a non-nil slice so that a
// missing list reaches clients as [] rather than null.
func mapList[W, D any](in []W, f func(*W) D) []D {
	out := make([]D, len(in))
	for i := range in {
		out[i] = f(&in[i])
	}
	return out
}

// mapPtr converts an optional wire section; nil stays nil.
func mapPtr[W, D any](in *W, f func(*W) D) *D {
	if in == nil {
		return nil
	}
	d := f(in)
	return &d
}

func (w *wireOrder) toDomain() *order.Order {
	return &order.Order{
		ID:              uint64(w.OrderID),
		Status:          lookup(orderStatuses, w.Status.V, order.StatusUnknown),
		StatusCode:      w.Status.V,
		CreateTime:      w.CreateTime.Ptr(),
		UpdateTime:      w.UpdateTime.Ptr(),
		Openid:          w.Openid.Ptr(),
		OrderType:       lookup(orderTypes, w.OrderType.V, order.TypeUnknown),
		OrderTypeCode:   w.OrderType.V,
		OrderDetail:     mapPtr(w.OrderDetail, (*wireOrderDetail).toDomain),
		AftersaleDetail: mapPtr(w.AftersaleDetail, (*wireAfterSaleDetail).toDomain),
		ExtInfo:         mapPtr(w.ExtInfo, (*wireExtInfo).toDomain),
	}
}

func (w *wireOrderDetail) toDomain() order.OrderDetail {
	return order.OrderDetail{
		ProductInfos:   mapList(w.ProductInfos, (*wireProductInfo).toDomain),
		PriceInfo:      mapPtr(w.PriceInfo, (*wirePriceInfo).toDomain),
		PayInfo:        mapPtr(w.PayInfo, (*wirePayInfo).toDomain),
		DeliveryInfo:   mapPtr(w.DeliveryInfo, (*wireDeliveryInfo).toDomain),
		CouponInfo:     mapPtr(w.CouponInfo, (*wireCouponInfo).toDomain),
		CouponcodeInfo: mapPtr(w.CouponcodeInfo, (*wireCouponCodeInfo).toDomain),
	}
}

func (w *wireProductInfo) toDomain() order.ProductInfo {
	return order.ProductInfo{
		ProductID:             uint64(w.ProductID),
		OutProductID:          w.OutProductID.Ptr(),
		SkuID:                 uint64(w.SkuID),
		OutSkuID:              w.OutSkuID.Ptr(),
		ThumbImg:              w.ThumbImg.Ptr(),
		SkuCnt:                w.SkuCnt.V,
		SalePrice:             w.SalePrice.V,
		Title:                 w.Title.Ptr(),
		SkuAttrs:              mapList(w.SkuAttrs, (*wireAttrInfo).toDomain),
		OnAftersaleSkuCnt:     w.OnAftersaleSkuCnt.V,
		FinishAftersaleSkuCnt: w.FinishAftersaleSkuCnt.V,
		SkuCode:               w.SkuCode.Ptr(),
		MarketPrice:           w.MarketPrice.Ptr(),
	}
}

func (w *wireAttrInfo) toDomain() order.AttrInfo {
	return order.AttrInfo{AttrKey: w.AttrKey.V, AttrValue: w.AttrValue.V}
}

func (w *wirePayInfo) toDomain() order.PayInfo {
	return order.PayInfo{
		PayMethod:     w.PayMethod.Ptr(),
		PrepayID:      w.PrepayID.Ptr(),
		PrepayTime:    w.PrepayTime.Ptr(),
		PayTime:       w.PayTime.Ptr(),
		TransactionID: w.TransactionID.Ptr(),
	}
}

func (w *wirePriceInfo) toDomain() order.PriceInfo {
	return order.PriceInfo{
		ProductPrice:         w.ProductPrice.V,
		OrderPrice:           w.OrderPrice.V,
		Freight:              w.Freight.V,
		DiscountedPrice:      w.DiscountedPrice.Ptr(),
		IsDiscounted:         w.IsDiscounted.V,
		OriginalOrderPrice:   w.OriginalOrderPrice.Ptr(),
		EstimateProductPrice: w.EstimateProductPrice.Ptr(),
		ChangeDownPrice:      w.ChangeDownPrice.Ptr(),
		ChangeFreight:        w.ChangeFreight.Ptr(),
		IsChangeFreight:      w.IsChangeFreight.Ptr(),
		BuyerInsurancePrice:  w.BuyerInsurancePrice.Ptr(),
	}
}

func (w *wireCouponInfo) toDomain() order.CouponInfo {
	return order.CouponInfo{CouponID: mapList(w.CouponID, func(id *flex.ID) uint64 { return uint64(*id) })}
}

func (w *wireDeliveryInfo) toDomain() order.DeliveryInfo {
	return order.DeliveryInfo{
		AddressInfo:         mapPtr(w.AddressInfo, (*wireAddressInfo).toDomain),
		DeliveryMethod:      w.DeliveryMethod.Ptr(),
		ExpressFee:          mapList(w.ExpressFee, (*wireExpressFee).toDomain),
		DeliveryProductInfo: mapList(w.DeliveryProductInfo, (*wireDeliveryProductInfo).toDomain),
		ShipDoneTime:        w.ShipDoneTime.Ptr(),
		InsuranceInfo:       mapPtr(w.InsuranceInfo, (*wireInsuranceInfo).toDomain),
		DeliverType:         deliveryType(w.DeliverType),
		OfflineDeliveryTime: w.OfflineDeliveryTime.Ptr(),
		OfflinePickupTime:   w.OfflinePickupTime.Ptr(),
		PickupAddress:       mapPtr(w.PickupAddress, (*wireAddressInfo).toDomain),
	}
}

func (w *wireExpressFee) toDomain() order.DeliveryExpressFee {
	return order.DeliveryExpressFee{ShippingMethod: lookup(shippingMethods, w.ShippingMethod.V, order.ShippingUnknown)}
}

func (w *wireDeliveryProductInfo) toDomain() order.DeliveryProductInfo {
	return order.DeliveryProductInfo{
		WaybillID:       w.WaybillID.Ptr(),
		DeliveryID:      w.DeliveryID.Ptr(),
		ProductInfos:    mapList(w.ProductInfos, (*wireFreightProductInfo).toDomain),
		DeliveryName:    w.DeliveryName.Ptr(),
		DeliveryTime:    w.DeliveryTime.Ptr(),
		DeliverType:     deliveryType(w.DeliverType),
		DeliveryAddress: mapPtr(w.DeliveryAddress, (*wireAddressInfo).toDomain),
	}
}

func (w *wireFreightProductInfo) toDomain() order.FreightProductInfo {
	return order.FreightProductInfo{ProductID: uint64(w.ProductID), SkuID: uint64(w.SkuID), ProductCnt: w.ProductCnt.V}
}

func (w *wireInsuranceInfo) toDomain() order.InsuranceInfo {
	return order.InsuranceInfo{Type: lookup(insuranceTypes, w.Type.V, order.InsuranceUnknown), InsurancePrice: w.InsurancePrice.V}
}

func (w *wireAddressInfo) toDomain() order.AddressInfo {
	return order.AddressInfo{
		UserName:     w.UserName.Ptr(),
		PostalCode:   w.PostalCode.Ptr(),
		ProvinceName: w.ProvinceName.Ptr(),
		CityName:     w.CityName.Ptr(),
		CountyName:   w.CountyName.Ptr(),
		DetailInfo:   w.DetailInfo.Ptr(),
		NationalCode: w.NationalCode.Ptr(),
		TelNumber:    w.TelNumber.Ptr(),
		HouseNumber:  w.HouseNumber.Ptr(),
	}
}

func (w *wireCouponCodeInfo) toDomain() order.CouponCodeInfo {
	var verify *order.VerifyType
	if w.VerifyType.Set {
		v := lookup(verifyTypes, w.VerifyType.V, order.VerifyUnknown)
		verify = &v
	}
	return order.CouponCodeInfo{
		StartTime:        w.StartTime.Ptr(),
		EndTime:          w.EndTime.Ptr(),
		VerifyType:       verify,
		PhoneNumber:      w.PhoneNumber.Ptr(),
		VerifierNickname: w.VerifierNickname.Ptr(),
		VerifyTime:       w.VerifyTime.Ptr(),
	}
}

func (w *wireAfterSaleDetail) toDomain() order.AfterSaleDetail {
	return order.AfterSaleDetail{
		OnAftersaleOrderCnt: w.OnAftersaleOrderCnt.V,
		AftersaleOrderList:  mapList(w.AftersaleOrderList, (*wireAfterSaleOrderInfo).toDomain),
	}
}

func (w *wireAfterSaleOrderInfo) toDomain() order.AfterSaleOrderInfo {
	return order.AfterSaleOrderInfo{AftersaleOrderID: uint64(w.AftersaleOrderID), Status: w.Status.V}
}

func (w *wireExtInfo) toDomain() order.ExtInfo {
	return order.ExtInfo{CustomerNotes: w.CustomerNotes.Ptr(), MerchantNotes: w.MerchantNotes.Ptr()}
}

// deliveryType maps an optional deliver_type; absent or "" stays nil.
func deliveryType(s flex.String) *order.DeliveryType {
	if s.V == "" {
		return nil
	}
	t := lookup(deliveryTypes, s.V, order.DeliveryUnknown)
	return &t
}
