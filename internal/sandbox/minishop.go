package sandbox

import (
	_ "embed"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"
)

// The Mini Shop family's fake: POST /product/order/get. It serves the
// vendor's example order, deterministic generated orders for any other id
// (see Generate), and documented ids that show errors and upstream quirks
// (see Specials).

// VendorExample is the example response of the vendor doc, verbatim but for
// its "..." placeholders. The sandbox serves it at VendorExampleID.
//
//go:embed vendor_example.json
var VendorExample []byte

// VendorExampleID is the order id of VendorExample.
const VendorExampleID = 12123121332

// Special ids and what the sandbox answers for them. Every other id from
// 1000 up is a generated order; ids below 1000 do not exist.
var Specials = []Special{
	{VendorExampleID, "the vendor doc's example order, verbatim"},
	{100002, "errcode 100002: order not found"},
	{48001, "errcode 48001: no permission for the API"},
	{45009, "errcode 45009: daily quota exhausted"},
	{45011, "errcode 45011: per-minute quota exhausted"},
	{30000, "errcode 30000: frequency limit"},
	{9401020, "errcode 9401020: invalid parameter"},
	{1400007, "errcode 1400007: API taken offline"},
	{900001, "express_fee and delivery_product_info sent as single objects, as documented"},
	{900002, "successor-API style: ids, counts, errcode and times as strings; prepay_id and transaction_id as numbers; wall-clock delivery_time"},
	{900003, "unknown status (77) and order type (42), unknown shipping method and insurance type, 0 and \"\" times, no lists, no optional sections"},
	{900004, "malformed JSON"},
	{900005, "HTTP 502 from the upstream"},
}

// Special documents one id with scripted behaviour.
type Special struct {
	ID   uint64
	What string
}

