package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// memShop is a Shop in memory, as a fake keeps one.
type memShop struct{ orders, afterSales map[uint64][]byte }

func newMemShop() *memShop {
	return &memShop{orders: map[uint64][]byte{}, afterSales: map[uint64][]byte{}}
}

func (m *memShop) Order(id uint64) ([]byte, bool)        { o, ok := m.orders[id]; return o, ok }
func (m *memShop) PutOrder(id uint64, o []byte)          { m.orders[id] = o }
func (m *memShop) AfterSale(id uint64) ([]byte, bool)    { a, ok := m.afterSales[id]; return a, ok }
func (m *memShop) PutAfterSale(id uint64, a []byte)      { m.afterSales[id] = a }
func (m *memShop) order(t *testing.T, id uint64) any     { return decoded(t, m.orders[id]) }
func (m *memShop) afterSale(t *testing.T, id uint64) any { return decoded(t, m.afterSales[id]) }

func decoded(t *testing.T, b []byte) any {
	t.Helper()
	o, ok := decodeObject(b)
	if !ok {
		t.Fatalf("not a JSON object: %s", b)
	}
	return o
}

// at walks a path of member names and list indexes, "a.b.0.c".
func at(v any, path string) any {
	for _, step := range strings.Split(path, ".") {
		if i, err := strconv.Atoi(step); err == nil {
			if a := array(v); i < len(a) {
				v = a[i]
				continue
			}
			return nil
		}
		v = object(v)[step]
	}
	if n, ok := v.(json.Number); ok {
		return n.String()
	}
	return v
}

var writeNow = time.Date(2026, 5, 1, 12, 0, 0, 0, china)

// Two SKU lines (2 × 1000 and 1 × 500), freight 500: order price 3000.
// Mini Shop's ids straddle 2^53.
func storeOrderJSON(id uint64, status int) string {
	return fmt.Sprintf(`{"order_id":"%d","status":%d,"create_time":1714000000,"update_time":1714000000,"openid":"oBuyer",
		"order_detail":{"product_infos":[
			{"product_id":"101","sku_id":"1011","sku_cnt":2,"sale_price":1000,"real_price":2000,"on_aftersale_sku_cnt":0,"finish_aftersale_sku_cnt":0},
			{"product_id":"102","sku_id":"1021","sku_cnt":1,"sale_price":500,"real_price":500,"on_aftersale_sku_cnt":0,"finish_aftersale_sku_cnt":0}],
		"price_info":{"product_price":2500,"order_price":3000,"freight":500,"discounted_price":0,"is_discounted":false},
		"delivery_info":{"address_info":{"user_name":"陈**","tel_number":"138****0000"},"delivery_product_info":[],"ship_done_time":0,"deliver_method":0},
		"ext_info":{"customer_notes":"发顺丰","merchant_notes":""}},
		"aftersale_detail":{"aftersale_order_list":[],"on_aftersale_order_cnt":0}}`, id, status)
}

func miniShopOrderJSON(id uint64, status int) string {
	return fmt.Sprintf(`{"order_id":%d,"status":%d,"create_time":"2024-05-01 00:00:00","update_time":"2024-05-01 00:00:00","openid":"oBuyer",
		"order_detail":{"product_infos":[
			{"product_id":9007199254740993,"sku_id":9007199254740995,"sku_cnt":2,"sale_price":1000,"on_aftersale_sku_cnt":0,"finish_aftersale_sku_cnt":0},
			{"product_id":102,"sku_id":1021,"sku_cnt":1,"sale_price":500,"on_aftersale_sku_cnt":0,"finish_aftersale_sku_cnt":0}],
		"price_info":{"product_price":2500,"order_price":3000,"freight":500,"discounted_price":0,"is_discounted":false},
		"delivery_info":{"address_info":{"user_name":"陈先生","tel_number":"13800000000"},"delivery_product_info":[],"ship_done_time":0}},
		"aftersale_detail":{"aftersale_order_list":[],"on_aftersale_order_cnt":0},
		"ext_info":{"customer_notes":"","merchant_notes":""}}`, id, status)
}

// withAfterSales is orderJSON with after-sale orders, n in progress.
func withAfterSales(orderJSON, list string, n int) []byte {
	return []byte(strings.Replace(orderJSON, `"aftersale_detail":{"aftersale_order_list":[],"on_aftersale_order_cnt":0}`,
		fmt.Sprintf(`"aftersale_detail":{"aftersale_order_list":[%s],"on_aftersale_order_cnt":%d}`, list, n), 1))
}

type writer struct {
	t      *testing.T
	w      Writes
	shop   *memShop
	now    time.Time
	events [][]byte
}

func newWriter(t *testing.T) *writer { return &writer{t: t, shop: newMemShop(), now: writeNow} }

