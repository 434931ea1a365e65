package wxstore

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/sandbox"
	"github.com/ordergraph/ordergraph/internal/wechat/flex"
	"github.com/ordergraph/ordergraph/internal/wechat/orderjson"
)

// decode decodes an order/get answer for id 1 as Orders.Order does after
// the transport has read it.
func decode(t *testing.T, body string) (*order.Order, error) {
	t.Helper()
	return decodeBody([]byte(body))
}

func decodeBody(body []byte) (*order.Order, error) {
	resp := orderAnswer.Reply()
	if err := flex.Decode(body, resp.ReadReply); err != nil {
		return nil, err
	}
	if err := resp.Err(errcodes); err != nil {
		return nil, err
	}
	return orderjson.Result(resp.Value, 1)
}

func unix(s int64) *time.Time {
	t := time.Unix(s, 0).In(order.ChinaTime)
	return &t
}

func ptr[T any](v T) *T { return &v }

func mustEqual(t *testing.T, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("got\n%s\nwant\n%s", g, w)
	}
}

// sandbox.StoreVendorExample is the vendor doc's example answer, verbatim.
func TestDecodeVendorExample(t *testing.T) {
	got, err := decode(t, string(sandbox.StoreVendorExample))
	if err != nil {
		t.Fatal(err)
	}
	want := &order.Order{
		ID: 3705115058471208928, Status: order.StatusToBeShipped, StatusCode: 20,
		CreateTime: unix(1714112400), UpdateTime: unix(1714112445),
		Openid:    ptr("o9AgO5Kd5ggOC-bXrbNODIiE3bGY"),
		OrderType: order.TypeOrdinary, OrderTypeCode: 0,
		OrderDetail: &order.OrderDetail{
			ProductInfos: []order.ProductInfo{{
				ProductID: 10000192852886, SkuID: 3014051159, SkuCnt: 1,
				Title: ptr("健身环"), ThumbImg: ptr("https://mmecimage.cn/p/x"),
				SkuAttrs:  []order.AttrInfo{{AttrKey: "颜色", AttrValue: "红"}},
				SalePrice: 2000, MarketPrice: ptr(int64(2500)), RealPrice: ptr(int64(2000)),
			}},
			PayInfo: &order.PayInfo{
				PaymentMethod: ptr(order.PaymentWeChatPay),
				PrepayID:      ptr("wx2415000012345678"), TransactionID: ptr("4200002143202404261234567890"),
				PrepayTime: unix(1714112401), PayTime: unix(1714112440),
			},
			PriceInfo: &order.PriceInfo{ProductPrice: 2000, OrderPrice: 2000, Freight: 0, DiscountedPrice: ptr(int64(0)), IsDiscounted: false},
			DeliveryInfo: &order.DeliveryInfo{
				AddressInfo: &order.AddressInfo{
					UserName: ptr("陈**"), PostalCode: ptr("510000"), ProvinceName: ptr("广东省"), CityName: ptr("广州市"),
					CountyName: ptr("海珠区"), DetailInfo: ptr("大塘路**"), TelNumber: ptr("138****0000"),
				},
				DeliveryMethod:      ptr("快递"),
				ExpressFee:          []order.DeliveryExpressFee{},
				DeliveryProductInfo: []order.DeliveryProductInfo{},
			},
		},
		AftersaleDetail: &order.AfterSaleDetail{AftersaleOrderList: []order.AfterSaleOrderInfo{}},
		ExtInfo:         &order.ExtInfo{CustomerNotes: ptr("发顺丰"), MerchantNotes: ptr("")},
	}
	mustEqual(t, got, want)
}

func TestDecodeStatuses(t *testing.T) {
	for code, want := range map[int64]order.OrderStatus{
		10: order.StatusPendingPayment, 12: order.StatusGiftAwaitingAccept, 13: order.StatusGroupOrderAwaitingGroup,
		20: order.StatusToBeShipped, 21: order.StatusPartiallyShipped, 30: order.StatusToBeReceived,
		100: order.StatusCompleted, 190: order.StatusCancelledOversold, 200: order.StatusCancelledAllAftersale,
		250: order.StatusCancelledUnpaid, 15: order.StatusUnknown, 181: order.StatusUnknown, 999: order.StatusUnknown,
	} {
		o, err := decode(t, `{"errcode":0,"order":{"status":`+jsonInt(code)+`}}`)
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != want || o.StatusCode != code {
			t.Errorf("status %d: got %s (%d), want %s", code, o.Status, o.StatusCode, want)
		}
	}
}

func jsonInt(v int64) string { b, _ := json.Marshal(v); return string(b) }

