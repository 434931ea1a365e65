package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// answer runs a rule and reads its answer as the client would.
func answer(t *testing.T, rule func([]byte, []Order) any, orders []Order, request string) map[string]any {
	t.Helper()
	b, err := json.Marshal(rule([]byte(request), orders))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func parsed(t *testing.T, orderJSON string) Order {
	t.Helper()
	o, err := ParseOrder([]byte(orderJSON))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// storeOrders are six Store orders a day apart from day0, the newest last,
// with the statuses the neighbour rules are about.
func storeOrders(t *testing.T, day0 int64) []Order {
	var orders []Order
	for i, status := range []int64{20, 21, 30, 190, 200, 250} {
		orders = append(orders, parsed(t, fmt.Sprintf(`{"order_id":"%d","status":%d,"create_time":%d,"update_time":%d,"openid":"buyer-%d",
			"order_detail":{"product_infos":[{"title":"保温杯 %d","sku_code":"SKU%d"}],"delivery_info":{"address_info":{"user_name":"陈**","tel_number":"138****%04d"}},
			"ext_info":{"customer_notes":"发顺丰","merchant_notes":""}},"aftersale_detail":{"on_aftersale_order_cnt":%d}}`,
			100+i, status, day0+int64(i)*86400, day0+int64(5-i)*86400, i%2, i, i, i, i%2)))
	}
	return orders
}

func ids(v map[string]any, key string) string {
	var out []string
	for _, id := range v[key].([]any) {
		out = append(out, fmt.Sprint(id))
	}
	return strings.Join(out, ",")
}

func TestStoreListRules(t *testing.T) {
	orders := storeOrders(t, 1714000000)
	within := `"create_time_range":{"start_time":1714000000,"end_time":1714432000}`
	for _, c := range []struct{ request, want string }{
		{`{` + within + `,"page_size":100,"next_key":""}`, "105,104,103,102,101,100"},
		{`{` + within + `,"status":20,"page_size":100,"next_key":""}`, "101,100"},
		{`{` + within + `,"status":30,"page_size":100,"next_key":""}`, "102,101"},
		{`{` + within + `,"status":250,"page_size":100,"next_key":""}`, "105,104,103"},
		{`{` + within + `,"status":21,"page_size":100,"next_key":""}`, "101"},
		{`{` + within + `,"openid":"buyer-1","page_size":100,"next_key":""}`, "105,103,101"},
		{`{"update_time_range":{"start_time":1714000000,"end_time":1714172800},"page_size":100,"next_key":""}`, "103,104,105"},
		{`{"create_time_range":{"start_time":1714086400,"end_time":1714172800},"page_size":100,"next_key":""}`, "102,101"},
	} {
		if got := ids(answer(t, StoreList, orders, c.request), "order_id_list"); got != c.want {
			t.Errorf("%s: %s, want %s", c.request, got, c.want)
		}
	}
	// Pages of 4 from next_key, has_more until the last.
	first := answer(t, StoreList, orders, `{`+within+`,"page_size":4,"next_key":""}`)
	next := answer(t, StoreList, orders, fmt.Sprintf(`{%s,"page_size":4,"next_key":%q}`, within, first["next_key"]))
	if ids(first, "order_id_list") != "105,104,103,102" || first["has_more"] != true || ids(next, "order_id_list") != "101,100" || next["has_more"] != false {
		t.Fatalf("pages %v then %v", first, next)
	}
	for request, code := range map[string]float64{
		`{"create_time_range":{"start_time":1714000000,"end_time":1714604801},"page_size":10,"next_key":""}`: 40097, // over 7 days
		`{"create_time_range":{"start_time":1714000001,"end_time":1714000000},"page_size":10,"next_key":""}`: 40097, // backwards
		`{"page_size":10,"next_key":""}`:                    40097, // no range
		`{` + within + `,"page_size":101,"next_key":""}`:    40097,
		`{` + within + `,"page_size":0,"next_key":""}`:      40097,
		`{` + within + `,"page_size":10}`:                   40097, // next_key is required
		`{` + within + `,"page_size":10,"next_key":"zz"}`:   40097,
		`{"create_time_range":{"start_time":"1714000000"}}`: 47001, // a wrong JSON type
		`{` + within + `,"page_size":10,"next_key":""`:      47001,
	} {
		if v := answer(t, StoreList, orders, request); v["errcode"] != code {
			t.Errorf("%s: %v, want errcode %v", request, v, code)
		}
	}
}

func TestStoreSearchRules(t *testing.T) {
	orders := storeOrders(t, 1714000000)
	search := func(condition, extra string, shape SearchAnswer) map[string]any {
		return storeSearch(t, orders, fmt.Sprintf(`{"search_condition":%s%s,"page_size":100,"next_key":""}`, condition, extra), shape)
	}
	for _, c := range []struct{ condition, extra, want string }{
		{`{"title":"保温杯"}`, ``, "105,104,103,102,101,100"},
		{`{"title":"保温杯 3"}`, ``, "103"},
		{`{"title":"发顺丰"}`, ``, ""}, // the notes are not the title
		{`{"sku_code":"SKU2"}`, ``, "102"},
		{`{"sku_code":"SKU"}`, ``, ""}, // a SKU code is matched whole
		{`{"tel_number_last4":"0004"}`, ``, "104"},
		{`{"customer_notes":"顺丰"}`, `,"status":20`, "101,100"},
		{`{"order_id":"102"}`, ``, "102"},
		{`{"title":"保温杯"}`, `,"on_aftersale_order_exist":1`, "105,103,101"},
		{`{"title":"保温杯"}`, `,"on_aftersale_order_exist":0`, "104,102,100"},
	} {
		if got := ids(search(c.condition, c.extra, SearchAnswer{}), "orders"); got != c.want {
			t.Errorf("%s%s: %s, want %s", c.condition, c.extra, got, c.want)
		}
	}
	for _, condition := range []string{`{}`, `{"title":""}`} {
		if v := search(condition, ``, SearchAnswer{}); v["errcode"] != 40097.0 {
			t.Errorf("%s: %v, want errcode 40097", condition, v)
		}
	}
	whole := search(`{"order_id":"102"}`, ``, SearchAnswer{Key: "order_id_list", Whole: true})
	if list, _ := whole["order_id_list"].([]any); len(list) != 1 || list[0].(map[string]any)["order_id"] != "102" {
		t.Fatalf("a search answering whole orders under order_id_list: %v", whole)
	}
}

func storeSearch(t *testing.T, orders []Order, request string, shape SearchAnswer) map[string]any {
	t.Helper()
	return answer(t, func(b []byte, o []Order) any { return StoreSearch(b, o, shape) }, orders, request)
}

// miniShopOrders are five Mini Shop orders a day apart from day0, the
// newest last, with wall-clock times; the odd ones unpaid.
func miniShopOrders(t *testing.T, day0 time.Time) []Order {
	var orders []Order
	for i, status := range []int64{20, 21, 30, 20, 100} {
		created := day0.AddDate(0, 0, i)
		pay := ""
		if i%2 == 0 {
			pay = fmt.Sprintf(`,"pay_info":{"pay_time":%q}`, wallClock(created.Add(time.Minute)))
		}
		orders = append(orders, parsed(t, fmt.Sprintf(`{"order_id":%d,"status":%d,"create_time":%q,"update_time":%q,
			"order_detail":{"product_infos":[{"title":"健身环","sku_code":"S%d"}],"delivery_info":{"address_info":{"user_name":"陈先生","tel_number":"1380000000%d"}}%s},
			"aftersale_detail":{"on_aftersale_order_cnt":%d},"ext_info":{"customer_notes":"","merchant_notes":""}}`,
			200+i, status, wallClock(created), wallClock(day0.AddDate(0, 0, 10-i)), i, i, pay, i%2)))
	}
	return orders
}

func TestMiniShopListRules(t *testing.T) {
	day0 := time.Date(2024, 5, 1, 0, 0, 0, 0, china)
	orders := miniShopOrders(t, day0)
	orderIDs := func(v map[string]any) string {
		var out []string
		for _, o := range v["orders"].([]any) {
			out = append(out, fmt.Sprint(o.(map[string]any)["order_id"]))
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct {
		rule          func([]byte, []Order) any
		request, want string
		total         float64
	}{
		{MiniShopList, `{"start_create_time":"2024-05-01 00:00:00","end_create_time":"2024-05-31 00:00:00","page":1,"page_size":2}`, "204,203", 5},
		{MiniShopList, `{"start_create_time":"2024-05-01 00:00:00","end_create_time":"2024-05-31 00:00:00","page":3,"page_size":2}`, "200", 5},
		{MiniShopList, `{"start_create_time":"2024-05-02 00:00:00","end_create_time":"2024-05-03 00:00:00","page":1,"page_size":10}`, "202,201", 2},
		{MiniShopList, `{"start_create_time":"2024-05-01 00:00:00","end_create_time":"2024-05-31 00:00:00","status":20,"page":1,"page_size":10}`, "203,200", 2},
		{MiniShopList, `{"start_update_time":"2024-05-01 00:00:00","end_update_time":"2024-05-31 00:00:00","page":1,"page_size":10}`, "200,201,202,203,204", 5},
		{MiniShopList, `{"start_create_time":"2024-05-01 00:00:00","end_create_time":"2024-05-31 00:00:00","start_update_time":"2024-05-01 00:00:00","end_update_time":"2024-05-31 00:00:00","page":1,"page_size":10}`, "", 0},
		{MiniShopSearch, `{"title":"健身","page":1,"page_size":10}`, "204,203,202,201,200", 5},
		{MiniShopSearch, `{"start_pay_time":"2024-05-01 00:00:00","page":1,"page_size":10}`, "204,202,200", 3},
		{MiniShopSearch, `{"start_pay_time":"2024-05-02 00:00:00","end_pay_time":"2024-05-03 23:59:59","page":1,"page_size":10}`, "202", 1},
		{MiniShopSearch, `{"sku_code":"S3","tel_number":"13800000003","user_name":"陈先生","page":1,"page_size":10}`, "203", 1},
		{MiniShopSearch, `{"order_id":201,"status":21,"on_aftersale_order_exist":1,"page":1,"page_size":10}`, "201", 1},
		{MiniShopSearch, `{"on_aftersale_order_exist":0,"page":1,"page_size":10}`, "204,202,200", 3},
	} {
		v := answer(t, c.rule, orders, c.request)
		if got := orderIDs(v); got != c.want || v["total_num"] != c.total {
			t.Errorf("%s: %s of %v, want %s of %v", c.request, got, v["total_num"], c.want, c.total)
		}
	}
	for _, c := range []struct {
		rule    func([]byte, []Order) any
		request string
	}{
		{MiniShopList, `{"page":1,"page_size":10}`},
		{MiniShopList, `{"start_create_time":"2024-05-01","end_create_time":"2024-05-31 00:00:00","page":1,"page_size":10}`},
		{MiniShopList, `{"start_create_time":"2024-05-01 00:00:00","end_create_time":"2024-05-31 00:00:00","page":0,"page_size":10}`},
		{MiniShopSearch, `{"title":"健身环","page":1,"page_size":0}`},
		{MiniShopSearch, `{"title":"健身环","page":1,"page_size":10`},
	} {
		if v := answer(t, c.rule, orders, c.request); v["errcode"] != 9401020.0 {
			t.Errorf("%s: %v, want errcode 9401020", c.request, v)
		}
	}
}

// A catalogue order reads the same in either family's shape, but for the
// status the Store names its own way.
func TestCatalogueRowsAgree(t *testing.T) {
	c := newCatalogue(time.Now(), 0, 1)
	for i := range c.orders {
		mini, store := c.miniShopRows[i], c.storeRows[i]
		mini.JSON, store.JSON, store.Status = nil, nil, mini.Status
		if fmt.Sprint(mini) != fmt.Sprint(store) {
			t.Fatalf("order %d reads as\n%+v in Mini Shop's shape and\n%+v in the Store's", mini.ID, mini, store)
		}
		if mini.ID == 0 || mini.Created == 0 || mini.Openid == "" || len(mini.Titles) == 0 || mini.UserName == "" || mini.AfterSaleInProgress != (i%10 == 0) {
			t.Fatalf("order %d read as %+v", i, mini)
		}
		if paid := c.orders[i]["order_detail"].(map[string]any)["pay_info"] != nil; paid != (mini.Paid != 0) {
			t.Fatalf("order %d paid %v, read as %d", mini.ID, paid, mini.Paid)
		}
	}
	if !slices.IsSortedFunc(c.miniShopRows, func(a, b Order) int { return int(b.Created - a.Created) }) {
		t.Fatal("the catalogue is not newest first")
	}
}

// Mini Shop names ids as numbers, the Store as decimal strings: another
// JSON type is 47001 on the Store, a missing id or a string that is no
// id 40097.
func TestRequestIDs(t *testing.T) {
	request := func(body string) *http.Request { return httptest.NewRequest("POST", "/", strings.NewReader(body)) }
	for _, c := range []struct {
		read    func(*http.Request, string) (uint64, int64)
		body    string
		id      uint64
		errcode int64
	}{
		{MiniShopRequestID, `{"order_id":32423523451235145}`, 32423523451235145, 0},
		{MiniShopRequestID, `{"order_id":"12"}`, 12, 0},
		{MiniShopRequestID, `{"order_id":0}`, 0, 9401020},
		{MiniShopRequestID, `{"order_id":-1}`, 0, 9401020},
		{MiniShopRequestID, `{}`, 0, 9401020},
		{MiniShopRequestID, `{"order_id":`, 0, 9401020},
		{StoreRequestID, `{"order_id":"3705115058471208928"}`, 3705115058471208928, 0},
		{StoreRequestID, `{"order_id":3705115058471208928}`, 0, 47001},
		{StoreRequestID, `{"order_id":"12ab"}`, 0, 40097},
		{StoreRequestID, `{}`, 0, 40097},
		{StoreRequestID, `{"order_id":"1"`, 0, 47001},
	} {
		if id, code := c.read(request(c.body), "order_id"); id != c.id || code != c.errcode {
			t.Errorf("%s: id %d errcode %d, want %d and %d", c.body, id, code, c.id, c.errcode)
		}
	}
}