// call applies a write call and returns its errcode.
func (w *writer) call(path, body string) int64 {
	w.t.Helper()
	c, ok := ParseWrite(path, []byte(body))
	if !ok {
		w.t.Fatalf("%s is no write call", path)
	}
	r := w.w.Apply(w.shop, c, w.now, false)
	if r.Answer["errcode"] != r.Errcode || r.Applied() != (r.Errcode == 0) {
		w.t.Fatalf("%s %s: answer %v for errcode %d", path, body, r.Answer, r.Errcode)
	}
	w.events = append(w.events, r.Events...)
	return r.Errcode
}

// want calls and fails unless the errcode is code.
func (w *writer) want(code int64, path, body string) {
	w.t.Helper()
	if got := w.call(path, body); got != code {
		w.t.Errorf("%s %s: errcode %d, want %d", path, body, got, code)
	}
}

func (w *writer) lastEvent() map[string]any {
	w.t.Helper()
	if len(w.events) == 0 {
		w.t.Fatal("no event")
	}
	return decoded(w.t, w.events[len(w.events)-1]).(map[string]any)
}

const (
	storeShip     = "/channels/ec/order/delivery/send"
	storeTracking = "/channels/ec/order/deliveryinfo/update"
	storeNotes    = "/channels/ec/order/merchantnotes/update"
	storePrice    = "/channels/ec/order/price/update"
	storeAddress  = "/channels/ec/order/address/update"
	storeAccept   = "/channels/ec/aftersale/acceptapply"
	storeReject   = "/channels/ec/aftersale/rejectapply"
	msShip        = "/product/delivery/send"
	msNotes       = "/product/order/change_merchant_notes"
	msPrice       = "/product/order/change_order_price"
	msAccept      = "/product/order/acceptapply"
	msReject      = "/product/order/rejectrefund"
)

func storeParcel(deliveryID, waybill string, deliverType int, items string) string {
	return fmt.Sprintf(`{"delivery_id":%q,"waybill_id":%q,"deliver_type":%d,"product_infos":[%s]}`, deliveryID, waybill, deliverType, items)
}

func storeItem(product, sku string, count int) string {
	return fmt.Sprintf(`{"product_id":%q,"sku_id":%q,"product_cnt":%d}`, product, sku, count)
}

func TestStoreShipRules(t *testing.T) {
	w := newWriter(t)
	for id, status := range map[uint64]int{1: 20, 2: 10, 3: 30, 4: 20, 5: 250} {
		w.shop.orders[id] = []byte(storeOrderJSON(id, status))
	}
	ship := func(id string, parcels ...string) string {
		return fmt.Sprintf(`{"order_id":%s,"delivery_list":[%s]}`, id, strings.Join(parcels, ","))
	}
	one := storeItem("101", "1011", 1)
	for _, c := range []struct {
		code int64
		body string
	}{
		{47001, `[1]`},
		{47001, ship(`1`, storeParcel("SF", "SF1", 1, one))},
		{40097, `{"delivery_list":[]}`},
		{100002, ship(`"99"`, storeParcel("SF", "SF1", 1, one))},
		{101100, ship(`"2"`, storeParcel("SF", "SF1", 1, one))},
		{101100, ship(`"3"`, storeParcel("SF", "SF1", 1, one))},
		{101100, ship(`"5"`, storeParcel("SF", "SF1", 1, one))},
		{40097, ship(`"1"`)},
		{40097, ship(`"1"`, storeParcel("SF", "SF1", 2, one))},
		{40097, ship(`"1"`, storeParcel("SF", "SF1", 1, ""))},
		{40097, ship(`"1"`, storeParcel("SF", "SF1", 1, storeItem("0", "1011", 1)))},
		{40097, ship(`"1"`, storeParcel("SF", "SF1", 1, storeItem("101", "1011", 0)))},
		{40097, ship(`"1"`, storeParcel("", "", 3, ""), storeParcel("SF", "SF1", 1, one))},
		{606004, ship(`"1"`, storeParcel("UPS", "1Z", 1, one))},
		{606005, ship(`"1"`, storeParcel("SF", "", 1, one))},
		{606042, ship(`"1"`, storeParcel("SF", "SF1", 1, storeItem("101", "9999", 1)))},
		{606042, ship(`"1"`, storeParcel("SF", "SF1", 1, storeItem("101", "1011", 3)))},
		{606042, ship(`"1"`, storeParcel("SF", "SF1", 1, storeItem("101", "1011", 2)), storeParcel("SF", "SF2", 1, one))},
	} {
		w.want(c.code, storeShip, c.body)
	}
	if len(w.events) != 0 || string(w.shop.orders[1]) != storeOrderJSON(1, 20) {
		t.Fatalf("refused calls changed the order: %s, events %s", w.shop.orders[1], w.events)
	}

	// One of the two SKU 1011 first: part shipped, and the event says so.
	w.want(0, storeShip, ship(`"1"`, storeParcel("ZTO", "ZT100", 1, one)))
	o := w.shop.order(t, 1)
	if at(o, "status") != "21" || at(o, "update_time") != strconv.FormatInt(writeNow.Unix(), 10) ||
		at(o, "order_detail.delivery_info.delivery_product_info.0.waybill_id") != "ZT100" ||
		at(o, "order_detail.delivery_info.delivery_product_info.0.delivery_name") != "中通快递" ||
		at(o, "order_detail.delivery_info.delivery_product_info.0.deliver_type") != "1" ||
		at(o, "order_detail.delivery_info.delivery_product_info.0.product_infos.0.sku_id") != "1011" ||
		at(o, "order_detail.delivery_info.ship_done_time") != "0" {
		t.Fatalf("part shipped: %s", w.shop.orders[1])
	}
	if e := w.lastEvent(); e["Event"] != "channels_ec_order_deliver" || at(e, "order_info.order_id") != "1" || at(e, "order_info.finish_delivery") != "0" || e["FromUserName"] != "oBuyer" {
		t.Fatalf("event %v", e)
	}
	// The rest in two parcels: shipped.
	w.now = writeNow.Add(time.Hour)
	w.want(606042, storeShip, ship(`"1"`, storeParcel("SF", "SF2", 1, storeItem("101", "1011", 2))))
	w.want(0, storeShip, ship(`"1"`, storeParcel("SF", "SF2", 1, one), storeParcel("SF", "SF3", 1, storeItem("102", "1021", 1))))
	o = w.shop.order(t, 1)
	if at(o, "status") != "30" || at(o, "order_detail.delivery_info.ship_done_time") != strconv.FormatInt(w.now.Unix(), 10) ||
		at(o, "order_detail.delivery_info.delivery_product_info.2.waybill_id") != "SF3" {
		t.Fatalf("shipped: %s", w.shop.orders[1])
	}
	if e := w.lastEvent(); at(e, "order_info.finish_delivery") != "1" {
		t.Fatalf("event %v", e)
	}
	w.want(101100, storeShip, ship(`"1"`, storeParcel("SF", "SF4", 1, one)))

	// Virtual goods: everything, without logistics.
	w.want(0, storeShip, ship(`"4"`, storeParcel("SF", "ignored", 3, "")))
	o = w.shop.order(t, 4)
	if at(o, "status") != "30" || at(o, "order_detail.delivery_info.delivery_product_info.0.deliver_type") != "3" ||
		at(o, "order_detail.delivery_info.delivery_product_info.0.waybill_id") != "" ||
		at(o, "order_detail.delivery_info.delivery_product_info.0.product_infos.1.product_cnt") != "1" {
		t.Fatalf("virtual: %s", w.shop.orders[4])
	}
}