// quirks has one case per quirk of the Store's order JSON.
var quirks = []struct {
	name  string
	body  string
	check func(t *testing.T, o *order.Order)
}{
	{"ids beyond 2^53 as strings stay exact",
		`{"errcode":0,"order":{"order_id":"9007199254740993","order_detail":{"product_infos":[{"product_id":"18446744073709551615","sku_id":"9007199254740995"}],"coupon_info":{"user_coupon_id":"9223372036854775809"}},"aftersale_detail":{"aftersale_order_list":[{"aftersale_order_id":"9007199254740997"}]}}}`,
		func(t *testing.T, o *order.Order) {
			p := o.OrderDetail.ProductInfos[0]
			mustEqual(t, []uint64{o.ID, p.ProductID, p.SkuID, o.OrderDetail.CouponInfo.CouponID[0], o.AftersaleDetail.AftersaleOrderList[0].AftersaleOrderID},
				[]uint64{9007199254740993, 18446744073709551615, 9007199254740995, 9223372036854775809, 9007199254740997})
		}},
	{"ids as numbers are accepted, as in the vendor's own get example",
		`{"errcode":0,"order":{"order_id":3705115058471208928,"order_detail":{"product_infos":[{"product_id":10000192852886,"sku_id":"3014051159"}]}}}`,
		func(t *testing.T, o *order.Order) {
			mustEqual(t, []uint64{o.ID, o.OrderDetail.ProductInfos[0].ProductID}, []uint64{3705115058471208928, 10000192852886})
		}},
	{"a zero time is null",
		`{"errcode":0,"order":{"create_time":0,"update_time":1714112445,"order_detail":{"pay_info":{"pay_time":0},"delivery_info":{"ship_done_time":0}}}}`,
		func(t *testing.T, o *order.Order) {
			if o.CreateTime != nil || o.OrderDetail.PayInfo.PayTime != nil || o.OrderDetail.DeliveryInfo.ShipDoneTime != nil {
				t.Fatal("a zero time decoded as a time")
			}
			mustEqual(t, o.UpdateTime.Format(time.RFC3339), "2024-04-26T14:20:45+08:00")
		}},
	{"payment methods 1 to 4 and an unknown one; the Store sends no payment text, so none has one",
		`{"errcode":0,"order":{"order_detail":{"pay_info":{"payment_method":7}}}}`,
		func(t *testing.T, o *order.Order) {
			mustEqual(t, o.OrderDetail.PayInfo, &order.PayInfo{PaymentMethod: ptr(order.PaymentUnknown)})
			for code, want := range map[string]order.PaymentMethod{"1": order.PaymentWeChatPay, "2": order.PaymentPayAfterUse, "3": order.PaymentFreeLottery, "4": order.PaymentPointsExchange} {
				o, err := decode(t, `{"errcode":0,"order":{"order_detail":{"pay_info":{"payment_method":`+code+`}}}}`)
				if err != nil {
					t.Fatal(err)
				}
				mustEqual(t, o.OrderDetail.PayInfo, &order.PayInfo{PaymentMethod: ptr(want)})
			}
		}},
	{"no payment method is null",
		`{"errcode":0,"order":{"order_detail":{"pay_info":{"prepay_id":"wx1"}}}}`,
		func(t *testing.T, o *order.Order) {
			if o.OrderDetail.PayInfo.PaymentMethod != nil {
				t.Fatal("payment method without one sent")
			}
		}},
	{"virtual goods and parcels with their deliver types",
		`{"errcode":0,"order":{"order_detail":{"delivery_info":{"deliver_method":1,"delivery_product_info":[
			{"waybill_id":"SF1","delivery_id":"SF","delivery_name":"顺丰速运","delivery_time":1714200000,"deliver_type":1,"product_infos":[{"product_id":"10000192852886","sku_id":"3014051159","product_cnt":2}]},
			{"deliver_type":3},{"deliver_type":4},{"deliver_type":9},{}]}}}}`,
		func(t *testing.T, o *order.Order) {
			di := o.OrderDetail.DeliveryInfo
			mustEqual(t, *di.DeliveryMethod, "虚拟发货")
			p := di.DeliveryProductInfo[0]
			mustEqual(t, []any{*p.WaybillID, *p.DeliveryID, *p.DeliveryName, p.DeliveryTime.Unix(), *p.DeliverType, p.ProductInfos},
				[]any{"SF1", "SF", "顺丰速运", int64(1714200000), order.DeliveryOptionalExpress, []order.FreightProductInfo{{ProductID: 10000192852886, SkuID: 3014051159, ProductCnt: 2}}})
			var types []any
			for _, p := range di.DeliveryProductInfo[1:] {
				if p.DeliverType == nil {
					types = append(types, nil)
				} else {
					types = append(types, *p.DeliverType)
				}
			}
			mustEqual(t, types, []any{order.DeliveryNoExpress, order.DeliveryOrderOnline, order.DeliveryUnknown, nil})
		}},
	{"unionid, and the notes from order_detail.ext_info",
		`{"errcode":0,"order":{"unionid":"oUnion1","order_detail":{"ext_info":{"customer_notes":"放门口","merchant_notes":"已联系","order_scene":3,"finder_id":"x"}}}}`,
		func(t *testing.T, o *order.Order) {
			mustEqual(t, []string{*o.Unionid, *o.ExtInfo.CustomerNotes, *o.ExtInfo.MerchantNotes}, []string{"oUnion1", "放门口", "已联系"})
		}},
	{"every Store order is ordinary",
		`{"errcode":0,"order":{"order_type":2}}`,
		func(t *testing.T, o *order.Order) {
			mustEqual(t, []any{o.OrderType, o.OrderTypeCode}, []any{order.TypeOrdinary, int64(0)})
		}},
	{"masked addresses stay masked, with the house number",
		`{"errcode":0,"order":{"order_detail":{"delivery_info":{"address_info":{"user_name":"李*","tel_number":"155****1234","detail_info":"科技园**","house_number":"3栋"}}}}}`,
		func(t *testing.T, o *order.Order) {
			a := o.OrderDetail.DeliveryInfo.AddressInfo
			mustEqual(t, []string{*a.UserName, *a.TelNumber, *a.DetailInfo, *a.HouseNumber}, []string{"李*", "155****1234", "科技园**", "3栋"})
		}},
	{"an order without its id echo takes the requested id",
		`{"errcode":0,"order":{"status":10}}`,
		func(t *testing.T, o *order.Order) { mustEqual(t, o.ID, uint64(1)) }},
	{"fields this server does not serve are skipped",
		`{"errcode":0,"order":{"is_present":true,"order_detail":{"settle_info":{"commission_fee":5},"sharer_info":{"sharer_openid":"x"},"commission_infos":[{}]}},"extra":[1,{"a":null}]}`,
		func(t *testing.T, o *order.Order) {}},
}

