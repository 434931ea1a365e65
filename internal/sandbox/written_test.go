package sandbox

import (
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// client calls a sandbox of both families over HTTP, and keeps the Store
// events the write calls push.
type client struct {
	t      *testing.T
	s      *Sandbox
	mu     sync.Mutex
	events []map[string]any
}

func newClient(t *testing.T) *client {
	c := &client{t: t, s: New(0, MiniShopRoutes, StoreRoutes)}
	c.s.emit = func(event []byte, _ time.Time) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.events = append(c.events, decoded(t, event).(map[string]any))
	}
	return c
}

func (c *client) call(path, body string) map[string]any {
	c.t.Helper()
	rec := httptest.NewRecorder()
	c.s.ServeHTTP(rec, httptest.NewRequest("POST", path+"?access_token="+c.s.accessToken(), strings.NewReader(body)))
	v, ok := decodeObject(rec.Body.Bytes())
	if !ok {
		c.t.Fatalf("%s %s: %d %s", path, body, rec.Code, rec.Body.String())
	}
	return v
}

func (c *client) ok(path, body string) {
	c.t.Helper()
	if v := c.call(path, body); at(v, "errcode") != "0" {
		c.t.Fatalf("%s %s: %v", path, body, v)
	}
}

// The kept orders are as their names say, and the player leaves them be.
func TestSandboxKeepsOrdersToWrite(t *testing.T) {
	s := New(0, MiniShopRoutes, StoreRoutes)
	for id, want := range map[uint64]string{ShippableOrderID: "20/0", PartlyShippedOrderID: "21/0", ShippedOrderID: "30/0", UnpaidOrderID: "10/0", AfterSaleOrderID: "21/1"} {
		o := s.catalogue.byID[id]
		if got := fmt.Sprintf("%d/%d", o["status"], o["aftersale_detail"].(map[string]any)["on_aftersale_order_cnt"]); got != want {
			t.Errorf("order %d: status/after-sales %s, want %s", id, got, want)
		}
	}
	if o := s.catalogue.byID[ShippableOrderID]; len(o["order_detail"].(map[string]any)["product_infos"].([]map[string]any)) != 3 {
		t.Error("the shippable order has not three SKU lines")
	}
	for id, kind := range map[uint64]string{RefundAfterSaleID: "REFUND", ReturnAfterSaleID: "RETURN"} {
		a := GenerateAfterSale(id)
		if a["type"] != kind || a["status"] != "MERCHANT_PROCESSING" || !reserved[a["original_order_id"].(uint64)] {
			t.Errorf("after-sale order %d: %v", id, a)
		}
	}
	for range 2 * CatalogueSize {
		if id, event := s.Advance(time.Now()); reserved[id] || event == nil {
			t.Fatalf("the player moved order %d on (event %s)", id, event)
		}
	}
}

