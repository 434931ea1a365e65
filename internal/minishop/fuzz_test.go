package minishop

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/sandbox"
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
		var resp orderResponse
		decoded := make(chan error, 1)
		go func() { decoded <- json.Unmarshal(body, &resp) }()
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
			o, err = resp.result(7)
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