func TestMiniShopShipRules(t *testing.T) {
	w := newWriter(t)
	for id, status := range map[uint64]int{1: 20, 2: 10, 3: 30, 4: 100, 5: 181, 6: 20, 7: 21} {
		w.shop.orders[id] = []byte(miniShopOrderJSON(id, status))
	}
	w.shop.orders[6] = withAfterSales(miniShopOrderJSON(6, 20), `{"aftersale_order_id":61,"status":2}`, 1)
	big := `{"product_id":9007199254740993,"sku_id":9007199254740995,"product_cnt":2}`
	small := `{"product_id":102,"sku_id":1021,"product_cnt":1}`
	ship := func(id int, parcels ...string) string {
		return fmt.Sprintf(`{"order_id":%d,"delivery_list":[%s]}`, id, strings.Join(parcels, ","))
	}
	parcel := func(deliveryID, waybill string, items ...string) string {
		return fmt.Sprintf(`{"delivery_id":%q,"waybill_id":%q,"product_infos":[%s]}`, deliveryID, waybill, strings.Join(items, ","))
	}
	for _, c := range []struct {
		code int64
		body string
	}{
		{9401020, `{"order_id":"x"}`},
		{100002, ship(99, parcel("SF", "SF1", small))},
		{101100, ship(2, parcel("SF", "SF1", small))},
		{109001, ship(3, parcel("SF", "SF1", small))},
		{109001, ship(4, parcel("SF", "SF1", small))},
		{101100, ship(5, parcel("SF", "SF1", small))},
		{108009, ship(6, parcel("SF", "SF1", small))},
		{9401020, ship(1)},
		{9401020, ship(1, parcel("UPS", "1Z", small))},
		{9401020, ship(1, parcel("SF", "", small))},
		{9401020, ship(1, parcel("SF", "SF1"))},
		{9401020, ship(1, parcel("SF", "SF1", `{"product_id":102,"sku_id":9,"product_cnt":1}`))},
		// Each SKU ships whole, in one parcel.
		{9401020, ship(1, parcel("SF", "SF1", `{"product_id":9007199254740993,"sku_id":9007199254740995,"product_cnt":1}`))},
		{9401020, ship(1, parcel("SF", "SF1", small), parcel("SF", "SF2", small))},
		{9401020, ship(1, `{"delivery_id":"SF","waybill_id":"SF1","is_all_product":true}`, parcel("SF", "SF2", small))},
		{109000, ship(1, parcel("SF", "SF1", big), parcel("SF", "SF1", small))},
	} {
		w.want(c.code, msShip, c.body)
	}

	w.want(0, msShip, ship(1, parcel("SF", "SF1", big)))
	o := w.shop.order(t, 1)
	if at(o, "status") != "21" || at(o, "update_time") != "2026-05-01 12:00:00" ||
		at(o, "order_detail.delivery_info.delivery_product_info.0.product_infos.0.product_id") != "9007199254740993" ||
		at(o, "order_detail.delivery_info.delivery_product_info.0.deliver_type") != "DELIVERY_TYPE_OPTIONAL_EXPRESS" ||
		at(o, "order_detail.delivery_info.delivery_product_info.0.delivery_address.user_name") != "陈先生" {
		t.Fatalf("part shipped: %s", w.shop.orders[1])
	}
	w.want(109000, msShip, ship(1, parcel("SF", "SF1", small)))
	w.want(0, msShip, ship(1, parcel("YTO", "YT1", small)))
	if o := w.shop.order(t, 1); at(o, "status") != "30" || at(o, "order_detail.delivery_info.ship_done_time") != strconv.FormatInt(writeNow.Unix(), 10) {
		t.Fatalf("shipped: %s", w.shop.orders[1])
	}
	w.want(109001, msShip, ship(1, parcel("SF", "SF9", small)))

	// is_all_product ships what is left; an item an after-sale finished
	// does not ship.
	w.shop.orders[7] = []byte(strings.Replace(miniShopOrderJSON(7, 20), `"sku_cnt":1,"sale_price":500,"on_aftersale_sku_cnt":0,"finish_aftersale_sku_cnt":0`,
		`"sku_cnt":1,"sale_price":500,"on_aftersale_sku_cnt":0,"finish_aftersale_sku_cnt":1`, 1))
	w.want(9401020, msShip, ship(7, parcel("SF", "SF7", small)))
	w.want(0, msShip, ship(7, `{"delivery_id":"JD","waybill_id":"JD7","is_all_product":true}`))
	if o := w.shop.order(t, 7); at(o, "status") != "30" || at(o, "order_detail.delivery_info.delivery_product_info.0.product_infos.1") != nil ||
		at(o, "order_detail.delivery_info.delivery_product_info.0.product_infos.0.product_cnt") != "2" {
		t.Fatalf("all products: %s", w.shop.orders[7])
	}
	if len(w.events) != 0 {
		t.Fatalf("Mini Shop pushes no events: %s", w.events)
	}
}