func TestDecodeQuirks(t *testing.T) {
	for _, tt := range quirks {
		t.Run(tt.name, func(t *testing.T) {
			o, err := decode(t, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, o)
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		code    codes.Code
		errcode int64 // 0: none expected
	}{
		{"not found", `{"errcode":100002,"errmsg":"order not exist"}`, codes.OrderNotFound, 100002},
		{"invalid parameter", `{"errcode":40097,"errmsg":"invalid args"}`, codes.BadUserInput, 40097},
		{"malformed body", `{"errcode":47001}`, codes.BadUserInput, 47001},
		{"no permission", `{"errcode":48001}`, codes.UpstreamPermissionDenied, 48001},
		{"quota", `{"errcode":45009}`, codes.UpstreamRateLimited, 45009},
		{"busy", `{"errcode":-1}`, codes.UpstreamUnavailable, -1},
		{"ok without an order", `{"errcode":0,"errmsg":"ok"}`, codes.UpstreamUnavailable, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(t, tt.body)
			var oe *order.Error
			if !errors.As(err, &oe) {
				t.Fatalf("want *order.Error, got %v", err)
			}
			if oe.Code != tt.code {
				t.Fatalf("code %s, want %s", oe.Code, tt.code)
			}
			if (tt.errcode == 0) != (oe.Errcode == nil) || (oe.Errcode != nil && *oe.Errcode != tt.errcode) {
				t.Fatalf("errcode %v, want %d", oe.Errcode, tt.errcode)
			}
		})
	}
	for _, garbage := range []string{`{"errcode":0,"order":{"order_id":`, `[]`, `{"errcode":0,"order":{"order_id":"12x"}}`, `{"errcode":0,"order":{"status":"twenty"}}`, `{"errcode":0,"order":{"create_time":"yesterday"}}`} {
		if _, err := decode(t, garbage); err == nil {
			t.Errorf("%s: decoded without error", garbage)
		}
	}
}

// list/get and search answer ids under either key, as strings, numbers or
// whole orders; the vendor's two samples are testdata, verbatim.
func TestDecodeListPages(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, tt := range []struct {
		name, body string
		ids        []uint64
		next       string
		more       bool
	}{
		{"list/get sample", read("list-get.json"), []uint64{3705115058471208928, 3705115058471208929}, "CAESBgjA4o6xBg==", true},
		{"search sample", read("search.json"), []uint64{3715847042071365120}, "THE_NEXT_KEY_NEW", false},
		{"order_id_list of whole orders", `{"errcode":0,"order_id_list":[{"order_id":"9007199254740993","status":20},{"order_id":12}],"has_more":false}`, []uint64{9007199254740993, 12}, "", false},
		{"both keys, one empty", `{"errcode":0,"orders":["5"],"order_id_list":[],"has_more":false}`, []uint64{5}, "", false},
		{"no ids", `{"errcode":0,"has_more":false,"next_key":""}`, nil, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var r listResponse
			if err := flex.Decode([]byte(tt.body), r.ReadReply); err != nil {
				t.Fatal(err)
			}
			mustEqual(t, []any{r.IDs, r.NextKey, r.HasMore}, []any{tt.ids, tt.next, tt.more})
		})
	}
}
