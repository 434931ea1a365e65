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
// after-sale ids the other way round. Like the real API, list/get refuses
// ranges over 7 days, search refuses a condition without a text key, and
// a status filter also matches its neighbours.

// StoreVendorExample is the example answer of the Store's order/get doc,
// verbatim. The Store sandbox serves it at StoreVendorExampleID.
//
//go:embed store_vendor_example.json
var StoreVendorExample []byte

// StoreVendorExampleID is the order id of StoreVendorExample.
const StoreVendorExampleID = 3705115058471208928

// Store paging limits, as the vendor documents them.
const (
	storeMaxWindow   = 7 * 24 * 60 * 60
	storeMaxPageSize = 100
)

// storeStatuses maps the Mini Shop statuses the generator uses onto the
// Store's: Mini Shop's 181 (cancelled when payment timed out) is the
// Store's 250.
var storeStatuses = map[int64]int64{181: 250}

// storeNeighbours is what a status filter also matches on the Store.
var storeNeighbours = map[int64][]int64{20: {21}, 30: {21}, 250: {190, 200}}

func storeStatusMatches(filter *int64, status int64) bool {
	if filter == nil || *filter == status {
		return true
	}
	for _, n := range storeNeighbours[*filter] {
		if n == status {
			return true
		}
	}
	return false
}

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

// readStoreRequest decodes a Store request body, answering 47001 as the
// Store does when it does not parse.
func readStoreRequest(w http.ResponseWriter, r *http.Request, req any) bool {
	if err := json.NewDecoder(r.Body).Decode(req); err != nil {
		writeJSON(w, errcode(47001, "data format error"))
		return false
	}
	return true
}

// storeID reads a Store id, sent as a decimal string (numbers are accepted).
func storeID(raw json.RawMessage) (uint64, bool) {
	id, err := strconv.ParseUint(strings.Trim(string(raw), `"`), 10, 64)
	return id, err == nil && id != 0
}

func (s *Sandbox) storeOrderGet(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OrderID json.RawMessage `json:"order_id"`
	}
	if !readStoreRequest(w, r, &req) {
		return
	}
	id, ok := storeID(req.OrderID)
	switch {
	case !ok:
		writeJSON(w, errcode(40097, "invalid args"))
	case id == StoreVendorExampleID:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(StoreVendorExample)
	case id < 1000 || id == VendorExampleID || (id >= 900000 && id < 1000000):
		writeJSON(w, errcode(100002, "order not exist"))
	default:
		o, listed := s.catalogue.storeByID[id]
		if !listed {
			o = storeOrder(Generate(id))
		}
		writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "order": o})
	}
}

func (s *Sandbox) storeAfterSaleGet(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID json.RawMessage `json:"after_sale_order_id"`
	}
	if !readStoreRequest(w, r, &req) {
		return
	}
	id, ok := storeID(req.ID)
	switch {
	case !ok:
		writeJSON(w, errcode(40097, "invalid args"))
	case id < 1000:
		writeJSON(w, errcode(10020000, "aftersale order not exist"))
	default:
		a := GenerateAfterSale(id)
		writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "after_sale_order": map[string]any{
			"after_sale_order_id": idText(a["order_id"]), "order_id": idText(a["original_order_id"]),
			"status": a["status"], "type": a["type"], "openid": a["openid"],
			"product_info": map[string]any{"product_id": "234245", "sku_id": "23424", "count": a["product_info"].(map[string]any)["count"]},
			"details":      map[string]any{"desc": "", "receive_product": false, "cancel_time": 0, "media_id_list": []any{}, "tel_number": ""},
			"refund_info":  a["refund_info"], "reason": "10000039", "reason_text": "不想要了",
			"create_time": a["create_time"], "update_time": a["update_time"],
		}})
	}
}

type storeTimeRange struct {
	Start int64 `json:"start_time"`
	End   int64 `json:"end_time"`
}

