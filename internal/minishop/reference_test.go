package minishop

// The decoder this package had before the one-pass decoder: encoding/json
// into wire structs of tolerant types, then a copy into the domain model.
// It is kept, verbatim but for one fix (an empty object is an empty list
// whatever its spacing), as the reference FuzzDecoderMatchesReference holds
// the one-pass decoder to.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wechat/orderjson"
)

// decodeReference decodes body for id as the old decoder did: a nil order
// and a nil error never come together.
func decodeReference(body []byte, id uint64) (*order.Order, error) {
	var resp wireResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, err
	}
	status := wechat.Status{}
	status.Errcode.V, status.Errcode.Set = resp.Errcode.V, resp.Errcode.Set
	status.Errmsg.V, status.Errmsg.Set = resp.Errmsg.V, resp.Errmsg.Set
	if err := status.Err(errcodes); err != nil {
		return nil, err
	}
	if resp.Order == nil {
		return orderjson.Result(nil, id)
	}
	o := resp.Order.toDomain()
	if o.ID == 0 {
		o.ID = id
	}
	// The one field added since: derived from the text the reference read.
	if o.OrderDetail != nil && o.OrderDetail.PayInfo != nil {
		o.OrderDetail.PayInfo.PaymentMethod = paymentMethod(o.OrderDetail.PayInfo.PayMethod)
	}
	return o, nil
}

// scalarText returns the text of a JSON string or number, "" for null.
func scalarText(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		return "", nil
	case b[0] == '"':
		s, err := unquote(b)
		return strings.TrimSpace(s), err
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		return string(b), nil
	}
	return "", fmt.Errorf("want a string or a number, got %.20s", b)
}

// unquote decodes a JSON string literal that the decoder has already
// validated. Plain text (the common case) is sliced out directly; escapes
// and invalid UTF-8 go through encoding/json for its exact semantics.
func unquote(b []byte) (string, error) {
	inner := b[1 : len(b)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), nil
	}
	var s string
	err := json.Unmarshal(b, &s)
	return s, err
}

// flexInt is an integer (count, amount in fen, code) sent as a number or a
// numeric string. Set is false when the field was null or "".
type flexInt struct {
	V   int64
	Set bool
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s, err := scalarText(b)
	if err != nil || s == "" {
		*f = flexInt{}
		return err
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %.30q", s)
	}
	*f = flexInt{V: v, Set: true}
	return nil
}

func (f flexInt) ptr() *int64 {
	if !f.Set {
		return nil
	}
	v := f.V
	return &v
}

// flexID is a 64-bit identifier sent as a number or a numeric string.
type flexID uint64

func (f *flexID) UnmarshalJSON(b []byte) error {
	s, err := scalarText(b)
	if err != nil || s == "" {
		*f = 0
		return err
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not a 64-bit id: %.30q", s)
	}
	*f = flexID(v)
	return nil
}

// flexString is text that some upstream versions send as a bare number
// (prepay_id, transaction_id); the number's digits are kept as written.
type flexString struct {
	V   string
	Set bool
}

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*f = flexString{}
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		s, err := unquote(b)
		if err != nil {
			return err
		}
		*f = flexString{V: s, Set: true}
		return nil
	}
	s, err := scalarText(b)
	if err != nil {
		return err
	}
	*f = flexString{V: s, Set: true}
	return nil
}

func (f flexString) ptr() *string {
	if !f.Set {
		return nil
	}
	v := f.V
	return &v
}

// flexBool is a boolean, also accepted as 0/1 or "true"/"false".
type flexBool struct {
	V   bool
	Set bool
}

func (f *flexBool) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch string(b) {
	case "true", `"true"`, "1", `"1"`:
		*f = flexBool{V: true, Set: true}
	case "false", `"false"`, "0", `"0"`:
		*f = flexBool{V: false, Set: true}
	case "null", `""`:
		*f = flexBool{}
	default:
		return fmt.Errorf("not a boolean: %.20s", b)
	}
	return nil
}