// A Store catalogue order shipped over HTTP: order/get and the list show
// it, at the top of a list by update time, the event goes out, and the
// player leaves the written order alone.
func TestSandboxShipsStoreOrder(t *testing.T) {
	c := newClient(t)
	id := strconv.Itoa(ShippableOrderID)
	before := c.call("/channels/ec/order/get", `{"order_id":"`+id+`"}`)
	var items []string
	for _, p := range array(at(before, "order.order_detail.product_infos")) {
		items = append(items, fmt.Sprintf(`{"product_id":%q,"sku_id":%q,"product_cnt":%s}`, at(p, "product_id"), at(p, "sku_id"), at(p, "sku_cnt")))
	}
	c.ok("/channels/ec/order/delivery/send", `{"order_id":"`+id+`","delivery_list":[{"delivery_id":"SF","waybill_id":"SF0001","deliver_type":1,"product_infos":[`+strings.Join(items, ",")+`]}]}`)

	o := c.call("/channels/ec/order/get", `{"order_id":"`+id+`"}`)
	updated, _ := strconv.ParseInt(at(o, "order.update_time").(string), 10, 64)
	if at(o, "order.status") != "30" || at(o, "order.order_detail.delivery_info.delivery_product_info.0.waybill_id") != "SF0001" || time.Since(time.Unix(updated, 0)) > time.Minute {
		t.Fatalf("after shipping: %v", o)
	}
	list := c.call("/channels/ec/order/list/get", fmt.Sprintf(`{"update_time_range":{"start_time":%d,"end_time":%d},"status":30,"page_size":5,"next_key":""}`, updated-60, updated+60))
	if at(list, "order_id_list.0") != id {
		t.Fatalf("the list by update time: %v", list)
	}
	search := c.call("/channels/ec/order/search", `{"search_condition":{"order_id":"`+id+`"},"status":30,"page_size":5,"next_key":""}`)
	if at(search, "orders.0") != id {
		t.Fatalf("the search: %v", search)
	}
	if len(c.events) != 1 || c.events[0]["Event"] != "channels_ec_order_deliver" || at(c.events[0], "order_info.order_id") != id || at(c.events[0], "order_info.finish_delivery") != "1" {
		t.Fatalf("events %v", c.events)
	}
	// Mini Shop's shape is another family's copy, unwritten.
	if ms := c.call("/product/order/get", `{"order_id":`+id+`}`); at(ms, "order.status") != "20" {
		t.Fatalf("Mini Shop's copy: %v", ms)
	}
	// A generated order outside the catalogue is writable too.
	c.ok("/channels/ec/order/merchantnotes/update", `{"order_id":"123456","merchant_notes":"已联系买家"}`)
	if o := c.call("/channels/ec/order/get", `{"order_id":"123456"}`); at(o, "order.order_detail.ext_info.merchant_notes") != "已联系买家" {
		t.Fatalf("generated order: %v", o)
	}
	if v := c.call("/channels/ec/order/merchantnotes/update", `{"order_id":"999","merchant_notes":"x"}`); at(v, "errcode") != "100002" {
		t.Fatalf("no such order: %v", v)
	}
	if v := c.call("/channels/ec/order/merchantnotes/update?access_token=stale", `{"order_id":"123456","merchant_notes":"x"}`); at(v, "errcode") != "40001" {
		t.Fatalf("a stale token: %v", v)
	}
}

// Mini Shop's poller lists by update time: a written order is found there.
func TestSandboxShipsMiniShopOrder(t *testing.T) {
	c := newClient(t)
	id := strconv.Itoa(ShippableOrderID)
	c.ok("/product/delivery/send", `{"order_id":`+id+`,"delivery_list":[{"delivery_id":"YTO","waybill_id":"YT0001","is_all_product":true}]}`)
	o := c.call("/product/order/get", `{"order_id":`+id+`}`)
	updated := at(o, "order.update_time").(string)
	if at(o, "order.status") != "30" || at(o, "order.order_detail.delivery_info.delivery_product_info.0.product_infos.2.product_cnt") == nil {
		t.Fatalf("after shipping: %v", o)
	}
	list := c.call("/product/order/get_list", fmt.Sprintf(`{"start_update_time":%q,"end_update_time":%[1]q,"page":1,"page_size":10}`, updated))
	if at(list, "total_num") != "1" || at(list, "orders.0.order_id") != id || at(list, "orders.0.status") != "30" {
		t.Fatalf("get_list by update time: %v", list)
	}
	if len(c.events) != 0 {
		t.Fatalf("Mini Shop pushes nothing: %v", c.events)
	}
	// The doc's example order takes writes too, and then answers the copy.
	c.ok("/product/order/change_merchant_notes", fmt.Sprintf(`{"order_id":%d,"merchant_notes":"已补货"}`, VendorExampleID))
	if o := c.call("/product/order/get", fmt.Sprintf(`{"order_id":%d}`, VendorExampleID)); at(o, "order.ext_info.merchant_notes") != "已补货" || at(o, "order.order_detail.product_infos.0.title") != "健身环" {
		t.Fatalf("the example: %v", o)
	}
	// Scripted ids are not orders to write.
	if v := c.call("/product/order/change_merchant_notes", `{"order_id":48001,"merchant_notes":"x"}`); at(v, "errcode") != "100002" {
		t.Fatalf("a scripted id: %v", v)
	}
}