func (s *Sandbox) miniShopOrderGet(w http.ResponseWriter, r *http.Request) {
	id, bad := MiniShopRequestID(r, "order_id")
	if bad != 0 {
		WriteJSON(w, errcode(bad, "invalid parameter"))
		return
	}
	if o, ok := s.writtenOrder(MiniShopShape, id); ok {
		answerOrder(w, o)
		return
	}
	switch id {
	case VendorExampleID:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(VendorExample)
	case 100002, 48001, 45009, 45011, 30000, 9401020, 1400007:
		WriteJSON(w, errcode(int64(id), "sandbox: scripted error"))
	case 900001, 900002, 900003:
		WriteJSON(w, quirk(id))
	case 900004:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"errcode":0,"order":{"order_id":900004,`))
	case 900005:
		http.Error(w, "bad gateway", http.StatusBadGateway)
	default:
		o := s.unwrittenOrder(MiniShopShape, id)
		if o == nil {
			WriteJSON(w, errcode(100002, "order not exist"))
			return
		}
		WriteJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "order": o})
	}
}

// miniShopAfterSales answers batchgetaftersaleorder: for each id from 1000
// up, a made-up after-sale record, the same for the same id until a write
// changes it; 1234, the vendor example's after-sale order, belongs to that
// order. Ids below 1000 do not exist. Like the real API it answers in an order of its own (here
// the reverse) and without an errcode.
func (s *Sandbox) miniShopAfterSales(w http.ResponseWriter, r *http.Request) {
	var req struct {
		IDs []uint64 `json:"after_sale_order_id_list"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.IDs) > 50 {
		WriteJSON(w, errcode(9401020, "invalid parameter"))
		return
	}
	list := []json.RawMessage{}
	for i := len(req.IDs) - 1; i >= 0; i-- {
		if record, ok := (shop{s, MiniShopShape}).AfterSale(req.IDs[i]); ok {
			list = append(list, record)
		}
	}
	WriteJSON(w, map[string]any{"errmsg": "", "after_sale_order_list": list})
}

// catalogue is what get_list lists: CatalogueSize generated orders, one
// every CatalogueEvery back from the sandbox's start, newest first, shared
// by CatalogueBuyers buyers in turn. order/get answers the same orders.
type catalogue struct {
	// shop is the catalogue's shop on the sandbox's platform, from 0, of
	// shops: its order and after-sale ids are the first shop's plus
	// shop × ShopIDStride. A sandbox of its own is shop 0 of 1.
	shop, shops int
	orders      []map[string]any // newest first
	byID        map[uint64]map[string]any
	// The same orders in the WeChat Store's shape.
	storeOrders []map[string]any
	storeByID   map[uint64]map[string]any
	// The same orders again, in each shape, as the list and search rules
	// read them.
	miniShopRows, storeRows []Order
}

// The catalogue's shape: 300 orders over the last 30 days, five buyers,
// and an after-sale order for every tenth.
const (
	CatalogueFirstID          = 2_000_000
	CatalogueAfterSaleFirstID = 3_000_000
	CatalogueSize             = 300
	CatalogueEvery            = 30 * 24 * time.Hour / CatalogueSize
	CatalogueBuyers           = 5
)

// ShopIDStride is how far apart the catalogues of the platform's shops
// are (see NewPlatform): far enough that no order or after-sale id of one
// is another's.
const ShopIDStride = 10_000_000

// shopOffset is what shop's ids add to the first shop's.
func shopOffset(shop int) uint64 { return uint64(shop) * ShopIDStride }

// catalogueBuyer is the buyer of shop's catalogue order i; the first
// shop's are oSandboxBuyer1…5, as a sandbox of its own has them.
func catalogueBuyer(shop, i int) string {
	prefix := "oSandbox"
	if shop > 0 {
		prefix += "Shop" + strconv.Itoa(shop+1)
	}
	return prefix + "Buyer" + strconv.Itoa(1+i%CatalogueBuyers)
}

func newCatalogue(now time.Time, shop, shops int) catalogue {
	c := catalogue{
		shop: shop, shops: shops,
		orders: make([]map[string]any, CatalogueSize), byID: map[uint64]map[string]any{},
		storeOrders: make([]map[string]any, CatalogueSize), storeByID: map[uint64]map[string]any{},
		miniShopRows: make([]Order, CatalogueSize), storeRows: make([]Order, CatalogueSize),
	}
	// A minute back: a list of "the last 7 days" ends a second before now,
	// and must still hold the newest order in the first second of a minute.
	newest := now.Truncate(time.Minute).Add(-time.Minute)
	for i := range CatalogueSize {
		id := CatalogueFirstID + shopOffset(shop) + uint64(i)
		o := Generate(id)
		created := newest.Add(-time.Duration(i) * CatalogueEvery)
		o["create_time"], o["update_time"] = wallClock(created), wallClock(created.Add(30*time.Minute))
		o["openid"] = catalogueBuyer(shop, i)
		if shop > 0 { // the shop's own customers, by name too
			address := o["order_detail"].(map[string]any)["delivery_info"].(map[string]any)["address_info"].(map[string]any)
			address["user_name"] = "店铺" + strconv.Itoa(shop+1) + address["user_name"].(string)
		}
		if i%10 == 0 { // every tenth has an after-sale order in progress
			o["aftersale_detail"] = map[string]any{"on_aftersale_order_cnt": 1, "aftersale_order_list": []map[string]any{
				{"aftersale_order_id": CatalogueAfterSaleFirstID + shopOffset(shop) + uint64(i), "status": 2},
			}}
		}
		c.set(i, o)
	}
	return c
}

// index is the position of order id in the catalogue.
func (c *catalogue) index(id uint64) (int, bool) {
	i := id - CatalogueFirstID - shopOffset(c.shop) // an id below wraps past the end
	return int(i), i < CatalogueSize
}

// foreign says id is another shop's catalogue order or after-sale order:
// a shop of the platform has none of them, as no two WeChat shops share
// an order.
func (c *catalogue) foreign(id uint64) bool {
	for shop := range c.shops {
		off := shopOffset(shop) // the differences below wrap for ids below a range
		if shop != c.shop && (id-CatalogueFirstID-off < CatalogueSize || id-CatalogueAfterSaleFirstID-off < CatalogueSize) {
			return true
		}
	}
	return false
}

// set makes o, in Mini Shop's shape, the catalogue's order i in every shape.
func (c *catalogue) set(i int, o map[string]any) {
	id := o["order_id"].(uint64)
	c.orders[i], c.byID[id] = o, o
	c.storeOrders[i] = storeOrder(o)
	c.storeByID[id] = c.storeOrders[i]
	c.miniShopRows[i], c.storeRows[i] = row(o), row(c.storeOrders[i])
}

// row is o as the list and search rules read it.
func row(o map[string]any) Order { return parsedRow(encode(o)) }

// parsedRow is the JSON of an order the sandbox made as the list and
// search rules read it.
func parsedRow(orderJSON []byte) Order {
	r, err := ParseOrder(orderJSON)
	if err != nil {
		panic(err) // the generator and the write rules make only valid JSON
	}
	return r
}

// miniShopOrderList and miniShopOrderSearch answer from the catalogue by
// Mini Shop's rules (rules.go).
func (s *Sandbox) miniShopOrderList(w http.ResponseWriter, r *http.Request) {
	s.answerList(w, r, MiniShopList, s.catalogue.miniShopRows)
}

func (s *Sandbox) miniShopOrderSearch(w http.ResponseWriter, r *http.Request) {
	s.answerList(w, r, MiniShopSearch, s.catalogue.miniShopRows)
}

// answerList answers a list or search call by rule over orders.
func (s *Sandbox) answerList(w http.ResponseWriter, r *http.Request, rule func(request []byte, orders []Order) any, orders []Order) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	WriteJSON(w, rule(body, orders))
}
