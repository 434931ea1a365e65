package wxstore

import (
	"os"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/sandbox"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wechat/flex"
)

// FuzzDecodeStore feeds arbitrary bytes to the Store's three readers (an
// order, a page of ids, an after-sale order), starting from the vendor's
// samples and the quirk cases. Whatever the upstream sends, decoding ends
// promptly with a value or a coded error and never panics, and a decoded
// order has its lists and no payMethod, a text the Store never sends.
func FuzzDecodeStore(f *testing.F) {
	f.Add(sandbox.StoreVendorExample)
	for _, name := range []string{"list-get", "search", "aftersale-get"} {
		body, err := os.ReadFile("testdata/" + name + ".json")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	for _, q := range quirks {
		f.Add([]byte(q.body))
	}
	f.Add([]byte(`{"errcode":0,"orders":[{"order_id":"12"},"13",14,null],"has_more":"true"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		o := orderAnswer.Reply()
		var l listResponse
		a := afterSaleAnswer.Reply()
		done := make(chan struct{})
		go func() {
			defer close(done)
			if flex.Decode(body, o.ReadReply) == nil {
				checkOrder(t, &o)
			}
			_ = flex.Decode(body, l.ReadReply)
			_ = flex.Decode(body, a.ReadReply)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("decoding did not finish in 5 s: %q", body)
		}
	})
}

func checkOrder(t *testing.T, r *wechat.SectionReply[order.Order]) {
	if err := r.Err(errcodes); err != nil {
		if order.ErrorCode(err) == codes.Internal {
			t.Errorf("uncoded error %v", err)
		}
		return
	}
	if r.Value == nil || r.Value.OrderDetail == nil {
		return
	}
	d := r.Value.OrderDetail
	if d.ProductInfos == nil || (d.DeliveryInfo != nil && (d.DeliveryInfo.DeliveryProductInfo == nil || d.DeliveryInfo.ExpressFee == nil)) {
		t.Errorf("a nil list in %+v", d)
	}
	if d.PayInfo != nil && d.PayInfo.PayMethod != nil {
		t.Errorf("payMethod %q from the Store", *d.PayInfo.PayMethod)
	}
}