func TestStoreTrackingRules(t *testing.T) {
	w := newWriter(t)
	w.shop.orders[1] = []byte(storeOrderJSON(1, 20))
	update := func(parcels ...string) string {
		return fmt.Sprintf(`{"order_id":"1","delivery_list":[%s]}`, strings.Join(parcels, ","))
	}
	all := storeItem("101", "1011", 2) + "," + storeItem("102", "1021", 1)
	w.want(101100, storeTracking, update(storeParcel("SF", "SF1", 1, all)))
	w.want(0, storeShip, update(storeParcel("SF", "SF1", 1, storeItem("101", "1011", 2))))
	w.want(606042, storeTracking, update(storeParcel("SF", "SF1", 1, all)))
	w.want(606042, storeTracking, update(storeParcel("SF", "SF1", 1, storeItem("101", "1011", 1))))
	w.want(40097, storeTracking, update(storeParcel("", "", 3, "")))
	w.want(606004, storeTracking, update(storeParcel("NOPE", "X1", 1, storeItem("101", "1011", 2))))
	for i := range 3 {
		// Two parcels of one each instead of one of two.
		w.want(0, storeTracking, update(storeParcel("YTO", fmt.Sprint("YT", i, "a"), 1, storeItem("101", "1011", 1)), storeParcel("YTO", fmt.Sprint("YT", i, "b"), 1, storeItem("101", "1011", 1))))
	}
	o := w.shop.order(t, 1)
	if at(o, "status") != "21" || at(o, "order_detail.delivery_info.delivery_product_info.1.waybill_id") != "YT2b" || at(o, "order_detail.delivery_info.delivery_product_info.2") != nil {
		t.Fatalf("tracking: %s", w.shop.orders[1])
	}
	w.want(606041, storeTracking, update(storeParcel("SF", "SF1", 1, storeItem("101", "1011", 2))))
}