func (f flexBool) ptr() *bool {
	if !f.Set {
		return nil
	}
	v := f.V
	return &v
}

const wallClockLayout = "2006-01-02 15:04:05"

// flexTime is an instant sent as Unix seconds (number or numeric string) or
// as "yyyy-MM-dd HH:mm:ss" China time. 0, "" and null mean unset.
type flexTime struct {
	T   time.Time
	Set bool
}

func (f *flexTime) UnmarshalJSON(b []byte) error {
	*f = flexTime{}
	s, err := scalarText(b)
	if err != nil || s == "" {
		return err
	}
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
		if secs != 0 {
			*f = flexTime{T: time.Unix(secs, 0).In(order.ChinaTime), Set: true}
		}
		return nil
	}
	t, err := time.ParseInLocation(wallClockLayout, s, order.ChinaTime)
	if err != nil {
		if t, err = time.Parse(time.RFC3339, s); err != nil {
			return fmt.Errorf("not a time: %.30q", s)
		}
	}
	*f = flexTime{T: t, Set: true}
	return nil
}

func (f flexTime) ptr() *time.Time {
	if !f.Set {
		return nil
	}
	t := f.T
	return &t
}

// oneOrMany is a list that the upstream sometimes sends as a single object.
type oneOrMany[T any] []T

func (l *oneOrMany[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")) || isEmptyObject(b):
		*l = nil
		return nil
	case b[0] == '[':
		var items []T
		if err := json.Unmarshal(b, &items); err != nil {
			return err
		}
		*l = items
		return nil
	case b[0] == '{':
		var item T
		if err := json.Unmarshal(b, &item); err != nil {
			return err
		}
		*l = oneOrMany[T]{item}
		return nil
	}
	return errors.New("want an object or an array")
}

// isEmptyObject reports whether b is {} with nothing but whitespace inside:
// an empty list, whatever the spacing.
func isEmptyObject(b []byte) bool {
	return len(b) >= 2 && b[0] == '{' && len(bytes.TrimSpace(b[1:len(b)-1])) == 0 && b[len(b)-1] == '}'
}

// Wire types mirror the JSON of POST /product/order/get field for field; the
// to* methods translate them into the domain model, filling list defaults and
// mapping codes onto enums.

type wireResponse struct {
	Errcode flexInt    `json:"errcode"`
	Errmsg  flexString `json:"errmsg"`
	Order   *wireOrder `json:"order"`
}

type wireOrder struct {
	OrderID         flexID               `json:"order_id"`
	Status          flexInt              `json:"status"`
	CreateTime      flexTime             `json:"create_time"`
	UpdateTime      flexTime             `json:"update_time"`
	Openid          flexString           `json:"openid"`
	OrderType       flexInt              `json:"order_type"`
	OrderDetail     *wireOrderDetail     `json:"order_detail"`
	AftersaleDetail *wireAfterSaleDetail `json:"aftersale_detail"`
	ExtInfo         *wireExtInfo         `json:"ext_info"`
}

type wireOrderDetail struct {
	ProductInfos   oneOrMany[wireProductInfo] `json:"product_infos"`
	PriceInfo      *wirePriceInfo             `json:"price_info"`
	PayInfo        *wirePayInfo               `json:"pay_info"`
	DeliveryInfo   *wireDeliveryInfo          `json:"delivery_info"`
	CouponInfo     *wireCouponInfo            `json:"coupon_info"`
	CouponcodeInfo *wireCouponCodeInfo        `json:"couponcode_info"`
}

type wireProductInfo struct {
	ProductID             flexID                  `json:"product_id"`
	OutProductID          flexString              `json:"out_product_id"`
	SkuID                 flexID                  `json:"sku_id"`
	OutSkuID              flexString              `json:"out_sku_id"`
	ThumbImg              flexString              `json:"thumb_img"`
	SkuCnt                flexInt                 `json:"sku_cnt"`
	SalePrice             flexInt                 `json:"sale_price"`
	Title                 flexString              `json:"title"`
	SkuAttrs              oneOrMany[wireAttrInfo] `json:"sku_attrs"`
	OnAftersaleSkuCnt     flexInt                 `json:"on_aftersale_sku_cnt"`
	FinishAftersaleSkuCnt flexInt                 `json:"finish_aftersale_sku_cnt"`
	SkuCode               flexString              `json:"sku_code"`
	MarketPrice           flexInt                 `json:"market_price"`
}

