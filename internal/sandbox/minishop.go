package sandbox

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Mini Shop family's fake: POST /product/order/get. It serves the
// vendor's example order, deterministic generated orders for any other id
// (see Generate), and documented ids that show errors and upstream quirks
// (see Specials).

// VendorExample is the example response of the vendor doc, verbatim but for
// its "..." placeholders. The sandbox serves it at VendorExampleID.
//
//go:embed vendor_example.json
var VendorExample []byte

// VendorExampleID is the order id of VendorExample.
const VendorExampleID = 12123121332

// Special ids and what the sandbox answers for them. Every other id from
// 1000 up is a generated order; ids below 1000 do not exist.
var Specials = []Special{
	{VendorExampleID, "the vendor doc's example order, verbatim"},
	{100002, "errcode 100002: order not found"},
	{48001, "errcode 48001: no permission for the API"},
	{45009, "errcode 45009: daily quota exhausted"},
	{45011, "errcode 45011: per-minute quota exhausted"},
	{30000, "errcode 30000: frequency limit"},
	{9401020, "errcode 9401020: invalid parameter"},
	{1400007, "errcode 1400007: API taken offline"},
	{900001, "express_fee and delivery_product_info sent as single objects, as documented"},
	{900002, "successor-API style: ids, counts, errcode and times as strings; prepay_id and transaction_id as numbers; wall-clock delivery_time"},
	{900003, "unknown status (77) and order type (42), unknown shipping method and insurance type, 0 and \"\" times, no lists, no optional sections"},
	{900004, "malformed JSON"},
	{900005, "HTTP 502 from the upstream"},
}

// Special documents one id with scripted behaviour.
type Special struct {
	ID   uint64
	What string
}

func (s *Sandbox) miniShopOrderGet(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OrderID json.Number `json:"order_id"`
	}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, errcode(9401020, "invalid parameter"))
		return
	}
	id, err := strconv.ParseUint(req.OrderID.String(), 10, 64)
	if err != nil || id == 0 {
		writeJSON(w, errcode(9401020, "invalid parameter"))
		return
	}
	switch id {
	case VendorExampleID:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(VendorExample)
	case 100002, 48001, 45009, 45011, 30000, 9401020, 1400007:
		writeJSON(w, errcode(int64(id), "sandbox: scripted error"))
	case 900001, 900002, 900003:
		writeJSON(w, quirk(id))
	case 900004:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"errcode":0,"order":{"order_id":900004,`))
	case 900005:
		http.Error(w, "bad gateway", http.StatusBadGateway)
	default:
		if id < 1000 {
			writeJSON(w, errcode(100002, "order not exist"))
			return
		}
		o, listed := s.catalogue.byID[id]
		if !listed {
			o = Generate(id)
		}
		writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "order": o})
	}
}

// miniShopAfterSales answers batchgetaftersaleorder: for each id from 1000
// up, a made-up after-sale record, the same for the same id; 1234, the
// vendor example's after-sale order, belongs to that order. Ids below 1000
// do not exist. Like the real API it answers in an order of its own (here
// the reverse) and without an errcode.
func (s *Sandbox) miniShopAfterSales(w http.ResponseWriter, r *http.Request) {
	var req struct {
		IDs []uint64 `json:"after_sale_order_id_list"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.IDs) > 50 {
		writeJSON(w, errcode(9401020, "invalid parameter"))
		return
	}
	list := []map[string]any{}
	for i := len(req.IDs) - 1; i >= 0; i-- {
		if id := req.IDs[i]; id >= 1000 {
			list = append(list, GenerateAfterSale(id))
		}
	}
	writeJSON(w, map[string]any{"errmsg": "", "after_sale_order_list": list})
}

// catalogue is what get_list lists: CatalogueSize generated orders, one
// every CatalogueEvery back from the sandbox's start, newest first, shared
// by CatalogueBuyers buyers in turn. order/get answers the same orders.
type catalogue struct {
	orders []map[string]any // newest first
	byID   map[uint64]map[string]any
	// The same orders in the WeChat Store's shape.
	storeOrders []map[string]any
	storeByID   map[uint64]map[string]any
}

// The catalogue's shape: 300 orders over the last 30 days, five buyers,
// and an after-sale order for every tenth.
const (
	CatalogueFirstID          = 2_000_000
	CatalogueAfterSaleFirstID = 3_000_000
	CatalogueSize             = 300
	CatalogueEvery            = 30 * 24 * time.Hour / CatalogueSize
	CatalogueBuyers           = 5
)

func catalogueBuyer(i int) string { return "oSandboxBuyer" + strconv.Itoa(1+i%CatalogueBuyers) }