func TestNotesRules(t *testing.T) {
	w := newWriter(t)
	w.shop.orders[1] = []byte(storeOrderJSON(1, 100))
	w.shop.orders[2] = []byte(miniShopOrderJSON(2, 250))
	w.want(40097, storeNotes, `{"order_id":"1"}`)
	w.want(100002, storeNotes, `{"order_id":"3","merchant_notes":"x"}`)
	w.want(0, storeNotes, `{"order_id":"1","merchant_notes":"先发顺丰"}`)
	w.want(0, storeNotes, `{"order_id":"1","merchant_notes":"改发中通"}`)
	if o := w.shop.order(t, 1); at(o, "order_detail.ext_info.merchant_notes") != "改发中通" || at(o, "order_detail.ext_info.customer_notes") != "发顺丰" {
		t.Fatalf("notes: %s", w.shop.orders[1])
	}
	if e := w.lastEvent(); e["Event"] != "channels_ec_order_ext_info_update" || at(e, "order_info.type") != "3" {
		t.Fatalf("event %v", e)
	}
	w.want(9401020, msNotes, `{"order_id":2,"merchant_notes":7}`)
	w.want(0, msNotes, `{"order_id":2,"merchant_notes":"库存不足"}`)
	if o := w.shop.order(t, 2); at(o, "ext_info.merchant_notes") != "库存不足" {
		t.Fatalf("notes: %s", w.shop.orders[2])
	}
}

func TestPriceRules(t *testing.T) {
	for _, fam := range []struct {
		name, path, order    string
		bigLine, bad, lineID string
	}{
		{"store", storePrice, storeOrderJSON(1, 10), `"product_id":"101","sku_id":"1011"`, "40097", `"1"`},
		{"minishop", msPrice, miniShopOrderJSON(1, 10), `"product_id":9007199254740993,"sku_id":9007199254740995`, "9401020", `1`},
	} {
		t.Run(fam.name, func(t *testing.T) {
			w := newWriter(t)
			w.shop.orders[1] = []byte(fam.order)
			w.shop.orders[2] = []byte(strings.Replace(fam.order, `"status":10`, `"status":20`, 1))
			bad, _ := strconv.ParseInt(fam.bad, 10, 64)
			change := func(id string, lines string, rest string) string {
				return fmt.Sprintf(`{"order_id":%s,"change_order_infos":[%s]%s}`, id, lines, rest)
			}
			line := func(total int) string { return fmt.Sprintf(`{%s,"change_price":%d}`, fam.bigLine, total) }
			paid := strings.Replace(fam.lineID, "1", "2", 1)
			w.want(101100, fam.path, change(paid, line(1500), ""))
			w.want(bad, fam.path, change(fam.lineID, "", ""))
			w.want(bad, fam.path, change(fam.lineID, `{"product_id":"101","sku_id":"4","change_price":1}`, ""))
			w.want(bad, fam.path, change(fam.lineID, line(-1), ""))
			w.want(bad, fam.path, change(fam.lineID, line(100)+","+line(200), ""))
			w.want(108021, fam.path, change(fam.lineID, line(2000), ""))
			w.want(108021, fam.path, change(fam.lineID, "", `,"change_express":true,"express_fee":600`))
			w.want(108023, fam.path, change(fam.lineID, line(0)+`,{"product_id":"102","sku_id":"1021","change_price":0}`, `,"change_express":true,"express_fee":0`))
			// The line of 2000 to 1500 and the freight of 500 to 0: 3000 → 2000.
			w.want(0, fam.path, change(fam.lineID, line(1500), `,"change_express":true,"express_fee":0`))
			o := w.shop.order(t, 1)
			for path, want := range map[string]any{
				"price_info.order_price": "2000", "price_info.product_price": "2000", "price_info.freight": "0", "price_info.change_freight": "0",
				"price_info.is_change_freight": true, "price_info.original_order_price": "3000", "price_info.change_down_price": "1000",
			} {
				if got := at(o, "order_detail."+path); got != want {
					t.Errorf("%s = %v, want %v", path, got, want)
				}
			}
			if fam.name == "store" && at(o, "order_detail.product_infos.0.real_price") != "1500" {
				t.Errorf("real_price %v", at(o, "order_detail.product_infos.0.real_price"))
			}
			// Lower than the current total, not the first: 1500 stands.
			w.want(108021, fam.path, change(fam.lineID, line(1500), ""))
			w.want(0, fam.path, change(fam.lineID, line(1200), ""))
			if o := w.shop.order(t, 1); at(o, "order_detail.price_info.order_price") != "1700" || at(o, "order_detail.price_info.change_down_price") != "1300" {
				t.Fatalf("second change: %s", w.shop.orders[1])
			}
			// 50 changes in all, then no more.
			for total := 1199; total > 1151; total-- {
				w.want(0, fam.path, change(fam.lineID, line(total), ""))
			}
			w.want(108022, fam.path, change(fam.lineID, line(100), ""))
			if fam.name == "store" {
				if e := w.lastEvent(); at(e, "order_info.type") != "12" {
					t.Fatalf("event %v", e)
				}
			}
		})
	}
}

