package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestGeneratedOrdersAreDeterministicAndAddUp(t *testing.T) {
	for _, id := range []uint64{1000, 5000, 123456789, 32423523451235145, 18446744073709551615} {
		a, _ := json.Marshal(Generate(id))
		b, _ := json.Marshal(Generate(id))
		if string(a) != string(b) {
			t.Fatalf("order %d differs between calls", id)
		}
		var o struct {
			OrderID     uint64 `json:"order_id"`
			OrderDetail struct {
				ProductInfos []struct {
					SkuCnt    int64 `json:"sku_cnt"`
					SalePrice int64 `json:"sale_price"`
				} `json:"product_infos"`
				PriceInfo struct {
					ProductPrice    int64 `json:"product_price"`
					OrderPrice      int64 `json:"order_price"`
					Freight         int64 `json:"freight"`
					DiscountedPrice int64 `json:"discounted_price"`
				} `json:"price_info"`
			} `json:"order_detail"`
		}
		dec := json.NewDecoder(strings.NewReader(string(a)))
		if err := dec.Decode(&o); err != nil {
			t.Fatal(err)
		}
		if o.OrderID != id {
			t.Fatalf("order id %d, want %d", o.OrderID, id)
		}
		var sum int64
		for _, p := range o.OrderDetail.ProductInfos {
			sum += p.SalePrice * p.SkuCnt
		}
		pi := o.OrderDetail.PriceInfo
		if pi.ProductPrice != sum || pi.OrderPrice != pi.ProductPrice+pi.Freight-pi.DiscountedPrice || pi.OrderPrice <= 0 {
			t.Fatalf("order %d prices do not add up: %+v, sum of lines %d", id, pi, sum)
		}
	}
}

func TestVendorExampleIsValidJSON(t *testing.T) {
	var v map[string]any
	if err := json.Unmarshal(VendorExample, &v); err != nil {
		t.Fatal(err)
	}
}

// The Store calls refuse what the Store refuses: a list/get range over 7
// days, a search without a condition, a page over 100.
func TestStoreCallsKeepTheStoreLimits(t *testing.T) {
	s := New(0, MiniShopRoutes, StoreRoutes)
	tok := s.accessToken()
	call := func(path, body string) map[string]any {
		t.Helper()
		req := httptest.NewRequest("POST", path+"?access_token="+tok, strings.NewReader(body))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("%s: %s", path, rec.Body.String())
		}
		return v
	}
	now := time.Now().Unix()
	for _, c := range []struct{ path, body string }{
		{"/channels/ec/order/list/get", fmt.Sprintf(`{"create_time_range":{"start_time":%d,"end_time":%d},"page_size":10,"next_key":""}`, now-8*86400, now)},
		{"/channels/ec/order/list/get", fmt.Sprintf(`{"create_time_range":{"start_time":%d,"end_time":%d},"page_size":101,"next_key":""}`, now-86400, now)},
		{"/channels/ec/order/search", `{"search_condition":{},"status":20,"page_size":10,"next_key":""}`},
	} {
		if v := call(c.path, c.body); v["errcode"] != float64(40097) {
			t.Errorf("%s %s: %v, want errcode 40097", c.path, c.body, v)
		}
	}
	v := call("/channels/ec/order/list/get", fmt.Sprintf(`{"create_time_range":{"start_time":%d,"end_time":%d},"page_size":100,"next_key":""}`, now-7*86400, now))
	ids, _ := v["order_id_list"].([]any)
	if len(ids) == 0 || v["has_more"] != false {
		t.Fatalf("a 7-day list: %v", v)
	}
	o := call("/channels/ec/order/get", fmt.Sprintf(`{"order_id":%q}`, ids[0]))["order"].(map[string]any)
	if o["order_id"] != ids[0] || o["create_time"].(float64) < float64(now-7*86400) {
		t.Fatalf("the listed order %v: %v", ids[0], o)
	}
}