func newCatalogue(now time.Time) catalogue {
	c := catalogue{byID: map[uint64]map[string]any{}, storeByID: map[uint64]map[string]any{}}
	// A minute back: a list of "the last 7 days" ends a second before now,
	// and must still hold the newest order in the first second of a minute.
	newest := now.Truncate(time.Minute).Add(-time.Minute)
	for i := range CatalogueSize {
		id := uint64(CatalogueFirstID + i)
		o := Generate(id)
		created := newest.Add(-time.Duration(i) * CatalogueEvery)
		o["create_time"], o["update_time"] = wallClock(created), wallClock(created.Add(30*time.Minute))
		o["openid"] = catalogueBuyer(i)
		if i%10 == 0 { // every tenth has an after-sale order in progress
			o["aftersale_detail"] = map[string]any{"on_aftersale_order_cnt": 1, "aftersale_order_list": []map[string]any{
				{"aftersale_order_id": CatalogueAfterSaleFirstID + i, "status": 2},
			}}
		}
		c.orders = append(c.orders, o)
		c.byID[id] = o
		c.storeOrders = append(c.storeOrders, storeOrder(o))
		c.storeByID[id] = c.storeOrders[i]
	}
	return c
}

// miniShopOrderList answers get_list from the catalogue: the orders whose
// create_time (or update_time) is in the inclusive range, of the status
// when one is asked, a page of them.
func (s *Sandbox) miniShopOrderList(w http.ResponseWriter, r *http.Request) {
	var req struct {
		StartCreate string `json:"start_create_time"`
		EndCreate   string `json:"end_create_time"`
		StartUpdate string `json:"start_update_time"`
		EndUpdate   string `json:"end_update_time"`
		Status      *int64 `json:"status"`
		Page        int    `json:"page"`
		PageSize    int    `json:"page_size"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Page < 1 || req.PageSize < 1 {
		writeJSON(w, errcode(9401020, "invalid parameter"))
		return
	}
	field, from, to := "create_time", req.StartCreate, req.EndCreate
	if req.StartUpdate != "" || req.EndUpdate != "" {
		field, from, to = "update_time", req.StartUpdate, req.EndUpdate
	}
	matching := []map[string]any{}
	for _, o := range s.catalogue.orders {
		at := o[field].(string)
		if at >= from && at <= to && (req.Status == nil || o["status"] == *req.Status) {
			matching = append(matching, o)
		}
	}
	writePage(w, matching, req.Page, req.PageSize)
}

// miniShopOrderSearch answers search from the catalogue: the orders that
// match every condition asked (a title or SKU code of one of its products,
// the receiver's name or phone, the status, the id, the pay time range),
// a page of them.
func (s *Sandbox) miniShopOrderSearch(w http.ResponseWriter, r *http.Request) {
	var req struct {
		StartPay string  `json:"start_pay_time"`
		EndPay   string  `json:"end_pay_time"`
		Title    string  `json:"title"`
		SkuCode  string  `json:"sku_code"`
		UserName string  `json:"user_name"`
		Tel      string  `json:"tel_number"`
		Status   *int64  `json:"status"`
		OrderID  *uint64 `json:"order_id"`
		Page     int     `json:"page"`
		PageSize int     `json:"page_size"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Page < 1 || req.PageSize < 1 {
		writeJSON(w, errcode(9401020, "invalid parameter"))
		return
	}
	matching := []map[string]any{}
	for _, o := range s.catalogue.orders {
		detail := o["order_detail"].(map[string]any)
		address := detail["delivery_info"].(map[string]any)["address_info"].(map[string]any)
		paid := ""
		if pay, ok := detail["pay_info"].(map[string]any); ok {
			paid = pay["pay_time"].(string)
		}
		titled, coded := req.Title == "", req.SkuCode == ""
		for _, p := range detail["product_infos"].([]map[string]any) {
			titled = titled || strings.Contains(p["title"].(string), req.Title)
			coded = coded || p["sku_code"] == req.SkuCode
		}
		switch {
		case !titled, !coded,
			req.UserName != "" && address["user_name"] != req.UserName,
			req.Tel != "" && address["tel_number"] != req.Tel,
			req.Status != nil && o["status"] != *req.Status,
			req.OrderID != nil && o["order_id"] != *req.OrderID,
			req.StartPay != "" && (paid == "" || paid < req.StartPay),
			req.EndPay != "" && (paid == "" || paid > req.EndPay):
			continue
		}
		matching = append(matching, o)
	}
	writePage(w, matching, req.Page, req.PageSize)
}

// writePage answers page (from 1) of size orders out of matching, with
// their total.
func writePage(w http.ResponseWriter, matching []map[string]any, page, size int) {
	start := min((page-1)*size, len(matching))
	end := min(start+size, len(matching))
	writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "total_num": len(matching), "orders": matching[start:end]})
}