func TestStoreAddressRules(t *testing.T) {
	w := newWriter(t)
	w.shop.orders[1] = []byte(storeOrderJSON(1, 20))
	w.shop.orders[2] = []byte(storeOrderJSON(2, 30))
	address := func(id, name string) string {
		return fmt.Sprintf(`{"order_id":"%s","user_address":{"user_name":%q,"province_name":"广东省","city_name":"广州市","county_name":"海珠区","detail_info":"新港东路 1 号","tel_number":"13800000001","house_number":"5"}}`, id, name)
	}
	w.want(101100, storeAddress, address("2", "李四"))
	w.want(40097, storeAddress, address("1", ""))
	c, _ := ParseWrite(storeAddress, []byte(address("1", "李四")))
	if r := w.w.Apply(w.shop, c, w.now, false); r.Errcode != 0 || !r.AddressPending || len(r.Events) != 0 {
		t.Fatalf("asked: %+v", r)
	}
	if at(w.shop.order(t, 1), "order_detail.delivery_info.address_info.user_name") != "陈**" {
		t.Fatal("the address changed before the buyer agreed")
	}
	w.want(0, storeAddress, address("1", "王五")) // the last asked is what the buyer agrees to
	event, ok := w.w.AgreeAddress(w.shop, 1, w.now)
	o := w.shop.order(t, 1)
	if !ok || at(o, "order_detail.delivery_info.address_info.user_name") != "王五" || at(o, "order_detail.delivery_info.address_info.house_number") != "5" {
		t.Fatalf("agreed %v: %s", ok, w.shop.orders[1])
	}
	if e := decoded(t, event); at(e, "Event") != "channels_ec_order_ext_info_update" || at(e, "order_info.type") != "2" {
		t.Fatalf("event %s", event)
	}
	if _, ok := w.w.AgreeAddress(w.shop, 1, w.now); ok {
		t.Fatal("agreed twice")
	}
	for range 3 {
		w.want(0, storeAddress, address("1", "赵六"))
	}
	w.want(606041, storeAddress, address("1", "赵六"))
	// A change still pending when the order ships lapses.
	w.shop.orders[1] = []byte(strings.Replace(string(w.shop.orders[1]), `"status":20`, `"status":30`, 1))
	if _, ok := w.w.AgreeAddress(w.shop, 1, w.now); ok || at(w.shop.order(t, 1), "order_detail.delivery_info.address_info.user_name") != "王五" {
		t.Fatalf("a lapsed change applied: %s", w.shop.orders[1])
	}
}

func storeAfterSaleJSON(id, orderID uint64, kind, status string) string {
	return fmt.Sprintf(`{"after_sale_order_id":"%d","order_id":"%d","status":%q,"type":%q,"openid":"oBuyer",
		"product_info":{"product_id":"101","sku_id":"1011","count":1},"refund_info":{"amount":1000},"create_time":1714000000,"update_time":1714000000}`, id, orderID, status, kind)
}

func TestStoreAfterSaleRules(t *testing.T) {
	w := newWriter(t)
	w.shop.orders[1] = withAfterSales(storeOrderJSON(1, 30), `{"aftersale_order_id":"71","status":2},{"aftersale_order_id":"72","status":2},{"aftersale_order_id":"73","status":2}`, 3)
	w.shop.afterSales[71] = []byte(storeAfterSaleJSON(71, 1, "REFUND", "MERCHANT_PROCESSING"))
	w.shop.afterSales[72] = []byte(storeAfterSaleJSON(72, 1, "RETURN", "MERCHANT_PROCESSING"))
	w.shop.afterSales[73] = []byte(storeAfterSaleJSON(73, 1, "REFUND", "MERCHANT_PROCESSING"))
	w.shop.afterSales[74] = []byte(storeAfterSaleJSON(74, 1, "REFUND", "MERCHANT_REFUND_SUCCESS"))

	w.want(10021050, storeAccept, `{"after_sale_order_id":"99"}`)
	w.want(10020001, storeAccept, `{"after_sale_order_id":"74"}`)
	w.want(10020001, storeAccept, `{"after_sale_order_id":"71","accept_type":1}`)
	w.want(40097, storeAccept, `{"after_sale_order_id":"71","accept_type":5}`)
	w.want(0, storeAccept, `{"after_sale_order_id":"71"}`)
	if a := w.shop.afterSale(t, 71); at(a, "status") != "MERCHANT_REFUND_SUCCESS" || at(a, "update_time") != strconv.FormatInt(writeNow.Unix(), 10) {
		t.Fatalf("refunded: %s", w.shop.afterSales[71])
	}
	o := w.shop.order(t, 1)
	if at(o, "aftersale_detail.aftersale_order_list.0.status") != "13" || at(o, "aftersale_detail.on_aftersale_order_cnt") != "2" ||
		at(o, "order_detail.product_infos.0.finish_aftersale_sku_cnt") != "1" {
		t.Fatalf("the order after the refund: %s", w.shop.orders[1])
	}
	if e := w.lastEvent(); e["Event"] != "channels_ec_aftersale_update" || at(e, "finder_shop_aftersale_status_update.order_id") != "1" ||
		at(e, "aftersale_info.after_sale_order_id") != "71" || at(e, "finder_shop_aftersale_status_update.status") != "MERCHANT_REFUND_SUCCESS" {
		t.Fatalf("event %v", e)
	}
	// One refund a minute per order.
	w.want(10021059, storeAccept, `{"after_sale_order_id":"73"}`)

	// A return: approved with an address, then refunded once back.
	w.want(10021058, storeAccept, `{"after_sale_order_id":"72"}`)
	w.want(10021062, storeAccept, `{"after_sale_order_id":"72","address_id":"404"}`)
	w.want(0, storeAccept, `{"after_sale_order_id":"72","address_id":"`+DefaultReturnAddressID+`","accept_type":1}`)
	if at(w.shop.afterSale(t, 72), "status") != "USER_WAIT_RETURN" || at(w.shop.order(t, 1), "aftersale_detail.aftersale_order_list.1.status") != "6" {
		t.Fatalf("approved: %s %s", w.shop.afterSales[72], w.shop.orders[1])
	}
	w.want(10021059, storeAccept, `{"after_sale_order_id":"72"}`)
	w.now = writeNow.Add(time.Minute)
	w.want(0, storeAccept, `{"after_sale_order_id":"72","accept_type":2}`)
	if at(w.shop.afterSale(t, 72), "status") != "MERCHANT_RETURN_SUCCESS" || at(w.shop.order(t, 1), "aftersale_detail.on_aftersale_order_cnt") != "1" {
		t.Fatalf("refunded: %s %s", w.shop.afterSales[72], w.shop.orders[1])
	}

	// Reject: a reason type from the list.
	w.want(40097, storeReject, `{"after_sale_order_id":"73","reject_reason":"no"}`)
	w.want(40097, storeReject, `{"after_sale_order_id":"73","reject_reason_type":99}`)
	w.want(10020001, storeReject, `{"after_sale_order_id":"74","reject_reason_type":1}`)
	w.want(0, storeReject, `{"after_sale_order_id":"73","reject_reason_type":2}`)
	a := w.shop.afterSale(t, 73)
	if at(a, "status") != "MERCHANT_REJECT_REFUND" || at(a, "merchant_upload_info.reject_reason") != "未收到买家退回的商品" {
		t.Fatalf("rejected: %s", w.shop.afterSales[73])
	}
	// Rejected is still in progress, as the Store counts.
	if o := w.shop.order(t, 1); at(o, "aftersale_detail.aftersale_order_list.2.status") != "4" || at(o, "aftersale_detail.on_aftersale_order_cnt") != "1" {
		t.Fatalf("the order after the rejection: %s", w.shop.orders[1])
	}
	w.want(10020001, storeReject, `{"after_sale_order_id":"73","reject_reason_type":2}`)
}

