package wechattest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/minishop"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/sandbox"
	"github.com/ordergraph/ordergraph/internal/token"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wechattest"
	"github.com/ordergraph/ordergraph/internal/wxstore"
)

const (
	storeOrder = `{"order_id":"3705115058471208928","status":20,"create_time":1714112400,"update_time":1714112445,"openid":"oBuyer",
		"order_detail":{"product_infos":[{"product_id":"10000192852886","sku_id":"3014051159","sku_cnt":2,"sale_price":2000,"real_price":4000}],
		"price_info":{"product_price":4000,"order_price":4000,"freight":0,"discounted_price":0,"is_discounted":false},
		"delivery_info":{"address_info":{"user_name":"陈**"},"delivery_product_info":[],"ship_done_time":0,"deliver_method":0},
		"ext_info":{"customer_notes":"","merchant_notes":""}},
		"aftersale_detail":{"aftersale_order_list":[{"aftersale_order_id":"6000000000000001","status":2},{"aftersale_order_id":"6000000000000002","status":2}],"on_aftersale_order_cnt":2}}`
	storeOrderID   = 3705115058471208928
	storeRefund    = `{"after_sale_order_id":"6000000000000001","order_id":"3705115058471208928","status":"MERCHANT_PROCESSING","type":"REFUND","product_info":{"product_id":"10000192852886","sku_id":"3014051159","count":1}}`
	miniShopUnpaid = `{"order_id":32423523451235145,"status":10,"create_time":"2024-05-01 00:03:11","update_time":"2024-05-01 00:04:02",
		"order_detail":{"product_infos":[{"product_id":234245,"sku_id":23424,"sku_cnt":1,"sale_price":2000}],
		"price_info":{"product_price":2000,"order_price":2500,"freight":500,"discounted_price":0,"is_discounted":false}},
		"aftersale_detail":{"aftersale_order_list":[],"on_aftersale_order_cnt":0},"ext_info":{"customer_notes":"","merchant_notes":""}}`
	miniShopOrderID = 32423523451235145
)

// rig is a fake with the real client of each family reading it back.
type rig struct {
	t    *testing.T
	f    *wechattest.Fake
	tok  string
	read *wechat.Client
}

func newRig(t *testing.T) *rig {
	f := wechattest.New(t)
	tok := f.IssueToken()
	return &rig{t: t, f: f, tok: tok, read: wechat.NewClient(wechat.NewTransport(wechat.TransportConfig{BaseURL: f.URL}), token.Static(tok))}
}

// post sends a write and returns its errcode, or the transport's error.
func (r *rig) post(ctx context.Context, path, body string) (int64, error) {
	req, _ := http.NewRequestWithContext(ctx, "POST", r.f.URL+path+"?access_token="+r.tok, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var answer struct{ Errcode int64 }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &answer) != nil {
		return 0, errors.New(resp.Status + " " + string(b))
	}
	return answer.Errcode, nil
}

func (r *rig) want(code int64, path, body string) {
	r.t.Helper()
	got, err := r.post(context.Background(), path, body)
	if err != nil || got != code {
		r.t.Fatalf("%s %s: errcode %d (%v), want %d", path, body, got, err, code)
	}
}

func (r *rig) storeOrder() *order.Order {
	r.t.Helper()
	o, err := wxstore.NewOrders(r.read).Order(context.Background(), storeOrderID)
	if err != nil {
		r.t.Fatal(err)
	}
	return o
}

