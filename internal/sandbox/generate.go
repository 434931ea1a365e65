package sandbox

import (
	"math/rand/v2"
	"strconv"
	"time"
)

var china = time.FixedZone("CST", 8*60*60)

// sampleStatuses are the statuses generated orders take; shipped ones carry parcels.
var sampleStatuses = []int64{10, 20, 21, 30, 100, 181, 250}

var titles = []string{"健身环", "无线耳机", "保温杯", "运动鞋", "蓝牙音箱", "茶叶礼盒"}

var cities = []struct{ province, city, county string }{
	{"广东", "广州", "海珠区"}, {"广东", "深圳", "南山区"}, {"上海", "上海", "浦东新区"}, {"北京", "北京", "朝阳区"}, {"浙江", "杭州", "西湖区"},
}

// Generate returns the upstream JSON object (as a map) of a made-up but
// consistent order: the same id always yields the same order, and its prices
// add up: order_price = product_price + freight - discounted_price, where
// product_price is the sum of sale_price x sku_cnt.
func Generate(id uint64) map[string]any {
	rng := rand.New(rand.NewPCG(id, 0x0d3e5eed))
	status := sampleStatuses[rng.IntN(len(sampleStatuses))]
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, china).Add(time.Duration(rng.IntN(365*24*3600)) * time.Second)
	paid := created.Add(time.Duration(30+rng.IntN(600)) * time.Second)
	shipped := paid.Add(time.Duration(3600+rng.IntN(48*3600)) * time.Second)

	var products, parcelItems []map[string]any
	var productPrice int64
	for i := range 1 + rng.IntN(3) {
		// Ids straddle 2^53 so that clients see exactness matter.
		productID := uint64(1)<<53 + rng.Uint64N(1<<60)
		skuID := productID + uint64(i) + 1
		count := int64(1 + rng.IntN(3))
		price := int64(1+rng.IntN(500)) * 100
		productPrice += price * count
		products = append(products, map[string]any{
			"product_id": productID, "sku_id": skuID, "sku_cnt": count,
			"on_aftersale_sku_cnt": 0, "finish_aftersale_sku_cnt": 0,
			"title":      titles[rng.IntN(len(titles))],
			"thumb_img":  "https://sandbox.invalid/img/" + strconv.FormatUint(skuID, 10) + ".jpg",
			"sku_attrs":  []map[string]any{{"attr_key": "颜色", "attr_value": []string{"红", "蓝", "黑"}[rng.IntN(3)]}},
			"sale_price": price, "market_price": price + int64(rng.IntN(5))*100,
			"out_product_id": "SP-" + strconv.FormatUint(id, 10) + "-" + strconv.Itoa(i),
			"sku_code":       "SKU" + strconv.Itoa(1000+rng.IntN(9000)),
		})
		parcelItems = append(parcelItems, map[string]any{"product_id": productID, "sku_id": skuID, "product_cnt": count})
	}
	freight := []int64{0, 500, 800}[rng.IntN(3)]
	discount := productPrice * int64(rng.IntN(3)) / 10
	place := cities[rng.IntN(len(cities))]
	address := map[string]any{
		"user_name": "测试用户" + strconv.Itoa(rng.IntN(100)), "postal_code": "510000",
		"province_name": place.province, "city_name": place.city, "county_name": place.county,
		"detail_info": "示例路" + strconv.Itoa(1+rng.IntN(200)) + "号", "national_code": "440105",
		"tel_number": "138" + strconv.Itoa(10000000+rng.IntN(89999999)),
	}
	delivery := map[string]any{
		"address_info":          address,
		"delivery_method":       "快递",
		"express_fee":           []map[string]any{{"shipping_method": "ShippingMethod_Express"}},
		"insurance_info":        map[string]any{"type": "InsuranceSourceType_None", "insurance_price": 0},
		"deliver_type":          "DELIVERY_TYPE_OPTIONAL_EXPRESS",
		"delivery_product_info": []map[string]any{},
		"ship_done_time":        0,
	}
	if status == 21 || status == 30 || status == 100 {
		delivery["delivery_product_info"] = []map[string]any{{
			"waybill_id": "SF" + strconv.FormatUint(id, 10), "delivery_id": "SF", "delivery_name": "顺丰速运",
			"delivery_time": shipped.Unix(), "deliver_type": "DELIVERY_TYPE_OPTIONAL_EXPRESS",
			"delivery_address": address, "product_infos": parcelItems,
		}}
		delivery["ship_done_time"] = shipped.Unix()
	}
	detail := map[string]any{
		"product_infos": products,
		"price_info": map[string]any{
			"product_price": productPrice, "order_price": productPrice + freight - discount,
			"freight": freight, "discounted_price": discount, "is_discounted": discount > 0,
		},
		"delivery_info": delivery,
	}
	if status != 10 && status != 250 {
		detail["pay_info"] = map[string]any{
			"pay_method": "微信支付", "prepay_id": "wx" + strconv.FormatUint(id, 10),
			"transaction_id": "4200" + strconv.FormatUint(id, 10),
			"prepay_time":    wallClock(paid.Add(-10 * time.Second)), "pay_time": wallClock(paid),
		}
	}
	return map[string]any{
		"order_id": id, "status": status, "order_type": 0,
		"create_time": wallClock(created), "update_time": wallClock(paid),
		"openid":           "oSandbox" + strconv.FormatUint(id%100000, 36),
		"order_detail":     detail,
		"aftersale_detail": map[string]any{"on_aftersale_order_cnt": 0, "aftersale_order_list": []any{}},
		"ext_info":         map[string]any{"customer_notes": "", "merchant_notes": ""},
	}
}