func TestMiniShopAfterSaleRules(t *testing.T) {
	w := newWriter(t)
	w.shop.orders[1] = withAfterSales(miniShopOrderJSON(1, 20), `{"aftersale_order_id":81,"status":2},{"aftersale_order_id":82,"status":2}`, 2)
	record := func(id uint64, kind string) []byte {
		return []byte(fmt.Sprintf(`{"order_id":%d,"original_order_id":1,"status":"MERCHANT_PROCESSING","type":%q,"openid":"oBuyer","product_info":{"product_id":102,"sku_id":1021,"count":1},"create_time":1,"update_time":1}`, id, kind))
	}
	w.shop.afterSales[81], w.shop.afterSales[82] = record(81, "RETURN"), record(82, "REFUND")
	w.want(100002, msAccept, `{"order_id":99}`)
	w.want(9401020, msAccept, `{"order_id":81}`)
	w.want(0, msAccept, `{"order_id":81,"address_id":123}`)
	w.want(0, msAccept, `{"order_id":81}`)
	w.want(101100, msAccept, `{"order_id":81}`)
	w.want(0, msAccept, `{"order_id":82}`) // Mini Shop has no refund a minute
	o := w.shop.order(t, 1)
	if at(w.shop.afterSale(t, 81), "status") != "MERCHANT_RETURN_SUCCESS" || at(o, "aftersale_detail.aftersale_order_list.0.status") != "14" ||
		at(o, "aftersale_detail.on_aftersale_order_cnt") != "0" || at(o, "update_time") != "2026-05-01 12:00:00" ||
		at(o, "order_detail.product_infos.1.finish_aftersale_sku_cnt") != "2" {
		t.Fatalf("refunded: %s", w.shop.orders[1])
	}
	w.shop.afterSales[83] = record(83, "RETURN")
	w.want(9401020, msReject, `{"order_id":83}`)
	w.want(0, msReject, `{"order_id":83,"reject_reason":"商品已拆封"}`)
	w.want(101100, msReject, `{"order_id":83,"reject_reason":"商品已拆封"}`)
	if a := w.shop.afterSale(t, 83); at(a, "status") != "MERCHANT_REJECT_RETURN" || at(a, "merchant_upload_info.reject_reason") != "商品已拆封" {
		t.Fatalf("rejected: %s", w.shop.afterSales[83])
	}
	if len(w.events) != 0 {
		t.Fatalf("Mini Shop pushes no events: %s", w.events)
	}
}