// An address change waits for the buyer: by itself after the delay, or
// when AgreeAddress says so.
func TestSandboxAddressChange(t *testing.T) {
	c := newClient(t)
	c.s.SetAddressDelay(0)
	id := strconv.Itoa(UnpaidOrderID)
	c.ok("/channels/ec/order/address/update", `{"order_id":"`+id+`","user_address":{"user_name":"李四","province_name":"浙江省","city_name":"杭州市","county_name":"西湖区","detail_info":"文三路 1 号","tel_number":"13900000000"}}`)
	if o := c.call("/channels/ec/order/get", `{"order_id":"`+id+`"}`); at(o, "order.order_detail.delivery_info.address_info.user_name") == "李四" {
		t.Fatal("the address changed before the buyer agreed")
	}
	if !c.s.AgreeAddress(UnpaidOrderID) || c.s.AgreeAddress(UnpaidOrderID) {
		t.Fatal("agreeing: want once")
	}
	if o := c.call("/channels/ec/order/get", `{"order_id":"`+id+`"}`); at(o, "order.order_detail.delivery_info.address_info.user_name") != "李四" {
		t.Fatalf("after agreeing: %v", o)
	}
	if len(c.events) != 1 || at(c.events[0], "order_info.type") != "2" {
		t.Fatalf("events %v", c.events)
	}
	if c.s.addressDelay != 0 || New(0).addressDelay != DefaultAddressDelay {
		t.Fatal("the delay")
	}
}

// After-sale orders over HTTP: a refund accepted, a return approved and
// refunded; the order and the after-sale calls show it.
func TestSandboxAfterSales(t *testing.T) {
	c := newClient(t)
	refund, ret := strconv.Itoa(RefundAfterSaleID), strconv.Itoa(ReturnAfterSaleID)
	c.ok("/channels/ec/aftersale/acceptapply", `{"after_sale_order_id":"`+refund+`"}`)
	if a := c.call("/channels/ec/aftersale/getaftersaleorder", `{"after_sale_order_id":"`+refund+`"}`); at(a, "after_sale_order.status") != "MERCHANT_REFUND_SUCCESS" {
		t.Fatalf("refunded: %v", a)
	}
	order := strconv.Itoa(CatalogueFirstID + RefundAfterSaleID - CatalogueAfterSaleFirstID)
	if o := c.call("/channels/ec/order/get", `{"order_id":"`+order+`"}`); at(o, "order.aftersale_detail.on_aftersale_order_cnt") != "0" ||
		at(o, "order.aftersale_detail.aftersale_order_list.0.status") != "13" {
		t.Fatalf("its order: %v", o)
	}
	if v := c.call("/channels/ec/aftersale/acceptapply", `{"after_sale_order_id":"`+ret+`"}`); at(v, "errcode") != "10021058" {
		t.Fatalf("a return without an address: %v", v)
	}
	c.ok("/channels/ec/aftersale/acceptapply", `{"after_sale_order_id":"`+ret+`","address_id":"`+DefaultReturnAddressID+`"}`)
	c.ok("/channels/ec/aftersale/acceptapply", `{"after_sale_order_id":"`+ret+`"}`)
	if a := c.call("/channels/ec/aftersale/getaftersaleorder", `{"after_sale_order_id":"`+ret+`"}`); at(a, "after_sale_order.status") != "MERCHANT_RETURN_SUCCESS" {
		t.Fatalf("returned: %v", a)
	}
	if len(c.events) != 3 || at(c.events[1], "finder_shop_aftersale_status_update.status") != "USER_WAIT_RETURN" {
		t.Fatalf("events %v", c.events)
	}
	// Mini Shop's copy of the same after-sale order, rejected there.
	c.ok("/product/order/rejectrefund", `{"order_id":`+refund+`,"reject_reason":"商品已发出"}`)
	batch := c.call("/product/order/batchgetaftersaleorder", `{"after_sale_order_id_list":[`+refund+`,1001]}`)
	if at(batch, "after_sale_order_list.1.status") != "MERCHANT_REJECT_REFUND" || at(batch, "after_sale_order_list.1.order_id") != refund {
		t.Fatalf("batch: %v", batch)
	}
	for _, path := range []string{"/channels/ec/aftersale/rejectreason/get", "/product/delivery/get_company_list"} {
		c.ok(path, `{}`)
	}
}