// The writes apply to what the test scripted, so that the family's own
// reads (its real decoder) show them; every call is recorded.
func TestWritesApplyToScriptedOrders(t *testing.T) {
	r := newRig(t)
	r.f.SetOrder(storeOrderID, storeOrder)
	r.f.SetAfterSale(6000000000000001, storeRefund)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, order.ChinaTime)
	r.f.SetClock(func() time.Time { return now })

	r.want(0, "/channels/ec/order/delivery/send", `{"order_id":"3705115058471208928","delivery_list":[{"delivery_id":"YTO","waybill_id":"YT1","deliver_type":1,"product_infos":[{"product_id":"10000192852886","sku_id":"3014051159","product_cnt":1}]}]}`)
	r.want(0, "/channels/ec/order/merchantnotes/update", `{"order_id":"3705115058471208928","merchant_notes":"拆两单"}`)
	o := r.storeOrder()
	parcels := o.OrderDetail.DeliveryInfo.DeliveryProductInfo
	if o.Status != order.StatusPartiallyShipped || len(parcels) != 1 || *parcels[0].WaybillID != "YT1" || *parcels[0].DeliveryName != "圆通速递" ||
		parcels[0].ProductInfos[0] != (order.FreightProductInfo{ProductID: 10000192852886, SkuID: 3014051159, ProductCnt: 1}) ||
		!parcels[0].DeliveryTime.Equal(now) || !o.UpdateTime.Equal(now) || *o.ExtInfo.MerchantNotes != "拆两单" {
		t.Fatalf("read back: %+v %+v", o, parcels)
	}

	r.want(0, "/channels/ec/aftersale/acceptapply", `{"after_sale_order_id":"6000000000000001"}`)
	a, err := wxstore.NewAfterSales(r.read).AfterSaleOrders(context.Background(), []uint64{6000000000000001})
	if err != nil || a[6000000000000001].Status != "MERCHANT_REFUND_SUCCESS" {
		t.Fatalf("after-sale read back: %v %+v", err, a)
	}
	if o := r.storeOrder(); o.AftersaleDetail.OnAftersaleOrderCnt != 1 || o.OrderDetail.ProductInfos[0].FinishAftersaleSkuCnt != 1 {
		t.Fatalf("its order: %+v", o.AftersaleDetail)
	}
	// One refund a minute per order, on the fake's clock.
	r.f.SetAfterSale(6000000000000002, strings.ReplaceAll(storeRefund, "6000000000000001", "6000000000000002"))
	r.want(10021059, "/channels/ec/aftersale/acceptapply", `{"after_sale_order_id":"6000000000000002"}`)
	now = now.Add(time.Minute)
	r.want(0, "/channels/ec/aftersale/acceptapply", `{"after_sale_order_id":"6000000000000002"}`)

	// The address changes once the buyer agrees.
	r.f.SetOrder(storeOrderID, storeOrder)
	r.want(0, "/channels/ec/order/address/update", `{"order_id":"3705115058471208928","user_address":{"user_name":"李四","province_name":"浙江省","city_name":"杭州市","county_name":"西湖区","detail_info":"文三路 1 号","tel_number":"13900000000"}}`)
	if *r.storeOrder().OrderDetail.DeliveryInfo.AddressInfo.UserName != "陈**" {
		t.Fatal("changed before the buyer agreed")
	}
	if !r.f.AgreeAddress(storeOrderID) || *r.storeOrder().OrderDetail.DeliveryInfo.AddressInfo.UserName != "李四" {
		t.Fatal("the buyer's agreement did not apply")
	}

	// Mini Shop: ids as numbers beyond 2^53, the price lowered.
	r.f.SetOrder(miniShopOrderID, miniShopUnpaid)
	r.want(108021, "/product/order/change_order_price", `{"order_id":32423523451235145,"change_order_infos":[{"product_id":234245,"sku_id":23424,"change_price":2000}]}`)
	r.want(0, "/product/order/change_order_price", `{"order_id":32423523451235145,"change_order_infos":[{"product_id":234245,"sku_id":23424,"change_price":1800}],"change_express":true,"express_fee":0}`)
	m, err := minishop.NewOrders(r.read).Order(context.Background(), miniShopOrderID)
	if err != nil || m.OrderDetail.PriceInfo.OrderPrice != 1800 || *m.OrderDetail.PriceInfo.ChangeDownPrice != 700 || *m.OrderDetail.PriceInfo.OriginalOrderPrice != 2500 || !m.UpdateTime.Equal(now) {
		t.Fatalf("read back: %v %+v", err, m.OrderDetail.PriceInfo)
	}

	calls := r.f.WriteCalls()
	if len(calls) != 8 || r.f.WritesTo(storeOrderID) != 6 || r.f.WritesTo(miniShopOrderID) != 2 {
		t.Fatalf("%d calls, %d and %d per order: %+v", len(calls), r.f.WritesTo(storeOrderID), r.f.WritesTo(miniShopOrderID), calls)
	}
	if c := calls[2]; c.Path != "/channels/ec/aftersale/acceptapply" || c.ID != 6000000000000001 || c.OrderID != storeOrderID || !c.Applied || c.Errcode != 0 {
		t.Fatalf("the accept: %+v", c)
	}
	if c := calls[3]; c.Applied || c.Errcode != 10021059 || !strings.Contains(c.Body, "6000000000000002") {
		t.Fatalf("the refused accept: %+v", c)
	}
	if r.f.OrderCalls.Load() == 0 || r.f.PeakWritesPerOrder() != 1 || r.f.Refused100003() != 0 {
		t.Fatal("counters")
	}
}