// A write to an order another write is busy with fails with 100003 and
// changes nothing; an after-sale call concerns its order.
func TestConcurrentWritesRule(t *testing.T) {
	shop := newMemShop()
	shop.orders[1] = []byte(storeOrderJSON(1, 20))
	shop.afterSales[7] = []byte(storeAfterSaleJSON(7, 1, "REFUND", "MERCHANT_PROCESSING"))
	var w Writes
	var flights InFlight
	notes, _ := ParseWrite(storeNotes, []byte(`{"order_id":"1","merchant_notes":"x"}`))
	accept, _ := ParseWrite(storeAccept, []byte(`{"after_sale_order_id":"7"}`))
	if notes.OrderID(shop) != 1 || accept.OrderID(shop) != 1 || accept.ID != 7 {
		t.Fatalf("orders %d %d", notes.OrderID(shop), accept.OrderID(shop))
	}
	busy1, leave1 := flights.Enter(notes.OrderID(shop))
	busy2, leave2 := flights.Enter(accept.OrderID(shop))
	busy3, leave3 := flights.Enter(2)
	if busy1 || !busy2 || busy3 || flights.Peak() != 2 {
		t.Fatalf("busy %v %v %v, peak %d", busy1, busy2, busy3, flights.Peak())
	}
	if r := w.Apply(shop, accept, writeNow, busy2); r.Errcode != 100003 || r.Applied() || len(r.Events) != 0 ||
		!strings.Contains(string(shop.afterSales[7]), "MERCHANT_PROCESSING") {
		t.Fatalf("the later write: %+v", r)
	}
	if r := w.Apply(shop, notes, writeNow, busy1); r.Errcode != 0 {
		t.Fatalf("the earlier write: %+v", r)
	}
	leave1()
	leave1() // leaving twice counts once
	leave2()
	leave3()
	if busy, leave := flights.Enter(1); busy {
		t.Fatal("still busy after both left")
	} else {
		leave()
	}
}

func TestLookups(t *testing.T) {
	call := func(shape Shape, path, body string) map[string]any {
		t.Helper()
		rec := httptest.NewRecorder()
		Lookups(shape)[path](rec, httptest.NewRequest("POST", path, strings.NewReader(body)))
		return decoded(t, rec.Body.Bytes()).(map[string]any)
	}
	if v := call(StoreShape, "/channels/ec/order/deliverycompanylist/new/get", `{}`); v["errcode"] != json.Number("40097") {
		t.Fatalf("no ewaybill_only: %v", v)
	}
	v := call(StoreShape, "/channels/ec/order/deliverycompanylist/new/get", `{"ewaybill_only":false}`)
	ms := call(MiniShopShape, "/product/delivery/get_company_list", `{}`)
	for _, id := range []string{"SF", "ZTO", "YTO", "YUNDA", "JTSD", "STO", "JD", "EMS", "OTHER"} {
		if !strings.Contains(fmt.Sprint(v["company_list"]), "delivery_id:"+id+" ") || !strings.Contains(fmt.Sprint(ms["company_list"]), "delivery_id:"+id+" ") {
			t.Errorf("carrier %s missing: %v %v", id, v, ms)
		}
	}
	if at(v, "company_list.1.delivery_name") != "中通快递" {
		t.Errorf("names: %v", v)
	}
	if v := call(StoreShape, "/channels/ec/aftersale/rejectreason/get", `{}`); at(v, "reject_reason_list.0.reject_reason_type") != "1" || at(v, "reject_reason_list.0.reject_reason_type_text") == "" {
		t.Errorf("reasons: %v", v)
	}
	list := call(StoreShape, "/channels/ec/merchant/address/list", `{"offset":0,"limit":100}`)
	if fmt.Sprint(list["address_id_list"]) != "[7001 7002]" {
		t.Fatalf("addresses: %v", list)
	}
	if v := call(StoreShape, "/channels/ec/merchant/address/list", `{"offset":1,"limit":9223372036854775807}`); fmt.Sprint(v["address_id_list"]) != "[7002]" {
		t.Fatalf("second page: %v", v)
	}
	a := call(StoreShape, "/channels/ec/merchant/address/get", `{"address_id":"7001"}`)
	if at(a, "address_detail.default_recv") != "1" || at(a, "address_detail.address_info.city_name") != "杭州市" {
		t.Fatalf("address: %v", a)
	}
	if v := call(StoreShape, "/channels/ec/merchant/address/get", `{"address_id":"1"}`); v["errcode"] != json.Number("40097") {
		t.Fatalf("no such address: %v", v)
	}
}

// Every write call is one family's, and both fakes route them all.
func TestWritePaths(t *testing.T) {
	if got := len(WritePaths(StoreShape)) + len(WritePaths(MiniShopShape)); got != len(writeCalls) || len(WritePaths(MiniShopShape)) != 5 {
		t.Fatalf("%v %v", WritePaths(StoreShape), WritePaths(MiniShopShape))
	}
	if _, ok := ParseWrite("/channels/ec/order/get", nil); ok {
		t.Fatal("a read parsed as a write")
	}
}
