package sandbox

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// WeChat's rules for its list and search calls, written once: what a
// request must hold, which orders it matches, their order (newest first)
// and how they are paged and answered. The sandbox runs them over its
// catalogue, and package wechattest over the orders a test scripts; each
// only reads its orders into Orders.

// Order is one order as the list and search calls see it, whichever
// family's shape its JSON is in.
type Order struct {
	ID                           uint64
	Created, Updated, Paid       int64 // Unix seconds; Paid is 0 while unpaid
	Status                       int64
	Openid                       string
	Titles, SkuCodes             []string // of its products
	UserName, Tel                string   // the receiver's
	CustomerNotes, MerchantNotes string
	AfterSaleInProgress          bool
	// JSON is the order object, which Mini Shop's answers carry whole.
	JSON json.RawMessage
}

// ParseOrder reads an order object of either family: ids as numbers or
// strings, times as Unix seconds or China wall-clock text, the notes at
// the top (Mini Shop) or in order_detail (the Store). A member of another
// type than these reads as empty; only JSON that does not parse is refused.
func ParseOrder(orderJSON []byte) (Order, error) {
	type notes struct {
		Customer string `json:"customer_notes"`
		Merchant string `json:"merchant_notes"`
	}
	var o struct {
		ID      lenient  `json:"order_id"`
		Status  lenient  `json:"status"`
		Created unixTime `json:"create_time"`
		Updated unixTime `json:"update_time"`
		Openid  string   `json:"openid"`
		ExtInfo *notes   `json:"ext_info"`
		Detail  struct {
			Products []struct {
				Title   string `json:"title"`
				SkuCode string `json:"sku_code"`
			} `json:"product_infos"`
			Pay struct {
				PayTime unixTime `json:"pay_time"`
			} `json:"pay_info"`
			Delivery struct {
				Address struct {
					UserName string `json:"user_name"`
					Tel      string `json:"tel_number"`
				} `json:"address_info"`
			} `json:"delivery_info"`
			ExtInfo *notes `json:"ext_info"`
		} `json:"order_detail"`
		AfterSale struct {
			InProgress lenient `json:"on_aftersale_order_cnt"`
		} `json:"aftersale_detail"`
	}
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal(orderJSON, &o); err != nil && !errors.As(err, &typeErr) {
		return Order{}, err
	}
	out := Order{
		ID: uint64(o.ID), Status: int64(o.Status), Created: int64(o.Created), Updated: int64(o.Updated),
		Paid: int64(o.Detail.Pay.PayTime), Openid: o.Openid,
		UserName: o.Detail.Delivery.Address.UserName, Tel: o.Detail.Delivery.Address.Tel,
		AfterSaleInProgress: o.AfterSale.InProgress != 0, JSON: orderJSON,
	}
	for _, p := range o.Detail.Products {
		out.Titles, out.SkuCodes = append(out.Titles, p.Title), append(out.SkuCodes, p.SkuCode)
	}
	n := o.Detail.ExtInfo
	if n == nil {
		n = o.ExtInfo
	}
	if n != nil {
		out.CustomerNotes, out.MerchantNotes = n.Customer, n.Merchant
	}
	return out, nil
}

// lenient is an integer sent as a number or a numeric string; anything
// else reads as 0.
type lenient uint64

func (n *lenient) UnmarshalJSON(b []byte) error {
	v, _ := strconv.ParseUint(string(bytes.Trim(b, `"`)), 10, 64)
	*n = lenient(v)
	return nil
}

// unixTime is a time sent as Unix seconds (a number or a numeric string)
// or as China wall-clock text; anything else reads as 0 (no time).
type unixTime int64

func (t *unixTime) UnmarshalJSON(b []byte) error {
	*t = unixTime(parseTime(string(bytes.Trim(b, `"`))))
	return nil
}

func parseTime(s string) int64 {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	if at, err := time.ParseInLocation(time.DateTime, s, china); err == nil {
		return at.Unix()
	}
	return 0
}

// span is an inclusive range of Unix seconds.
type span struct{ from, to int64 }

func (s *span) holds(t int64) bool { return s == nil || (t >= s.from && t <= s.to) }

