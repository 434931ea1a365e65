package sandbox

import (
	_ "embed"
	"encoding/json"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The WeChat Store family's fake: /channels/ec/order/get, list/get and
// search, and /channels/ec/aftersale/getaftersaleorder. It serves the same
// orders as the Mini Shop fake (the catalogue, and a generated order for any
// other id from 1000 up), in the Store's shape, and the Store doc's example
// order at StoreVendorExampleID: ids as strings, times in
// Unix seconds, the payment method a code, the notes in order_detail, the
// after-sale ids the other way round. Its list/get and search follow the
// Store's rules (rules.go).

// StoreVendorExample is the example answer of the Store's order/get doc,
// verbatim. The Store sandbox serves it at StoreVendorExampleID.
//
//go:embed store_vendor_example.json
var StoreVendorExample []byte

// StoreVendorExampleID is the order id of StoreVendorExample.
const StoreVendorExampleID = 3705115058471208928

// storeStatuses maps the Mini Shop statuses the generator uses onto the
// Store's: Mini Shop's 181 (cancelled when payment timed out) is the
// Store's 250.
var storeStatuses = map[int64]int64{181: 250}

// storeOrder is o, a generated order in Mini Shop's shape, in the Store's.
func storeOrder(o map[string]any) map[string]any {
	detail := maps.Clone(o["order_detail"].(map[string]any))
	delivery := maps.Clone(detail["delivery_info"].(map[string]any))
	products := []map[string]any{}
	for _, p := range detail["product_infos"].([]map[string]any) {
		p = maps.Clone(p)
		p["product_id"], p["sku_id"] = idText(p["product_id"]), idText(p["sku_id"])
		p["real_price"] = p["sale_price"].(int64) * p["sku_cnt"].(int64)
		delete(p, "out_product_id")
		products = append(products, p)
	}
	detail["product_infos"] = products
	if pay, ok := detail["pay_info"].(map[string]any); ok {
		detail["pay_info"] = map[string]any{
			"prepay_id": pay["prepay_id"], "transaction_id": pay["transaction_id"], "payment_method": 1,
			"prepay_time": unixOf(pay["prepay_time"]), "pay_time": unixOf(pay["pay_time"]),
		}
	}
	parcels := []map[string]any{}
	for _, p := range delivery["delivery_product_info"].([]map[string]any) {
		items := []map[string]any{}
		for _, item := range p["product_infos"].([]map[string]any) {
			items = append(items, map[string]any{"product_id": idText(item["product_id"]), "sku_id": idText(item["sku_id"]), "product_cnt": item["product_cnt"]})
		}
		parcels = append(parcels, map[string]any{
			"waybill_id": p["waybill_id"], "delivery_id": p["delivery_id"], "delivery_name": p["delivery_name"],
			"delivery_time": p["delivery_time"], "deliver_type": 1, "product_infos": items,
		})
	}
	detail["delivery_info"] = map[string]any{
		"address_info": delivery["address_info"], "delivery_product_info": parcels,
		"ship_done_time": delivery["ship_done_time"], "deliver_method": 0,
	}
	detail["ext_info"] = o["ext_info"]
	status := o["status"].(int64)
	if s, ok := storeStatuses[status]; ok {
		status = s
	}
	after := maps.Clone(o["aftersale_detail"].(map[string]any))
	if list, ok := after["aftersale_order_list"].([]map[string]any); ok {
		texts := []map[string]any{}
		for _, a := range list {
			texts = append(texts, map[string]any{"aftersale_order_id": idText(a["aftersale_order_id"]), "status": a["status"]})
		}
		after["aftersale_order_list"] = texts
	}
	return map[string]any{
		"order_id": idText(o["order_id"]), "status": status,
		"create_time": unixOf(o["create_time"]), "update_time": unixOf(o["update_time"]),
		"openid": o["openid"], "unionid": "oSandboxUnion" + strings.TrimPrefix(o["openid"].(string), "oSandbox"),
		"order_detail": detail, "aftersale_detail": after,
	}
}

func idText(v any) string {
	switch v := v.(type) {
	case uint64:
		return strconv.FormatUint(v, 10)
	case int:
		return strconv.Itoa(v)
	}
	return v.(string)
}

// unixOf turns the generator's wall-clock text into Unix seconds.
func unixOf(v any) int64 {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", v.(string), china)
	if err != nil {
		return 0
	}
	return t.Unix()
}

func (s *Sandbox) storeOrderGet(w http.ResponseWriter, r *http.Request) {
	id, bad := StoreRequestID(r, "order_id")
	if bad != 0 {
		WriteJSON(w, errcode(bad, "invalid args"))
		return
	}
	if o, ok := s.writtenOrder(StoreShape, id); ok {
		answerOrder(w, o)
		return
	}
	if id == StoreVendorExampleID {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(StoreVendorExample)
		return
	}
	o := s.unwrittenOrder(StoreShape, id)
	if o == nil {
		WriteJSON(w, errcode(100002, "order not exist"))
		return
	}
	WriteJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "order": o})
}

func (s *Sandbox) storeAfterSaleGet(w http.ResponseWriter, r *http.Request) {
	id, bad := StoreRequestID(r, "after_sale_order_id")
	if bad != 0 {
		WriteJSON(w, errcode(bad, "invalid args"))
		return
	}
	record, ok := (shop{s, StoreShape}).AfterSale(id)
	if !ok {
		WriteJSON(w, errcode(10020000, "aftersale order not exist"))
		return
	}
	WriteJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "after_sale_order": json.RawMessage(record)})
}

// storeAfterSale is a, a generated after-sale record in Mini Shop's shape,
// in the Store's: the ids the other way round and as strings, the reason a
// code with its text.
func storeAfterSale(a map[string]any) map[string]any {
	return map[string]any{
		"after_sale_order_id": idText(a["order_id"]), "order_id": idText(a["original_order_id"]),
		"status": a["status"], "type": a["type"], "openid": a["openid"],
		"product_info": map[string]any{"product_id": "234245", "sku_id": "23424", "count": a["product_info"].(map[string]any)["count"]},
		"details":      map[string]any{"desc": "", "receive_product": false, "cancel_time": 0, "media_id_list": []any{}, "tel_number": ""},
		"refund_info":  a["refund_info"], "reason": "10000039", "reason_text": "不想要了",
		"create_time": a["create_time"], "update_time": a["update_time"],
	}
}

// storeOrderList and storeOrderSearch answer from the catalogue by the
// Store's rules (rules.go); the search names its ids "orders", as the
// vendor's own example does.
func (s *Sandbox) storeOrderList(w http.ResponseWriter, r *http.Request) {
	s.answerList(w, r, StoreList, s.catalogue.storeRows)
}

func (s *Sandbox) storeOrderSearch(w http.ResponseWriter, r *http.Request) {
	s.answerList(w, r, func(req []byte, orders []Order) any { return StoreSearch(req, orders, SearchAnswer{}) }, s.catalogue.storeRows)
}
