package minishop

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/sandbox"
	"github.com/ordergraph/ordergraph/internal/wechat/flex"
	"github.com/ordergraph/ordergraph/internal/wechat/orderjson"
)

func decode(t *testing.T, body string) (*order.Order, error) {
	t.Helper()
	return decodeBody([]byte(body), 1)
}

// decodeBody decodes an upstream answer for id as Orders.Order does after
// the transport has read it.
func decodeBody(body []byte, id uint64) (*order.Order, error) {
	resp := orderAnswer.Reply()
	if err := flex.Decode(body, resp.ReadReply); err != nil {
		return nil, err
	}
	if err := resp.Err(errcodes); err != nil {
		return nil, err
	}
	return orderjson.Result(resp.Value, id)
}

func cst(y int, mo time.Month, d, h, mi, s int) *time.Time {
	t := time.Date(y, mo, d, h, mi, s, 0, order.ChinaTime)
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

// The vendor doc's example, verbatim but for its "..." placeholders: every
// value must come through as the doc states it.
func TestDecodeVendorExample(t *testing.T) {
	got, err := decode(t, string(sandbox.VendorExample))
	if err != nil {
		t.Fatal(err)
	}
	addr := &order.AddressInfo{
		UserName: ptr("陈先生"), PostalCode: ptr("2435245"), ProvinceName: ptr("广东"), CityName: ptr("广州"),
		CountyName: ptr("海珠区"), DetailInfo: ptr("大塘"), NationalCode: ptr("234234"), TelNumber: ptr("24534252"),
	}
	shipped := cst(2021, 5, 11, 21, 1, 20) // Unix 1620738080
	express := order.DeliveryOptionalExpress
	want := &order.Order{
		ID: 12123121332, Status: order.StatusToBeShipped, StatusCode: 20,
		CreateTime: cst(2020, 3, 25, 13, 5, 25), UpdateTime: cst(2020, 3, 25, 14, 5, 25),
		Openid:    ptr("oDNt95V1edm_RT8K5GSLW4dQYciE"),
		OrderType: order.TypeOrdinary, OrderTypeCode: 0,
		OrderDetail: &order.OrderDetail{
			ProductInfos: []order.ProductInfo{{
				ProductID: 234245, SkuID: 23424, SkuCnt: 10, OnAftersaleSkuCnt: 10, FinishAftersaleSkuCnt: 0,
				Title:     ptr("健身环"),
				ThumbImg:  ptr("http://img10.360buyimg.com/n1/s450x450_jfs/t1/85865/39/13611/488083/5e590a40E4bdf69c0/55c9bf645ea2b727.jpg"),
				SkuAttrs:  []order.AttrInfo{{AttrKey: "选择颜色", AttrValue: "红蓝主机"}},
				SalePrice: 2000, MarketPrice: ptr(int64(2000)),
			}},
			PayInfo: &order.PayInfo{
				PayMethod: ptr("微信支付"), PaymentMethod: ptr(order.PaymentWeChatPay), PrepayID: ptr("42526234625"), TransactionID: ptr("131456479687"),
				PrepayTime: cst(2020, 3, 25, 14, 4, 25), PayTime: cst(2020, 3, 25, 14, 5, 25),
			},
			PriceInfo: &order.PriceInfo{ProductPrice: 20000, OrderPrice: 10500, Freight: 500, DiscountedPrice: ptr(int64(10000)), IsDiscounted: true},
			DeliveryInfo: &order.DeliveryInfo{
				AddressInfo:    addr,
				DeliveryMethod: ptr("快递"),
				ExpressFee:     []order.DeliveryExpressFee{{ShippingMethod: order.ShippingExpress}},
				DeliveryProductInfo: []order.DeliveryProductInfo{{
					WaybillID: ptr("134654612313"), DeliveryID: ptr("STO"), DeliveryTime: shipped, DeliverType: &express,
					DeliveryAddress: addr,
					ProductInfos:    []order.FreightProductInfo{{ProductID: 234245, SkuID: 23424, ProductCnt: 1}},
				}},
				ShipDoneTime:  shipped,
				InsuranceInfo: &order.InsuranceInfo{Type: order.InsuranceNone, InsurancePrice: 0},
				DeliverType:   &express,
			},
		},
		AftersaleDetail: &order.AfterSaleDetail{OnAftersaleOrderCnt: 1, AftersaleOrderList: []order.AfterSaleOrderInfo{{AftersaleOrderID: 1234, Status: 13}}},
		ExtInfo:         &order.ExtInfo{CustomerNotes: ptr("发顺丰"), MerchantNotes: ptr("库存不足,取消")},
	}
	mustEqual(t, got, want)
}

// quirks has one case per upstream quirk, each a realistic fragment of a
// response; the fuzz test starts from them too.
var quirks = []struct {
	name  string
	body  string
	check func(t *testing.T, o *order.Order)
}{
	{"ids beyond 2^53 as numbers stay exact",
		`{"errcode":0,"order":{"order_id":32423523451235145,"order_detail":{"product_infos":[{"product_id":9007199254740993,"sku_id":18446744073709551615}],"coupon_info":{"coupon_id":[9007199254740995]}},"aftersale_detail":{"aftersale_order_list":[{"aftersale_order_id":9223372036854775809}]}}}`,
		func(t *testing.T, o *order.Order) {
			mustEqual(t, o.ID, uint64(32423523451235145))
			mustEqual(t, o.OrderDetail.ProductInfos[0].ProductID, uint64(9007199254740993))
			mustEqual(t, o.OrderDetail.ProductInfos[0].SkuID, uint64(18446744073709551615))
			mustEqual(t, o.OrderDetail.CouponInfo.CouponID, []uint64{9007199254740995})
			mustEqual(t, o.AftersaleDetail.AftersaleOrderList[0].AftersaleOrderID, uint64(9223372036854775809))
		}},
	{"ids, counts and codes as numeric strings",
		`{"errcode":"0","order":{"order_id":"32423523451235145","status":"30","order_type":"5","order_detail":{"product_infos":[{"product_id":"9007199254740993","sku_id":"7","sku_cnt":"3","sale_price":"1999"}],"coupon_info":{"coupon_id":["1","9007199254740993"]}}}}`,
		func(t *testing.T, o *order.Order) {
			mustEqual(t, o.ID, uint64(32423523451235145))
			mustEqual(t, [2]any{o.Status, o.StatusCode}, [2]any{order.StatusToBeReceived, int64(30)})
			mustEqual(t, [2]any{o.OrderType, o.OrderTypeCode}, [2]any{order.TypeSameCityDelivery, int64(5)})
			p := o.OrderDetail.ProductInfos[0]
			mustEqual(t, [4]any{p.ProductID, p.SkuID, p.SkuCnt, p.SalePrice}, [4]any{uint64(9007199254740993), uint64(7), int64(3), int64(1999)})
			mustEqual(t, o.OrderDetail.CouponInfo.CouponID, []uint64{1, 9007199254740993})
		}},
	{"times as seconds, numeric strings and China wall-clock text",
		`{"errcode":0,"order":{"create_time":1620738080,"update_time":"1620738080","order_detail":{"pay_info":{"pay_time":"2021-05-11 21:01:20","prepay_time":1585112665},"delivery_info":{"ship_done_time":"2021-05-11 21:01:20","delivery_product_info":[{"delivery_time":"2021-05-11 21:01:20"}]}}}}`,
		func(t *testing.T, o *order.Order) {
			want := cst(2021, 5, 11, 21, 1, 20)
			for _, got := range []*time.Time{o.CreateTime, o.UpdateTime, o.OrderDetail.PayInfo.PayTime, o.OrderDetail.DeliveryInfo.ShipDoneTime, o.OrderDetail.DeliveryInfo.DeliveryProductInfo[0].DeliveryTime} {
				if got == nil || !got.Equal(*want) {
					t.Fatalf("got %v, want %v", got, want)
				}
			}
			if !o.OrderDetail.PayInfo.PrepayTime.Equal(*cst(2020, 3, 25, 13, 4, 25)) {
				t.Fatalf("prepay_time %v", o.OrderDetail.PayInfo.PrepayTime)
			}
		}},
	{"0, \"0\", \"\" and null times are unset",
		`{"errcode":0,"order":{"create_time":0,"update_time":"","order_detail":{"delivery_info":{"ship_done_time":"0","offline_delivery_time":null,"offline_pickup_time":0},"couponcode_info":{"start_time":0,"verify_time":""}}}}`,
		func(t *testing.T, o *order.Order) {
			d := o.OrderDetail.DeliveryInfo
			for _, got := range []*time.Time{o.CreateTime, o.UpdateTime, d.ShipDoneTime, d.OfflineDeliveryTime, d.OfflinePickupTime, o.OrderDetail.CouponcodeInfo.StartTime, o.OrderDetail.CouponcodeInfo.VerifyTime} {
				if got != nil {
					t.Fatalf("want unset, got %v", got)
				}
			}
		}},
	{"express_fee and delivery_product_info as single objects",
		`{"errcode":0,"order":{"order_detail":{"delivery_info":{"express_fee":{"shipping_method":"ShippingMethod_Pickup"},"delivery_product_info":{"waybill_id":"YT1","product_infos":{"product_id":1,"sku_id":2,"product_cnt":3}}}}}}`,
		func(t *testing.T, o *order.Order) {
			d := o.OrderDetail.DeliveryInfo
			mustEqual(t, d.ExpressFee, []order.DeliveryExpressFee{{ShippingMethod: order.ShippingPickup}})
			mustEqual(t, len(d.DeliveryProductInfo), 1)
			mustEqual(t, *d.DeliveryProductInfo[0].WaybillID, "YT1")
			mustEqual(t, d.DeliveryProductInfo[0].ProductInfos, []order.FreightProductInfo{{ProductID: 1, SkuID: 2, ProductCnt: 3}})
		}},
	{"express_fee as an empty object is an empty list",
		`{"errcode":0,"order":{"order_detail":{"delivery_info":{"express_fee":{}}}}}`,
		func(t *testing.T, o *order.Order) {
			mustEqual(t, o.OrderDetail.DeliveryInfo.ExpressFee, []order.DeliveryExpressFee{})
		}},
	{"prepay_id and transaction_id sent as numbers keep every digit",
		`{"errcode":0,"order":{"order_detail":{"pay_info":{"prepay_id":42526234625,"transaction_id":4200000123456789012}}}}`,
		func(t *testing.T, o *order.Order) {
			mustEqual(t, *o.OrderDetail.PayInfo.PrepayID, "42526234625")
			mustEqual(t, *o.OrderDetail.PayInfo.TransactionID, "4200000123456789012")
		}},
	{"missing sections are nil and missing lists are empty",
		`{"errcode":0,"order":{"order_id":5,"order_detail":{"delivery_info":{}},"aftersale_detail":{}}}`,
		func(t *testing.T, o *order.Order) {
			if o.ExtInfo != nil || o.Openid != nil || o.CreateTime != nil || o.OrderDetail.PriceInfo != nil || o.OrderDetail.PayInfo != nil || o.OrderDetail.CouponInfo != nil {
				t.Fatal("a missing section is not nil")
			}
			for name, n := range map[string][]any{
				"product_infos": {o.OrderDetail.ProductInfos}, "express_fee": {o.OrderDetail.DeliveryInfo.ExpressFee},
				"delivery_product_info": {o.OrderDetail.DeliveryInfo.DeliveryProductInfo}, "aftersale_order_list": {o.AftersaleDetail.AftersaleOrderList},
			} {
				v := reflect.ValueOf(n[0])
				if v.IsNil() || v.Len() != 0 {
					t.Fatalf("%s: want an empty non-nil list, got %#v", name, n[0])
				}
			}
		}},
	{"unknown enum codes are UNKNOWN and keep the raw code",
		`{"errcode":0,"order":{"status":77,"order_type":42,"order_detail":{"delivery_info":{"express_fee":[{"shipping_method":"ShippingMethod_Drone"}],"insurance_info":{"type":"X"},"deliver_type":"DELIVERY_TYPE_TELEPORT"},"couponcode_info":{"verify_type":9}}}}`,
		func(t *testing.T, o *order.Order) {
			mustEqual(t, [4]any{o.Status, o.StatusCode, o.OrderType, o.OrderTypeCode}, [4]any{order.StatusUnknown, int64(77), order.TypeUnknown, int64(42)})
			d := o.OrderDetail.DeliveryInfo
			mustEqual(t, [3]any{d.ExpressFee[0].ShippingMethod, d.InsuranceInfo.Type, *d.DeliverType}, [3]any{order.ShippingUnknown, order.InsuranceUnknown, order.DeliveryUnknown})
			mustEqual(t, *o.OrderDetail.CouponcodeInfo.VerifyType, order.VerifyUnknown)
		}},
	{"unknown extra fields are ignored",
		`{"errcode":0,"errmsg":"ok","trace":{"a":[1,2]},"order":{"order_id":9,"brand_new":{"x":1},"order_detail":{"product_infos":[{"product_id":1,"sku_id":2,"future":[{}]}]}}}`,
		func(t *testing.T, o *order.Order) {
			mustEqual(t, o.ID, uint64(9))
			mustEqual(t, o.OrderDetail.ProductInfos[0].SkuID, uint64(2))
		}},
	{"booleans as 0/1",
		`{"errcode":0,"order":{"order_detail":{"price_info":{"is_discounted":1,"is_change_freight":"0"}}}}`,
		func(t *testing.T, o *order.Order) {
			mustEqual(t, o.OrderDetail.PriceInfo.IsDiscounted, true)
			mustEqual(t, *o.OrderDetail.PriceInfo.IsChangeFreight, false)
		}},
	{"an order without its id echo takes the requested id",
		`{"errcode":0,"order":{"status":10}}`,
		func(t *testing.T, o *order.Order) { mustEqual(t, o.ID, uint64(1)) }},
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
		{"errcode as a string", `{"errcode":"100002","errmsg":"order not exist"}`, codes.OrderNotFound, 100002},
		{"bad parameter", `{"errcode":9401020}`, codes.BadUserInput, 9401020},
		{"no permission", `{"errcode":48001}`, codes.UpstreamPermissionDenied, 48001},
		{"daily quota", `{"errcode":45009}`, codes.UpstreamRateLimited, 45009},
		{"minute quota", `{"errcode":45011}`, codes.UpstreamRateLimited, 45011},
		{"frequency", `{"errcode":30000}`, codes.UpstreamRateLimited, 30000},
		{"system error", `{"errcode":-1}`, codes.UpstreamUnavailable, -1},
		{"api offline", `{"errcode":1400007}`, codes.UpstreamUnavailable, 1400007},
		{"unexpected errcode", `{"errcode":61234}`, codes.UpstreamUnavailable, 61234},
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
	for _, garbage := range []string{`{"errcode":0,"order":{"order_id":`, `[]`, `{"errcode":0,"order":{"order_id":1.5}}`, `{"errcode":0,"order":{"order_id":-3}}`, `{"errcode":0,"order":{"status":true}}`, `{"errcode":0,"order":{"create_time":"yesterday"}}`} {
		if _, err := decode(t, garbage); err == nil {
			t.Errorf("%s: decoded without error", garbage)
		}
	}
}
