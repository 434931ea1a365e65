package wechattest

import (
	"fmt"
	"net/http"

	"github.com/ordergraph/ordergraph/internal/sandbox"
)

// The WeChat Store's calls beyond order/get (see fake.go): the after-sale
// get, one id a call, and the shape of the search's answer. They serve
// what SetOrder and SetAfterSale were given, which for a Store test is
// Store-shaped JSON: string ids and Unix-second times.

// SetSearchKey makes the Store's search answer its ids under key ("orders",
// as the vendor's example, the default; or "order_id_list", as its field
// table), as whole orders when whole is set.
func (f *Fake) SetSearchKey(key string, whole bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.searchAnswer = sandbox.SearchAnswer{Key: key, Whole: whole}
}

// storeAfterSale answers getaftersaleorder for one id, counted as a batch
// of one (see AfterSaleBatchSizes).
func (f *Fake) storeAfterSale(w http.ResponseWriter, r *http.Request) {
	defer f.enter()()
	if !f.wait(r) {
		return
	}
	id, bad := sandbox.StoreRequestID(r, "after_sale_order_id")
	if bad != 0 {
		writeErr(w, bad)
		return
	}
	f.mu.Lock()
	f.afterSaleBatches = append(f.afterSaleBatches, []uint64{id})
	rec, ok := f.afterSales[id]
	f.mu.Unlock()
	switch {
	case !sandbox.CheckToken(w, r, f.tokenValid):
	case !ok:
		writeErr(w, 10020000)
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"errcode":0,"errmsg":"ok","after_sale_order":%s}`, rec)
	}
}

// storeSearch answers the Store's search, its ids named as SetSearchKey
// asked.
func (f *Fake) storeSearch(request []byte, orders []sandbox.Order) any {
	f.mu.Lock()
	answer := f.searchAnswer
	f.mu.Unlock()
	return sandbox.StoreSearch(request, orders, answer)
}