// Faults strike instead of a write, or after it applied: a test tells a
// write that landed with its answer lost from one that never landed.
func TestWriteFaults(t *testing.T) {
	r := newRig(t)
	r.f.SetOrder(storeOrderID, storeOrder)
	const notes = "/channels/ec/order/merchantnotes/update"
	faults := map[int]wechattest.WriteFault{
		1: {Fault: wechattest.Fault{Drop: true}},
		2: {Fault: wechattest.Fault{Drop: true}, Apply: true},
		3: {Fault: wechattest.Fault{Errcode: -1}},
		4: {Fault: wechattest.Fault{Errcode: -1}, Apply: true},
		5: {Fault: wechattest.Fault{Status: http.StatusBadGateway}},
	}
	r.f.SetWriteFaults(func(path string, id uint64, attempt int) wechattest.WriteFault {
		if path != notes || id != storeOrderID {
			t.Errorf("faults asked for %s %d", path, id)
		}
		return faults[attempt]
	})
	for i, want := range []string{"", "第2次", "第2次", "第4次", "第4次", "第6次"} {
		body := `{"order_id":"3705115058471208928","merchant_notes":"第` + string(rune('1'+i)) + `次"}`
		code, err := r.post(context.Background(), notes, body)
		switch attempt := i + 1; {
		case attempt <= 2 || attempt == 5:
			if err == nil {
				t.Errorf("attempt %d answered %d", attempt, code)
			}
		case attempt <= 4:
			if err != nil || code != -1 {
				t.Errorf("attempt %d: %d %v", attempt, code, err)
			}
		default:
			if err != nil || code != 0 {
				t.Errorf("attempt %d: %d %v", attempt, code, err)
			}
		}
		if o := r.storeOrder(); *o.ExtInfo.MerchantNotes != want {
			t.Errorf("after attempt %d the notes are %q, want %q", i+1, *o.ExtInfo.MerchantNotes, want)
		}
	}
	calls := r.f.WriteCalls()
	for i, want := range []struct {
		applied bool
		errcode int64
	}{{false, 0}, {true, 0}, {false, -1}, {true, -1}, {false, 0}, {true, 0}} {
		if c := calls[i]; c.Applied != want.applied || c.Errcode != want.errcode || c.Fault != faults[i+1] {
			t.Errorf("call %d: %+v", i+1, c)
		}
	}
	if r.f.WritesTo(storeOrderID) != 6 {
		t.Errorf("%d writes", r.f.WritesTo(storeOrderID))
	}
}

// Two writes to one order in flight at once: the later answers 100003 and
// changes nothing. A write is in flight from its arrival until it answers,
// latency included; an after-sale write counts for its order; writes to
// other orders, or one after another, do not overlap.
func TestOverlappingWrites(t *testing.T) {
	r := newRig(t)
	r.f.SetOrder(storeOrderID, storeOrder)
	r.f.SetOrder(miniShopOrderID, miniShopUnpaid)
	r.f.SetAfterSale(6000000000000001, storeRefund)
	r.want(0, "/channels/ec/order/merchantnotes/update", `{"order_id":"3705115058471208928","merchant_notes":"one"}`)
	r.want(0, "/channels/ec/order/merchantnotes/update", `{"order_id":"3705115058471208928","merchant_notes":"after another"}`)
	if r.f.PeakWritesPerOrder() != 1 {
		t.Fatalf("one after another: peak %d", r.f.PeakWritesPerOrder())
	}

	// The next write waits out a latency of an hour, or until it is given
	// up on; the faults hook tells when it has arrived.
	arrived := make(chan struct{})
	var once sync.Once
	r.f.SetWriteFaults(func(string, uint64, int) wechattest.WriteFault {
		once.Do(func() { close(arrived) })
		return wechattest.WriteFault{}
	})
	r.f.SetWriteLatency(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error)
	go func() {
		_, err := r.post(ctx, "/channels/ec/order/merchantnotes/update", `{"order_id":"3705115058471208928","merchant_notes":"slow"}`)
		first <- err
	}()
	<-arrived
	r.f.SetWriteLatency(0)
	r.want(100003, "/channels/ec/aftersale/acceptapply", `{"after_sale_order_id":"6000000000000001"}`)
	r.want(100003, "/channels/ec/order/delivery/send", `{"order_id":"3705115058471208928","delivery_list":[]}`)
	r.want(0, "/product/order/change_merchant_notes", `{"order_id":32423523451235145,"merchant_notes":"another order"}`)
	if o := r.storeOrder(); *o.ExtInfo.MerchantNotes != "after another" || o.AftersaleDetail.OnAftersaleOrderCnt != 2 {
		t.Fatalf("a refused write applied: %+v", o.ExtInfo)
	}
	cancel()
	if err := <-first; err == nil {
		t.Fatal("the slow write answered")
	}
	r.f.Close() // waits for the slow write's handler to give up
	if r.f.PeakWritesPerOrder() != 2 || r.f.Refused100003() != 2 || r.f.WritesTo(storeOrderID) != 5 || r.f.WritesTo(miniShopOrderID) != 1 {
		t.Fatalf("peak %d, refused %d, writes %d", r.f.PeakWritesPerOrder(), r.f.Refused100003(), r.f.WritesTo(storeOrderID))
	}
	calls := r.f.WriteCalls()
	if slow := calls[len(calls)-1]; !strings.Contains(slow.Body, "slow") || slow.Applied || slow.Errcode != 0 {
		t.Fatalf("the slow write: %+v", slow)
	}
}

// The lookups answer behind the token check.
func TestLookups(t *testing.T) {
	r := newRig(t)
	r.want(0, "/channels/ec/order/deliverycompanylist/new/get", `{"ewaybill_only":false}`)
	r.want(0, "/product/delivery/get_company_list", `{}`)
	r.want(0, "/channels/ec/merchant/address/get", `{"address_id":"`+sandbox.DefaultReturnAddressID+`"}`)
	r.tok = "stale"
	r.want(40001, "/channels/ec/aftersale/rejectreason/get", `{}`)
	r.want(40001, "/channels/ec/order/merchantnotes/update", `{"order_id":"1","merchant_notes":"x"}`)
}