// storeOrderList answers list/get from the catalogue: the ids of the orders
// whose create_time (or update_time) is in the inclusive range, of the
// status (and its neighbours) and buyer when asked, a page of them.
func (s *Sandbox) storeOrderList(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Created  *storeTimeRange `json:"create_time_range"`
		Updated  *storeTimeRange `json:"update_time_range"`
		Status   *int64          `json:"status"`
		Openid   string          `json:"openid"`
		PageSize int             `json:"page_size"`
		NextKey  string          `json:"next_key"`
	}
	if !readStoreRequest(w, r, &req) {
		return
	}
	field, rng := "create_time", req.Created
	if req.Updated != nil {
		field, rng = "update_time", req.Updated
	}
	if rng == nil || rng.End < rng.Start || rng.End-rng.Start > storeMaxWindow || req.PageSize < 1 || req.PageSize > storeMaxPageSize {
		writeJSON(w, errcode(40097, "invalid args: time range over 7 days, or bad page_size"))
		return
	}
	var ids []string
	for _, st := range s.catalogue.storeOrders {
		at := st[field].(int64)
		if at >= rng.Start && at <= rng.End && storeStatusMatches(req.Status, st["status"].(int64)) && (req.Openid == "" || st["openid"] == req.Openid) {
			ids = append(ids, st["order_id"].(string))
		}
	}
	writeStorePage(w, "order_id_list", ids, req.NextKey, req.PageSize)
}

type storeSearchCondition struct {
	Title         string `json:"title"`
	SkuCode       string `json:"sku_code"`
	UserName      string `json:"user_name"`
	TelLast4      string `json:"tel_number_last4"`
	OrderID       string `json:"order_id"`
	MerchantNotes string `json:"merchant_notes"`
	CustomerNotes string `json:"customer_notes"`
}

// storeOrderSearch answers search from the catalogue. Its answer names the
// ids "orders", as the vendor's own example does.
func (s *Sandbox) storeOrderSearch(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Condition   storeSearchCondition `json:"search_condition"`
		OnAftersale *int                 `json:"on_aftersale_order_exist"`
		Status      *int64               `json:"status"`
		PageSize    int                  `json:"page_size"`
		NextKey     string               `json:"next_key"`
	}
	if !readStoreRequest(w, r, &req) {
		return
	}
	c := req.Condition
	if c == (storeSearchCondition{}) || req.PageSize < 1 || req.PageSize > storeMaxPageSize {
		writeJSON(w, errcode(40097, "invalid args: search_condition needs a key"))
		return
	}
	var ids []string
	for _, st := range s.catalogue.storeOrders {
		detail := st["order_detail"].(map[string]any)
		address := detail["delivery_info"].(map[string]any)["address_info"].(map[string]any)
		notes := detail["ext_info"].(map[string]any)
		titled, coded := c.Title == "", c.SkuCode == ""
		for _, p := range detail["product_infos"].([]map[string]any) {
			titled = titled || strings.Contains(p["title"].(string), c.Title)
			coded = coded || p["sku_code"] == c.SkuCode
		}
		inProgress := st["aftersale_detail"].(map[string]any)["on_aftersale_order_cnt"] != 0
		switch {
		case !titled, !coded,
			c.UserName != "" && address["user_name"] != c.UserName,
			c.TelLast4 != "" && !strings.HasSuffix(address["tel_number"].(string), c.TelLast4),
			c.OrderID != "" && st["order_id"] != c.OrderID,
			c.MerchantNotes != "" && !strings.Contains(notes["merchant_notes"].(string), c.MerchantNotes),
			c.CustomerNotes != "" && !strings.Contains(notes["customer_notes"].(string), c.CustomerNotes),
			req.OnAftersale != nil && inProgress != (*req.OnAftersale == 1),
			!storeStatusMatches(req.Status, st["status"].(int64)):
			continue
		}
		ids = append(ids, st["order_id"].(string))
	}
	writeStorePage(w, "orders", ids, req.NextKey, req.PageSize)
}

// writeStorePage answers size ids from the position next_key names (an
// offset here; opaque to the client, as on the Store).
func writeStorePage(w http.ResponseWriter, key string, ids []string, nextKey string, size int) {
	start := 0
	if nextKey != "" {
		n, err := strconv.Atoi(nextKey)
		if err != nil || n < 0 {
			writeJSON(w, errcode(40097, "invalid args: next_key"))
			return
		}
		start = min(n, len(ids))
	}
	end := min(start+size, len(ids))
	page := ids[start:end]
	if page == nil {
		page = []string{}
	}
	writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", key: page, "next_key": strconv.Itoa(end), "has_more": end < len(ids)})
}