type wireAttrInfo struct {
	AttrKey   flexString `json:"attr_key"`
	AttrValue flexString `json:"attr_value"`
}

type wirePayInfo struct {
	PayMethod     flexString `json:"pay_method"`
	PrepayID      flexString `json:"prepay_id"`
	PrepayTime    flexTime   `json:"prepay_time"`
	PayTime       flexTime   `json:"pay_time"`
	TransactionID flexString `json:"transaction_id"`
}

type wirePriceInfo struct {
	ProductPrice         flexInt  `json:"product_price"`
	OrderPrice           flexInt  `json:"order_price"`
	Freight              flexInt  `json:"freight"`
	DiscountedPrice      flexInt  `json:"discounted_price"`
	IsDiscounted         flexBool `json:"is_discounted"`
	OriginalOrderPrice   flexInt  `json:"original_order_price"`
	EstimateProductPrice flexInt  `json:"estimate_product_price"`
	ChangeDownPrice      flexInt  `json:"change_down_price"`
	ChangeFreight        flexInt  `json:"change_freight"`
	IsChangeFreight      flexBool `json:"is_change_freight"`
	BuyerInsurancePrice  flexInt  `json:"buyer_insurance_price"`
}

type wireCouponInfo struct {
	CouponID oneOrMany[flexID] `json:"coupon_id"`
}

type wireDeliveryInfo struct {
	AddressInfo         *wireAddressInfo                   `json:"address_info"`
	DeliveryMethod      flexString                         `json:"delivery_method"`
	ExpressFee          oneOrMany[wireExpressFee]          `json:"express_fee"`
	DeliveryProductInfo oneOrMany[wireDeliveryProductInfo] `json:"delivery_product_info"`
	ShipDoneTime        flexTime                           `json:"ship_done_time"`
	InsuranceInfo       *wireInsuranceInfo                 `json:"insurance_info"`
	DeliverType         flexString                         `json:"deliver_type"`
	OfflineDeliveryTime flexTime                           `json:"offline_delivery_time"`
	OfflinePickupTime   flexTime                           `json:"offline_pickup_time"`
	PickupAddress       *wireAddressInfo                   `json:"pickup_address"`
}

type wireExpressFee struct {
	ShippingMethod flexString `json:"shipping_method"`
}

type wireDeliveryProductInfo struct {
	WaybillID       flexString                        `json:"waybill_id"`
	DeliveryID      flexString                        `json:"delivery_id"`
	ProductInfos    oneOrMany[wireFreightProductInfo] `json:"product_infos"`
	DeliveryName    flexString                        `json:"delivery_name"`
	DeliveryTime    flexTime                          `json:"delivery_time"`
	DeliverType     flexString                        `json:"deliver_type"`
	DeliveryAddress *wireAddressInfo                  `json:"delivery_address"`
}

type wireFreightProductInfo struct {
	ProductID  flexID  `json:"product_id"`
	SkuID      flexID  `json:"sku_id"`
	ProductCnt flexInt `json:"product_cnt"`
}

type wireInsuranceInfo struct {
	Type           flexString `json:"type"`
	InsurancePrice flexInt    `json:"insurance_price"`
}

type wireAddressInfo struct {
	UserName     flexString `json:"user_name"`
	PostalCode   flexString `json:"postal_code"`
	ProvinceName flexString `json:"province_name"`
	CityName     flexString `json:"city_name"`
	CountyName   flexString `json:"county_name"`
	DetailInfo   flexString `json:"detail_info"`
	NationalCode flexString `json:"national_code"`
	TelNumber    flexString `json:"tel_number"`
	HouseNumber  flexString `json:"house_number"`
}

