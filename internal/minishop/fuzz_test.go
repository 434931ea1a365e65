package minishop

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/sandbox"
	"github.com/ordergraph/ordergraph/internal/wechat/flex"
	"github.com/ordergraph/ordergraph/internal/wechat/orderjson"
)

// FuzzDecodeOrder feeds arbitrary bytes to the upstream decoder, starting
// from the vendor example and the quirk fixtures. Whatever the upstream
// sends, decoding finishes promptly with an order or a coded error, never
// panics, and an order it returns keeps the list invariants clients rely on.
func FuzzDecodeOrder(f *testing.F) {
	f.Add(sandbox.VendorExample)
	for _, q := range quirks {
		f.Add([]byte(q.body))
	}
	f.Add([]byte(`{"errcode":100002,"errmsg":"order not exist"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		resp := orderAnswer.Reply()
		decoded := make(chan error, 1)
		go func() { decoded <- flex.Decode(body, resp.ReadReply) }()
		select {
		case err := <-decoded:
			if err != nil {
				return // the client reports this as UPSTREAM_UNAVAILABLE
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("decoding did not finish in 5 s: %q", body)
		}
		err := resp.Err(errcodes)
		var o *order.Order
		if err == nil {
			o, err = orderjson.Result(resp.Value, 7)
		}
		if err != nil {
			if order.ErrorCode(err) == codes.Internal {
				t.Fatalf("uncoded error %v", err)
			}
			return
		}
		if o == nil || o.ID == 0 {
			t.Fatalf("no order and no error: %+v", o)
		}
		if d := o.OrderDetail; d != nil {
			if d.ProductInfos == nil {
				t.Fatal("nil productInfos")
			}
			for _, p := range d.ProductInfos {
				if p.SkuAttrs == nil {
					t.Fatal("nil skuAttrs")
				}
			}
			if di := d.DeliveryInfo; di != nil && (di.ExpressFee == nil || di.DeliveryProductInfo == nil) {
				t.Fatal("nil delivery list")
			}
		}
	})
}

// referenceSeeds are the edges where the two decoders could part: how names
// match, repeated members, escapes, invalid UTF-8, the forms of a list.
var referenceSeeds = []string{
	`{"ERRCODE":0,"Order":{"ORDER_ID":5,"Status":"20","order_detail":{"PRODUCT_INFOS":[{"Sku_Id":7}]}}}`,
	`{"errcode":0,"order":{"order_id":1,"order_id":2,"order_detail":{"price_info":{"freight":1}},"order_detail":{"price_info":{"order_price":2}}}}`,
	`{"errcode":0,"order":{"order_detail":{"product_infos":[{"title":"a"}],"product_infos":null}}}`,
	`{"errcode":0,"order":{"order\u005fid":"\u0031\u0032","openid":"a\"b\u00e9","ext_info":{"customer_notes":"\ud83d\ude00 \ud800"}}}`,
	"{\"errcode\":0,\"order\":{\"openid\":\"\xff\xfe ok\",\"\xffkey\":1}}",
	`{"errcode":0,"order":{"order_detail":{"delivery_info":{"express_fee":{ },"delivery_product_info":{"product_infos":[null,{"product_id":"3"}]}}}}}`,
	`{"errcode":0,"order":{"order_detail":{"product_infos":[null],"coupon_info":{"coupon_id":{"x":1}}}}}`,
	`{"errcode":0,"order":{"order_detail":{"coupon_info":{"coupon_id":[null,"",1," 2 "]}}}}`,
	`{"errcode":0,"order":{"create_time":" 2021-05-11 21:01:20 ","update_time":"2021-05-11T21:01:20+08:00","status":null}}`,
	`{"errcode":0,"order":{"order_detail":{"price_info":{"is_discounted":"1","is_change_freight":" true"}}}}`,
	`{"errcode":0,"order":{"order_detail":{"couponcode_info":{"verify_type":1,"verify_type":null}}}}`,
	`{"errcode":0,"order":{"order_detail":{"delivery_info":{"deliver_type":"X","deliver_type":""}}}}`,
	`{"errcode":0,"order":null}`, `null`, `{"errcode":0,"order":{}}`, `{"errcode":0,"order":{"order_id":1}} {}`,
	`{"errcode":0,"order":{"order_detail":[]}}`, `{"errcode":"x"}`, `{"errcode":0,"order":{"status":1.5}}`,
}

// FuzzDecoderMatchesReference holds the one-pass decoder to the decoder it
// replaced (reference_test.go): for any bytes, both give the same order, or
// both fail, with the same code when the failure is a coded one.
func FuzzDecoderMatchesReference(f *testing.F) {
	f.Add(sandbox.VendorExample)
	for _, q := range quirks {
		f.Add([]byte(q.body))
	}
	for _, s := range referenceSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, gotErr := decodeBody(body, 7)
		want, wantErr := decodeReference(body, 7)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%q: one-pass error %v, reference error %v", body, gotErr, wantErr)
		}
		if gotErr != nil {
			if order.ErrorCode(gotErr) != order.ErrorCode(wantErr) {
				t.Fatalf("%q: one-pass %v, reference %v", body, gotErr, wantErr)
			}
			return
		}
		if !reflect.DeepEqual(got, want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			t.Fatalf("%q:\none-pass  %s\nreference %s", body, g, w)
		}
	})
}