// filter is what a list or search call asks for; an empty member asks for
// nothing.
type filter struct {
	created, updated, paid *span
	status                 *int64
	// neighbours are the statuses a status filter also matches.
	neighbours                   map[int64][]int64
	openid                       string
	title, skuCode, userName     string
	tel, telLast4, orderID       string
	customerNotes, merchantNotes string
	onAfterSale                  *int
}

func (f *filter) matches(o Order) bool {
	return f.created.holds(o.Created) && f.updated.holds(o.Updated) && (f.paid == nil || o.Paid != 0 && f.paid.holds(o.Paid)) &&
		(f.status == nil || *f.status == o.Status || slices.Contains(f.neighbours[*f.status], o.Status)) &&
		(f.openid == "" || o.Openid == f.openid) &&
		(f.title == "" || slices.ContainsFunc(o.Titles, func(t string) bool { return strings.Contains(t, f.title) })) &&
		(f.skuCode == "" || slices.Contains(o.SkuCodes, f.skuCode)) &&
		(f.userName == "" || o.UserName == f.userName) &&
		(f.tel == "" || o.Tel == f.tel) &&
		(f.telLast4 == "" || strings.HasSuffix(o.Tel, f.telLast4)) &&
		(f.orderID == "" || strconv.FormatUint(o.ID, 10) == f.orderID) &&
		(f.customerNotes == "" || strings.Contains(o.CustomerNotes, f.customerNotes)) &&
		(f.merchantNotes == "" || strings.Contains(o.MerchantNotes, f.merchantNotes)) &&
		(f.onAfterSale == nil || o.AfterSaleInProgress == (*f.onAfterSale == 1))
}

// pick returns the orders f matches, newest first by update time when the
// call asked for an update range and by create time otherwise, ties by id.
func pick(orders []Order, f filter) []Order {
	at := func(o Order) int64 { return o.Created }
	if f.updated != nil {
		at = func(o Order) int64 { return o.Updated }
	}
	var out []Order
	for _, o := range orders {
		if f.matches(o) {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b Order) int { return cmp.Or(cmp.Compare(at(b), at(a)), cmp.Compare(b.ID, a.ID)) })
	return out
}

// Mini Shop: get_list and search answer whole orders, page (from 1) by
// page_size, with total_num; 9401020 for what they cannot read.

var miniShopInvalid = errcode(9401020, "invalid parameter")

type miniShopPaging struct {
	Page     int `json:"page"`
	PageSize int `json:"page_size"`
}

// wallClockSpan reads a pair of Mini Shop's text times; a missing one
// leaves its end open.
func wallClockSpan(from, to string) (*span, bool) {
	s := &span{0, math.MaxInt64}
	for _, b := range []struct {
		text  string
		bound *int64
	}{{from, &s.from}, {to, &s.to}} {
		if b.text == "" {
			continue
		}
		at, err := time.ParseInLocation(time.DateTime, b.text, china)
		if err != nil {
			return nil, false
		}
		*b.bound = at.Unix()
	}
	return s, true
}

// MiniShopList answers /product/order/get_list: the orders created (or
// updated) within the request's range, of its status. It needs one pair of
// times; with both pairs it answers an empty list, as the API does.
// Mini Shop's get_list has no buyer filter.
func MiniShopList(request []byte, orders []Order) any {
	var req struct {
		miniShopPaging
		StartCreate string `json:"start_create_time"`
		EndCreate   string `json:"end_create_time"`
		StartUpdate string `json:"start_update_time"`
		EndUpdate   string `json:"end_update_time"`
		Status      *int64 `json:"status"`
	}
	if json.Unmarshal(request, &req) != nil {
		return miniShopInvalid
	}
	f := filter{status: req.Status}
	created, updated := req.StartCreate+req.EndCreate != "", req.StartUpdate+req.EndUpdate != ""
	ok := true
	switch {
	case created && updated:
		orders = nil
	case created:
		f.created, ok = wallClockSpan(req.StartCreate, req.EndCreate)
	case updated:
		f.updated, ok = wallClockSpan(req.StartUpdate, req.EndUpdate)
	default:
		ok = false
	}
	if !ok {
		return miniShopInvalid
	}
	return miniShopPage(pick(orders, f), req.miniShopPaging)
}

