package sandbox

import (
	"net/http"
	"slices"
)

// The read-only calls the write calls need, with the answers a shop would
// have: WeChat's carriers, and on the WeChat Store its reasons to reject an
// after-sale request and the shop's return addresses. Both fakes serve them
// (see Lookups).

// carriers are the delivery companies a parcel may name, as WeChat lists
// them; OTHER names one not listed.
var carriers = []struct{ id, name string }{
	{"SF", "顺丰速运"}, {"ZTO", "中通快递"}, {"YTO", "圆通速递"}, {"YUNDA", "韵达快递"}, {"JTSD", "极兔速递"},
	{"STO", "申通快递"}, {"JD", "京东快递"}, {"EMS", "中国邮政速递物流"}, {"DBL", "德邦快递"}, {"OTHER", "其他"},
}

// CarrierName is the name of the carrier with delivery id, "" for none.
func CarrierName(deliveryID string) string {
	if i := slices.IndexFunc(carriers, func(c struct{ id, name string }) bool { return c.id == deliveryID }); i >= 0 {
		return carriers[i].name
	}
	return ""
}

// companyList is the carriers as both families answer them; ewaybillOnly
// leaves out OTHER, which prints no electronic waybill.
func companyList(ewaybillOnly bool) []map[string]any {
	list := []map[string]any{}
	for _, c := range carriers {
		if !ewaybillOnly || c.id != "OTHER" {
			list = append(list, map[string]any{"delivery_id": c.id, "delivery_name": c.name})
		}
	}
	return list
}

type reason struct {
	reasonType int64
	typeText   string
	text       string
	scenes     []int
}

// rejectReasons are the Store's reasons to reject an after-sale request.
var rejectReasons = []reason{
	{1, "商品已影响二次销售", "退回的商品已使用或损坏,影响二次销售", []int{1, 4}},
	{2, "买家未退货", "未收到买家退回的商品", []int{4}},
	{3, "已与买家协商一致", "已与买家协商一致不退款", []int{1, 2, 4}},
	{4, "其他", "其他原因", []int{1, 2, 4}},
}

func rejectReason(reasonType int64) *reason {
	if i := slices.IndexFunc(rejectReasons, func(r reason) bool { return r.reasonType == reasonType }); i >= 0 {
		return &rejectReasons[i]
	}
	return nil
}

// DefaultReturnAddressID is the Store sandbox's default return address, one
// an accepted return may name.
const DefaultReturnAddressID = "7001"

// returnAddresses are the Store shop's return addresses.
var returnAddresses = []map[string]any{
	{"address_id": DefaultReturnAddressID, "name": "杭州退货仓", "default_recv": 1, "default_send": 0, "address_info": map[string]any{
		"user_name": "售后组", "postal_code": "310000", "province_name": "浙江省", "city_name": "杭州市", "county_name": "余杭区",
		"detail_info": "文一西路 969 号 3 号仓", "national_code": "330110", "tel_number": "0571-88880001"}},
	{"address_id": "7002", "name": "广州退货仓", "default_recv": 0, "default_send": 1, "address_info": map[string]any{
		"user_name": "仓库管理员", "postal_code": "510000", "province_name": "广东省", "city_name": "广州市", "county_name": "海珠区",
		"detail_info": "新港东路 1000 号 B 栋", "national_code": "440105", "tel_number": "020-88880002"}},
}

func returnAddress(id string) map[string]any {
	if i := slices.IndexFunc(returnAddresses, func(a map[string]any) bool { return a["address_id"] == id }); i >= 0 {
		return returnAddresses[i]
	}
	return nil
}

// Lookups are the read-only calls of shape's family that its write calls
// need, by path. They check no token: a fake serves them behind its own
// check, as it does its other calls.
func Lookups(shape Shape) map[string]http.HandlerFunc {
	if shape == MiniShopShape {
		return map[string]http.HandlerFunc{
			// The doc wraps the list in data; WeChat answers it at the top.
			"/product/delivery/get_company_list": func(w http.ResponseWriter, r *http.Request) {
				WriteJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "company_list": companyList(false)})
			},
		}
	}
	return map[string]http.HandlerFunc{
		"/channels/ec/order/deliverycompanylist/new/get": storeCompanyList,
		"/channels/ec/aftersale/rejectreason/get":        storeRejectReasons,
		"/channels/ec/merchant/address/list":             storeAddressList,
		"/channels/ec/merchant/address/get":              storeAddressGet,
	}
}

// storeCompanyList needs ewaybill_only, as the Store does.
func storeCompanyList(w http.ResponseWriter, r *http.Request) {
	body, ok := requestBody(r)
	ewaybillOnly, isBool := body["ewaybill_only"].(bool)
	switch {
	case !ok:
		WriteJSON(w, errcode(47001, "data format error"))
	case !isBool:
		WriteJSON(w, errcode(40097, "invalid args: ewaybill_only"))
	default:
		WriteJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "company_list": companyList(ewaybillOnly)})
	}
}

// storeRejectReasons answers under reject_reason_list, the key the live
// API uses (the doc's is reason_list).
func storeRejectReasons(w http.ResponseWriter, _ *http.Request) {
	list := []map[string]any{}
	for _, r := range rejectReasons {
		list = append(list, map[string]any{"reject_reason_type": r.reasonType, "reject_reason_type_text": r.typeText, "reject_reason": r.text, "reject_scene": r.scenes})
	}
	WriteJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "reject_reason_list": list})
}

// storeAddressList pages the address ids from offset, limit at a time.
func storeAddressList(w http.ResponseWriter, r *http.Request) {
	body, ok := requestBody(r)
	if !ok {
		WriteJSON(w, errcode(47001, "data format error"))
		return
	}
	offset, limit := intOf(body["offset"]), intOf(body["limit"])
	if offset < 0 || limit <= 0 {
		WriteJSON(w, errcode(40097, "invalid args: offset or limit"))
		return
	}
	n := int64(len(returnAddresses))
	start := min(offset, n)
	ids := []string{}
	for _, a := range returnAddresses[start : start+min(limit, n-start)] {
		ids = append(ids, a["address_id"].(string))
	}
	WriteJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "address_id_list": ids})
}

func storeAddressGet(w http.ResponseWriter, r *http.Request) {
	body, ok := requestBody(r)
	id, _ := body["address_id"].(string)
	a := returnAddress(id)
	switch {
	case !ok:
		WriteJSON(w, errcode(47001, "data format error"))
	case a == nil:
		WriteJSON(w, errcode(40097, "invalid args: address_id"))
	default:
		WriteJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "address_detail": a})
	}
}