type wireCouponCodeInfo struct {
	StartTime        flexTime   `json:"start_time"`
	EndTime          flexTime   `json:"end_time"`
	VerifyType       flexInt    `json:"verify_type"`
	PhoneNumber      flexString `json:"phone_number"`
	VerifierNickname flexString `json:"verifier_nickname"`
	VerifyTime       flexTime   `json:"verify_time"`
}

type wireAfterSaleDetail struct {
	OnAftersaleOrderCnt flexInt                           `json:"on_aftersale_order_cnt"`
	AftersaleOrderList  oneOrMany[wireAfterSaleOrderInfo] `json:"aftersale_order_list"`
}

type wireAfterSaleOrderInfo struct {
	AftersaleOrderID flexID  `json:"aftersale_order_id"`
	Status           flexInt `json:"status"`
}

type wireExtInfo struct {
	CustomerNotes flexString `json:"customer_notes"`
	MerchantNotes flexString `json:"merchant_notes"`
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
		Status:          orderjson.Lookup(orderStatuses, w.Status.V, order.StatusUnknown),
		StatusCode:      w.Status.V,
		CreateTime:      w.CreateTime.ptr(),
		UpdateTime:      w.UpdateTime.ptr(),
		Openid:          w.Openid.ptr(),
		OrderType:       orderjson.Lookup(orderTypes, w.OrderType.V, order.TypeUnknown),
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
		OutProductID:          w.OutProductID.ptr(),
		SkuID:                 uint64(w.SkuID),
		OutSkuID:              w.OutSkuID.ptr(),
		ThumbImg:              w.ThumbImg.ptr(),
		SkuCnt:                w.SkuCnt.V,
		SalePrice:             w.SalePrice.V,
		Title:                 w.Title.ptr(),
		SkuAttrs:              mapList(w.SkuAttrs, (*wireAttrInfo).toDomain),
		OnAftersaleSkuCnt:     w.OnAftersaleSkuCnt.V,
		FinishAftersaleSkuCnt: w.FinishAftersaleSkuCnt.V,
		SkuCode:               w.SkuCode.ptr(),
		MarketPrice:           w.MarketPrice.ptr(),
	}
}

func (w *wireAttrInfo) toDomain() order.AttrInfo {
	return order.AttrInfo{AttrKey: w.AttrKey.V, AttrValue: w.AttrValue.V}
}

func (w *wirePayInfo) toDomain() order.PayInfo {
	return order.PayInfo{
		PayMethod:     w.PayMethod.ptr(),
		PrepayID:      w.PrepayID.ptr(),
		PrepayTime:    w.PrepayTime.ptr(),
		PayTime:       w.PayTime.ptr(),
		TransactionID: w.TransactionID.ptr(),
	}
}

func (w *wirePriceInfo) toDomain() order.PriceInfo {
	return order.PriceInfo{
		ProductPrice:         w.ProductPrice.V,
		OrderPrice:           w.OrderPrice.V,
		Freight:              w.Freight.V,
		DiscountedPrice:      w.DiscountedPrice.ptr(),
		IsDiscounted:         w.IsDiscounted.V,
		OriginalOrderPrice:   w.OriginalOrderPrice.ptr(),
		EstimateProductPrice: w.EstimateProductPrice.ptr(),
		ChangeDownPrice:      w.ChangeDownPrice.ptr(),
		ChangeFreight:        w.ChangeFreight.ptr(),
		IsChangeFreight:      w.IsChangeFreight.ptr(),
		BuyerInsurancePrice:  w.BuyerInsurancePrice.ptr(),
	}
}

func (w *wireCouponInfo) toDomain() order.CouponInfo {
	return order.CouponInfo{CouponID: mapList(w.CouponID, func(id *flexID) uint64 { return uint64(*id) })}
}