func wallClock(t time.Time) string { return t.In(china).Format("2006-01-02 15:04:05") }

// quirk returns the scripted response of a quirk id (see Specials).
func quirk(id uint64) map[string]any {
	o := Generate(id)
	detail := o["order_detail"].(map[string]any)
	delivery := detail["delivery_info"].(map[string]any)
	switch id {
	case 900001:
		delivery["express_fee"] = map[string]any{"shipping_method": "ShippingMethod_SameCity"}
		delivery["delivery_product_info"] = map[string]any{
			"waybill_id": "YT900001", "delivery_id": "YTO", "delivery_time": 1620738080,
			"product_infos": map[string]any{"product_id": 234245, "sku_id": 23424, "product_cnt": 1},
		}
	case 900002:
		o["order_id"] = strconv.FormatUint(id, 10)
		o["status"] = "30"
		o["order_type"] = "0"
		o["create_time"] = "1620738080"
		for _, p := range detail["product_infos"].([]map[string]any) {
			p["product_id"] = strconv.FormatUint(p["product_id"].(uint64), 10)
			p["sku_id"] = strconv.FormatUint(p["sku_id"].(uint64), 10)
			p["sku_cnt"] = strconv.FormatInt(p["sku_cnt"].(int64), 10)
		}
		detail["pay_info"] = map[string]any{"pay_method": "微信支付", "prepay_id": 42526234625, "transaction_id": 4200000123456789012, "pay_time": 1620738080}
		delivery["delivery_product_info"] = []map[string]any{{"waybill_id": "134654612313", "delivery_id": "STO", "delivery_time": "2021-05-11 21:01:20", "product_infos": []any{}}}
		delivery["ship_done_time"] = "1620738080"
		detail["coupon_info"] = map[string]any{"coupon_id": []any{"32423523451235145", 9007199254740993}}
		return map[string]any{"errcode": "0", "errmsg": "ok", "order": o}
	case 900003:
		o["status"] = 77
		o["order_type"] = 42
		o["create_time"] = 0
		o["update_time"] = ""
		delete(o, "aftersale_detail")
		delete(o, "ext_info")
		delete(o, "openid")
		delete(detail, "product_infos")
		delete(detail, "pay_info")
		delivery["express_fee"] = []map[string]any{{"shipping_method": "ShippingMethod_Drone"}}
		delivery["insurance_info"] = map[string]any{"type": "InsuranceSourceType_Platform", "insurance_price": 0}
		delivery["deliver_type"] = "DELIVERY_TYPE_TELEPORT"
		delete(delivery, "delivery_product_info")
		o["some_future_field"] = map[string]any{"nested": true}
	}
	return map[string]any{"errcode": 0, "errmsg": "ok", "order": o}
}

// GenerateAfterSale returns the upstream JSON object of a made-up after-sale
// order. Mini Shop's naming trap is kept: order_id is the after-sale id and
// original_order_id the order's.
func GenerateAfterSale(id uint64) map[string]any { return generateAfterSale(id, 0) }

// generateAfterSale is GenerateAfterSale in the platform's shop (see
// catalogue), whose catalogue's after-sale orders belong to its orders.
func generateAfterSale(id uint64, shop int) map[string]any {
	rng := rand.New(rand.NewPCG(id, 0xaf7e5a1e))
	orderID := uint64(1000 + rng.IntN(1_000_000))
	openid := "oSandbox" + strconv.FormatUint(orderID%100000, 36)
	status := "MERCHANT_REFUND_SUCCESS"
	switch i := id - CatalogueAfterSaleFirstID - shopOffset(shop); { // an id below wraps past the end
	case id == 1234:
		orderID, openid = VendorExampleID, "oDNt95V1edm_RT8K5GSLW4dQYciE"
	case i < CatalogueSize && i%10 == 0: // a catalogue order's
		orderID, openid, status = CatalogueFirstID+shopOffset(shop)+i, catalogueBuyer(shop, int(i)), "MERCHANT_PROCESSING"
	}
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, china).Add(time.Duration(rng.IntN(365*24*3600)) * time.Second)
	types := []string{"REFUND", "RETURN"}
	return map[string]any{
		"order_id": id, "original_order_id": orderID,
		"status": status, "type": types[rng.IntN(len(types))], "reason": "NO_LONGER_WANT",
		"openid":       openid,
		"product_info": map[string]any{"product_id": 234245, "sku_id": 23424, "count": 1 + rng.IntN(3)},
		"refund_info":  map[string]any{"amount": 100 * (1 + rng.IntN(500))},
		"return_info":  map[string]any{"waybill_id": "", "delivery_id": "", "delivery_name": ""},
		"create_time":  created.Unix(), "update_time": created.Add(48 * time.Hour).Unix(),
	}
}
