package sandbox

import (
	"encoding/json"
	"strings"
	"testing"
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