func (w *wireDeliveryInfo) toDomain() order.DeliveryInfo {
	return order.DeliveryInfo{
		AddressInfo:         mapPtr(w.AddressInfo, (*wireAddressInfo).toDomain),
		DeliveryMethod:      w.DeliveryMethod.ptr(),
		ExpressFee:          mapList(w.ExpressFee, (*wireExpressFee).toDomain),
		DeliveryProductInfo: mapList(w.DeliveryProductInfo, (*wireDeliveryProductInfo).toDomain),
		ShipDoneTime:        w.ShipDoneTime.ptr(),
		InsuranceInfo:       mapPtr(w.InsuranceInfo, (*wireInsuranceInfo).toDomain),
		DeliverType:         refDeliveryType(w.DeliverType),
		OfflineDeliveryTime: w.OfflineDeliveryTime.ptr(),
		OfflinePickupTime:   w.OfflinePickupTime.ptr(),
		PickupAddress:       mapPtr(w.PickupAddress, (*wireAddressInfo).toDomain),
	}
}

func (w *wireExpressFee) toDomain() order.DeliveryExpressFee {
	return order.DeliveryExpressFee{ShippingMethod: orderjson.Lookup(shippingMethods, w.ShippingMethod.V, order.ShippingUnknown)}
}

func (w *wireDeliveryProductInfo) toDomain() order.DeliveryProductInfo {
	return order.DeliveryProductInfo{
		WaybillID:       w.WaybillID.ptr(),
		DeliveryID:      w.DeliveryID.ptr(),
		ProductInfos:    mapList(w.ProductInfos, (*wireFreightProductInfo).toDomain),
		DeliveryName:    w.DeliveryName.ptr(),
		DeliveryTime:    w.DeliveryTime.ptr(),
		DeliverType:     refDeliveryType(w.DeliverType),
		DeliveryAddress: mapPtr(w.DeliveryAddress, (*wireAddressInfo).toDomain),
	}
}

func (w *wireFreightProductInfo) toDomain() order.FreightProductInfo {
	return order.FreightProductInfo{ProductID: uint64(w.ProductID), SkuID: uint64(w.SkuID), ProductCnt: w.ProductCnt.V}
}

func (w *wireInsuranceInfo) toDomain() order.InsuranceInfo {
	return order.InsuranceInfo{Type: orderjson.Lookup(insuranceTypes, w.Type.V, order.InsuranceUnknown), InsurancePrice: w.InsurancePrice.V}
}

func (w *wireAddressInfo) toDomain() order.AddressInfo {
	return order.AddressInfo{
		UserName:     w.UserName.ptr(),
		PostalCode:   w.PostalCode.ptr(),
		ProvinceName: w.ProvinceName.ptr(),
		CityName:     w.CityName.ptr(),
		CountyName:   w.CountyName.ptr(),
		DetailInfo:   w.DetailInfo.ptr(),
		NationalCode: w.NationalCode.ptr(),
		TelNumber:    w.TelNumber.ptr(),
		HouseNumber:  w.HouseNumber.ptr(),
	}
}

func (w *wireCouponCodeInfo) toDomain() order.CouponCodeInfo {
	var verify *order.VerifyType
	if w.VerifyType.Set {
		v := orderjson.Lookup(verifyTypes, w.VerifyType.V, order.VerifyUnknown)
		verify = &v
	}
	return order.CouponCodeInfo{
		StartTime:        w.StartTime.ptr(),
		EndTime:          w.EndTime.ptr(),
		VerifyType:       verify,
		PhoneNumber:      w.PhoneNumber.ptr(),
		VerifierNickname: w.VerifierNickname.ptr(),
		VerifyTime:       w.VerifyTime.ptr(),
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
	return order.ExtInfo{CustomerNotes: w.CustomerNotes.ptr(), MerchantNotes: w.MerchantNotes.ptr()}
}

// refDeliveryType maps an optional deliver_type; absent or "" stays nil.
func refDeliveryType(s flexString) *order.DeliveryType {
	if s.V == "" {
		return nil
	}
	t := orderjson.Lookup(deliveryTypes, s.V, order.DeliveryUnknown)
	return &t
}