// MiniShopSearch answers /product/order/search: the orders that match
// every condition asked (a product's title holding the title, a product's
// SKU code, the receiver's name or phone, after-sale in progress or not,
// the status, the id, the pay time range).
func MiniShopSearch(request []byte, orders []Order) any {
	var req struct {
		miniShopPaging
		StartPay    string  `json:"start_pay_time"`
		EndPay      string  `json:"end_pay_time"`
		Title       string  `json:"title"`
		SkuCode     string  `json:"sku_code"`
		UserName    string  `json:"user_name"`
		Tel         string  `json:"tel_number"`
		OnAftersale *int    `json:"on_aftersale_order_exist"`
		Status      *int64  `json:"status"`
		OrderID     *uint64 `json:"order_id"`
	}
	if json.Unmarshal(request, &req) != nil {
		return miniShopInvalid
	}
	f := filter{title: req.Title, skuCode: req.SkuCode, userName: req.UserName, tel: req.Tel, onAfterSale: req.OnAftersale, status: req.Status}
	if req.OrderID != nil {
		f.orderID = strconv.FormatUint(*req.OrderID, 10)
	}
	if req.StartPay+req.EndPay != "" {
		var ok bool
		if f.paid, ok = wallClockSpan(req.StartPay, req.EndPay); !ok {
			return miniShopInvalid
		}
	}
	return miniShopPage(pick(orders, f), req.miniShopPaging)
}

func miniShopPage(matching []Order, p miniShopPaging) any {
	if p.Page < 1 || p.PageSize < 1 {
		return miniShopInvalid
	}
	start := min((p.Page-1)*p.PageSize, len(matching))
	page := []json.RawMessage{}
	for _, o := range matching[start:min(start+p.PageSize, len(matching))] {
		page = append(page, o.JSON)
	}
	return map[string]any{"errcode": 0, "errmsg": "ok", "total_num": len(matching), "orders": page}
}

// The WeChat Store: list/get and search answer ids, page_size (1 to 100)
// at a time from next_key (an offset here, opaque to the client as on the
// Store), with has_more; 47001 for a body that does not parse, 40097 for
// arguments the Store refuses.

const (
	storeMaxWindow   = 7 * 24 * 60 * 60
	storeMaxPageSize = 100
)

// storeNeighbours is what a status filter also matches on the Store: 20
// and 30 partly shipped orders, 250 every kind of cancellation.
var storeNeighbours = map[int64][]int64{20: {21}, 30: {21}, 250: {190, 200}}

var storeMalformed = errcode(47001, "data format error")

type storePaging struct {
	PageSize int     `json:"page_size"`
	NextKey  *string `json:"next_key"`
}

type storeTimeRange struct {
	Start int64 `json:"start_time"`
	End   int64 `json:"end_time"`
}

func (r *storeTimeRange) span() (*span, bool) {
	if r == nil {
		return nil, true
	}
	return &span{r.Start, r.End}, r.End >= r.Start && r.End-r.Start <= storeMaxWindow
}

// StoreList answers /channels/ec/order/list/get: the ids of the orders
// created (and updated) within the ranges asked, at least one and each 7
// days at most, of the status (and its neighbours) and the buyer asked.
func StoreList(request []byte, orders []Order) any {
	var req struct {
		storePaging
		Created *storeTimeRange `json:"create_time_range"`
		Updated *storeTimeRange `json:"update_time_range"`
		Status  *int64          `json:"status"`
		Openid  string          `json:"openid"`
	}
	if json.Unmarshal(request, &req) != nil {
		return storeMalformed
	}
	f := filter{status: req.Status, neighbours: storeNeighbours, openid: req.Openid}
	created, ok1 := req.Created.span()
	updated, ok2 := req.Updated.span()
	if !ok1 || !ok2 || created == nil && updated == nil {
		return errcode(40097, "invalid args: time range missing or over 7 days")
	}
	f.created, f.updated = created, updated
	return storePage(pick(orders, f), req.storePaging, "order_id_list", false)
}

// SearchAnswer is how the Store's search names its answer: under Key
// ("orders", as the vendor's example, when empty; "order_id_list", as its
// field table), as ids or, with Whole, as whole orders.
type SearchAnswer struct {
	Key   string
	Whole bool
}

// StoreSearch answers /channels/ec/order/search: the ids of the orders
// that match every condition asked, of which there must be one (a
// product's title holding the title, a product's SKU code, the receiver's
// name or the last 4 digits of the phone, the id, notes holding the text),
// with after-sale in progress or not, of the status and its neighbours.
func StoreSearch(request []byte, orders []Order, answer SearchAnswer) any {
	var req struct {
		storePaging
		Condition struct {
			Title         string `json:"title"`
			SkuCode       string `json:"sku_code"`
			UserName      string `json:"user_name"`
			TelLast4      string `json:"tel_number_last4"`
			OrderID       string `json:"order_id"`
			MerchantNotes string `json:"merchant_notes"`
			CustomerNotes string `json:"customer_notes"`
		} `json:"search_condition"`
		OnAftersale *int   `json:"on_aftersale_order_exist"`
		Status      *int64 `json:"status"`
	}
	if json.Unmarshal(request, &req) != nil {
		return storeMalformed
	}
	c := req.Condition
	if c.Title+c.SkuCode+c.UserName+c.TelLast4+c.OrderID+c.MerchantNotes+c.CustomerNotes == "" {
		return errcode(40097, "invalid args: search_condition needs a key")
	}
	f := filter{
		title: c.Title, skuCode: c.SkuCode, userName: c.UserName, telLast4: c.TelLast4, orderID: c.OrderID,
		merchantNotes: c.MerchantNotes, customerNotes: c.CustomerNotes,
		onAfterSale: req.OnAftersale, status: req.Status, neighbours: storeNeighbours,
	}
	return storePage(pick(orders, f), req.storePaging, cmp.Or(answer.Key, "orders"), answer.Whole)
}

func storePage(matching []Order, p storePaging, key string, whole bool) any {
	if p.PageSize < 1 || p.PageSize > storeMaxPageSize || p.NextKey == nil {
		return errcode(40097, "invalid args: page_size or next_key")
	}
	start := 0
	if *p.NextKey != "" {
		n, err := strconv.Atoi(*p.NextKey)
		if err != nil || n < 0 {
			return errcode(40097, "invalid args: next_key")
		}
		start = min(n, len(matching))
	}
	end := min(start+p.PageSize, len(matching))
	page := []any{}
	for _, o := range matching[start:end] {
		if whole {
			page = append(page, o.JSON)
		} else {
			page = append(page, strconv.FormatUint(o.ID, 10))
		}
	}
	return map[string]any{"errcode": 0, "errmsg": "ok", key: page, "next_key": strconv.Itoa(end), "has_more": end < len(matching)}
}

// Ids in requests: Mini Shop names an id as a JSON number (a numeric
// string passes too) and answers 9401020 when it is not one; the Store
// names it as a decimal string, and answers 47001 for another JSON type
// and 40097 for a missing id or a string that is no id.

// MiniShopRequestID reads the id a Mini Shop call names by member, or the
// errcode to answer.
func MiniShopRequestID(r *http.Request, member string) (id uint64, errcode int64) {
	body, _ := requestBody(r)
	return miniShopID(body, member)
}

func miniShopID(body map[string]any, member string) (id uint64, errcode int64) {
	if id := idOf(body[member]); id != 0 {
		return id, 0
	}
	return 0, 9401020
}

// StoreRequestID reads the id a Store call names by member, or the errcode
// to answer.
func StoreRequestID(r *http.Request, member string) (id uint64, errcode int64) {
	body, isObject := requestBody(r)
	return storeID(body, isObject, member)
}

// storeID reads the id member of a Store body (isObject: the body is a
// JSON object).
func storeID(body map[string]any, isObject bool, member string) (id uint64, errcode int64) {
	v := body[member]
	digits, isText := v.(string)
	if !isObject || v != nil && !isText {
		return 0, 47001
	}
	if id, err := strconv.ParseUint(digits, 10, 64); err == nil && id != 0 {
		return id, 0
	}
	return 0, 40097
}

// requestBody is the request's JSON object, false when the body is none.
func requestBody(r *http.Request) (map[string]any, bool) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, false
	}
	return decodeObject(b)
}
