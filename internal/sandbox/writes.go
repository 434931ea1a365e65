package sandbox

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"
)

// WeChat's rules for the write calls of shared/upstream/order-writes.md,
// written once, as rules.go is for lists: what each call must be sent, in
// which state of the order (or after-sale order) it is allowed, what it
// changes in the order's JSON, which errcode refuses it, and which WeChat
// Store event tells of it. The sandbox applies them to its catalogue and
// package wechattest to the orders a test scripts; each keeps its orders as
// JSON of the family's shape (see Shop), and its own lock around Apply.
//
// Where the doc names no errcode, or several, the rules choose, the same
// way on every call:
//   - A body that is no JSON object: the Store's 47001, Mini Shop's
//     9401020. Any other bad parameter: 40097 or 9401020.
//   - Parcels (Store): 40097 for a deliver_type other than 1 or 3, a
//     virtual parcel beside others, an entry without items, an item whose
//     product_id, sku_id or count is not above 0; 606004 for a delivery_id
//     not in the carrier list; 606005 for an empty waybill_id; 606042 for
//     items that are not the order's SKUs, or more than is left to ship.
//   - Parcels (Mini Shop): 9401020 for all of those, and for a SKU split
//     over parcels (each SKU ships whole, in one parcel); 109000 for a
//     delivery_id + waybill_id the order (or the call) has already.
//   - Mini Shop ship: 109001 in status 30 or 100 (shipped); 101100 in any
//     other status but 20 and 21 (unpaid, cancelled).
//   - Tracking changes keep what shipped: the new parcels must carry, SKU
//     for SKU, what the old ones did (606042 otherwise); virtual goods have
//     no tracking to change (40097). The doc names no event for them, so
//     none is pushed.
//   - Address changes past the 5th: 606041, the errcode of the Store's
//     other per-order change limit (the doc names none for addresses).
//   - Price: a line's new total must be below its current one (108021);
//     the freight may stay as it is but not rise (108021).
//   - After-sale: a rejected one stays "in progress", as the Store counts
//     (only USER_CANCELD, MERCHANT_REFUND_SUCCESS, MERCHANT_RETURN_SUCCESS,
//     MERCHANT_REFUND_RETRY_FAIL and MERCHANT_FAIL end one). The fakes play
//     a buyer who sends a return back at once: a return approved
//     (USER_WAIT_RETURN) may be accepted again, which confirms receipt and
//     refunds, or rejected. Mini Shop answers 100002 for an unknown
//     after-sale id (its calls name it order_id) and 9401020 for a missing
//     address_id; any address_id will do there, as it has no address list.

// Shape is a family's JSON shape of orders, after-sale orders and requests.
type Shape int

// The families' shapes: Mini Shop's ids are numbers and its times text;
// the WeChat Store's ids are strings and its times Unix seconds.
const (
	MiniShopShape Shape = iota + 1
	StoreShape
)

// writeCall is one write call: its family's shape, the member naming its
// id, whether that is an after-sale order's, and its rule.
type writeCall struct {
	shape     Shape
	idMember  string
	afterSale bool
	rule      func(*writeCtx) int64
}

var writeCalls = map[string]writeCall{
	"/channels/ec/order/delivery/send":        {StoreShape, "order_id", false, (*writeCtx).ship},
	"/channels/ec/order/deliveryinfo/update":  {StoreShape, "order_id", false, (*writeCtx).updateDelivery},
	"/channels/ec/order/merchantnotes/update": {StoreShape, "order_id", false, (*writeCtx).setNotes},
	"/channels/ec/order/price/update":         {StoreShape, "order_id", false, (*writeCtx).changePrice},
	"/channels/ec/order/address/update":       {StoreShape, "order_id", false, (*writeCtx).askAddress},
	"/channels/ec/aftersale/acceptapply":      {StoreShape, "after_sale_order_id", true, (*writeCtx).accept},
	"/channels/ec/aftersale/rejectapply":      {StoreShape, "after_sale_order_id", true, (*writeCtx).reject},
	"/product/delivery/send":                  {MiniShopShape, "order_id", false, (*writeCtx).ship},
	"/product/order/change_merchant_notes":    {MiniShopShape, "order_id", false, (*writeCtx).setNotes},
	"/product/order/change_order_price":       {MiniShopShape, "order_id", false, (*writeCtx).changePrice},
	"/product/order/acceptapply":              {MiniShopShape, "order_id", true, (*writeCtx).accept},
	"/product/order/rejectrefund":             {MiniShopShape, "order_id", true, (*writeCtx).reject},
}

// WritePaths are the write calls of shape's family, sorted.
func WritePaths(shape Shape) []string {
	var paths []string
	for path, c := range writeCalls {
		if c.shape == shape {
			paths = append(paths, path)
		}
	}
	slices.Sort(paths)
	return paths
}

// Shop is where the rules read and keep a fake's orders and after-sale
// orders, each the JSON object of the call's shape that order/get (or the
// after-sale call) answers. The rules change a copy, and put it back only
// when the write applies.
type Shop interface {
	Order(id uint64) ([]byte, bool)
	PutOrder(id uint64, orderJSON []byte)
	AfterSale(id uint64) ([]byte, bool)
	PutAfterSale(id uint64, recordJSON []byte)
}

// Write is one write call as it arrived.
type Write struct {
	Path  string
	Shape Shape
	// ID is the id the body names: the order's, or on an after-sale call
	// the after-sale order's; 0 when it names none.
	ID        uint64
	AfterSale bool
	body      map[string]any
	// bad is the errcode for a body without a readable id.
	bad int64
}

// ParseWrite reads a write call; false for a path that is no write call.
func ParseWrite(path string, body []byte) (Write, bool) {
	c, ok := writeCalls[path]
	if !ok {
		return Write{}, false
	}
	req, isObject := decodeObject(body)
	w := Write{Path: path, Shape: c.shape, AfterSale: c.afterSale, body: req}
	if c.shape == StoreShape {
		w.ID, w.bad = storeID(req, isObject, c.idMember)
	} else {
		w.ID, w.bad = miniShopID(req, c.idMember)
	}
	return w, true
}

// OrderID is the order c concerns: the one it names, or the order of the
// after-sale order it names (0 when shop has no such after-sale order).
func (c Write) OrderID(shop Shop) uint64 {
	if !c.AfterSale || c.ID == 0 {
		return c.ID
	}
	rec, ok := loadObject(shop.AfterSale(c.ID))
	if !ok {
		return 0
	}
	return idOf(rec[shapes[c.Shape].afterSaleOrder])
}

// WriteResult is WeChat's answer to a write call and what the call did.
type WriteResult struct {
	Answer  map[string]any
	Errcode int64
	// Events are the WeChat Store events that tell of the change, as
	// WeChat pushes them (decrypted); Mini Shop pushes none.
	Events [][]byte
	// AddressPending says a Store address change waits for the buyer
	// (see Writes.AgreeAddress).
	AddressPending bool
}

// Applied says the write applied (or, for an address change, was asked).
func (r WriteResult) Applied() bool { return r.Errcode == 0 }

// Writes applies write calls by WeChat's rules and keeps what WeChat
// remembers of each order beyond its JSON: the changes used up, a pending
// address, the last refund, and on Mini Shop, whose order shows no line
// totals, each line's total after a price change. It is not safe for
// concurrent use: the fake's lock over its orders guards it too.
type Writes struct {
	books map[bookKey]*book
}

type bookKey struct {
	shape Shape
	order uint64
}

type book struct {
	trackingChanges, priceChanges, addressChanges int
	pendingAddress                                map[string]any
	lastRefund                                    time.Time
	lineTotals                                    map[lineKey]int64
}

// lineKey is a SKU line of an order: its product and SKU ids.
type lineKey [2]uint64

func (w *Writes) book(shape Shape, order uint64) *book {
	if w.books == nil {
		w.books = map[bookKey]*book{}
	}
	k := bookKey{shape, order}
	if w.books[k] == nil {
		w.books[k] = &book{lineTotals: map[lineKey]int64{}}
	}
	return w.books[k]
}

// Forget drops what WeChat remembers of the order's writes, for a fake
// whose test scripts the order anew.
func (w *Writes) Forget(orderID uint64) {
	delete(w.books, bookKey{MiniShopShape, orderID})
	delete(w.books, bookKey{StoreShape, orderID})
}

// Errcodes the rules answer, and their errmsg.
var writeErrmsgs = map[int64]string{
	0:        "ok",
	47001:    "data format error",
	40097:    "invalid args",
	9401020:  "非法参数",
	100002:   "order not exist",
	100003:   "订单更新过于频繁",
	101100:   "订单状态错误",
	108009:   "订单处于售后中",
	108021:   "改价不能高于原价",
	108022:   "改价次数超过限制",
	108023:   "改价后订单金额不能为0",
	109000:   "发货失败",
	109001:   "订单已发货",
	606004:   "delivery_id 错误",
	606005:   "waybill_id 错误",
	606041:   "修改次数已达上限",
	606042:   "商品信息错误",
	10020001: "售后单状态不允许该操作",
	10021050: "售后单不存在",
	10021058: "缺少退货地址 address_id",
	10021059: "同一订单一分钟内只能退款一次",
	10021062: "退货地址 address_id 错误",
}

func writeAnswer(code int64) map[string]any {
	msg, ok := writeErrmsgs[code]
	if !ok {
		msg = "sandbox: refused"
	}
	return map[string]any{"errcode": code, "errmsg": msg}
}

// Apply applies c to shop by WeChat's rules at now. busy says another write
// to the same order was in flight when c arrived (see InFlight): WeChat
// refuses the later one with 100003.
func (w *Writes) Apply(shop Shop, c Write, now time.Time, busy bool) WriteResult {
	x := &writeCtx{w: w, shop: shop, c: c, shape: shapes[c.Shape], req: c.body, now: now}
	code := c.bad
	switch {
	case code != 0:
	case busy:
		code = 100003
	default:
		code = writeCalls[c.Path].rule(x)
	}
	r := WriteResult{Answer: writeAnswer(code), Errcode: code}
	if code == 0 {
		r.Events, r.AddressPending = x.events, x.pending
	}
	return r
}

// AgreeAddress is the buyer agreeing to the Store order's pending address
// change at now: the order takes the address, and the event that tells of
// it is returned. False when no change is pending, or the order has moved
// past the states an address may change in (the change then lapses).
func (w *Writes) AgreeAddress(shop Shop, orderID uint64, now time.Time) (event []byte, ok bool) {
	b := w.book(StoreShape, orderID)
	address := b.pendingAddress
	b.pendingAddress = nil
	x := &writeCtx{w: w, shop: shop, c: Write{Shape: StoreShape, ID: orderID}, shape: shapes[StoreShape], now: now}
	o, found := x.order()
	if address == nil || !found || !addressChangeable(o) {
		return nil, false
	}
	child(detailOf(o), "delivery_info")["address_info"] = address
	x.putOrder(o)
	x.orderEvent(o, "channels_ec_order_ext_info_update", map[string]any{"type": 2})
	return x.events[0], true
}

// shapeRules is what a family's calls do their own way.
type shapeRules struct {
	shape Shape
	// bad answers a parameter the call does not take; mismatch items
	// that are not the order's, or more than it has.
	bad, mismatch int64
	// afterSaleMissing and afterSaleState refuse an after-sale call.
	afterSaleMissing, afterSaleState int64
	// afterSaleOrder is the after-sale record's member naming its order.
	afterSaleOrder string
}

var shapes = map[Shape]*shapeRules{
	StoreShape:    {StoreShape, 40097, 606042, 10021050, 10020001, "order_id"},
	MiniShopShape: {MiniShopShape, 9401020, 9401020, 100002, 101100, "original_order_id"},
}

// writeCtx is one write call being applied.
type writeCtx struct {
	w       *Writes
	shop    Shop
	c       Write
	shape   *shapeRules
	req     map[string]any
	now     time.Time
	events  [][]byte
	pending bool
}

func (x *writeCtx) store() bool { return x.shape.shape == StoreShape }

// id is an id as the family writes it: a string on the Store, a number on
// Mini Shop.
func (x *writeCtx) id(v uint64) any {
	if x.store() {
		return strconv.FormatUint(v, 10)
	}
	return json.Number(strconv.FormatUint(v, 10))
}

func (x *writeCtx) book() *book {
	return x.w.book(x.shape.shape, x.c.ID)
}

func (x *writeCtx) order() (map[string]any, bool) {
	return loadObject(x.shop.Order(x.c.ID))
}

// putOrder keeps o, changed now: update_time moves on, as WeChat's does,
// so that a list by update time finds the order.
func (x *writeCtx) putOrder(o map[string]any) {
	if x.store() {
		o["update_time"] = number(x.now.Unix())
	} else {
		o["update_time"] = wallClock(x.now)
	}
	x.shop.PutOrder(idOf(o["order_id"]), encode(o))
}

// orderEvent adds the Store event name of o with payload beside order_id.
func (x *writeCtx) orderEvent(o map[string]any, name string, payload map[string]any) {
	if !x.store() {
		return
	}
	payload["order_id"] = text(o["order_id"])
	x.events = append(x.events, storeEvent(text(o["openid"]), x.now, name, map[string]any{"order_info": payload}))
}

// storeEvent is a WeChat Store push event of the buyer openid, decrypted:
// its name, at now, with its members.
func storeEvent(openid string, now time.Time, name string, members map[string]any) []byte {
	event := map[string]any{"ToUserName": "gh_sandbox", "FromUserName": openid, "CreateTime": now.Unix(), "MsgType": "event", "Event": name}
	maps.Copy(event, members)
	return encode(event)
}

// Orders: status, lines, parcels.

func detailOf(o map[string]any) map[string]any { return child(o, "order_detail") }

// extInfo is where the family keeps the notes: in order_detail on the
// Store, at the top on Mini Shop.
func (x *writeCtx) extInfo(o map[string]any) map[string]any {
	if x.store() {
		return child(detailOf(o), "ext_info")
	}
	return child(o, "ext_info")
}

type orderLine struct {
	key lineKey
	// left is what may still ship: the count less what an after-sale
	// finished.
	left int64
	m    map[string]any
}

func orderLines(o map[string]any) []orderLine {
	var lines []orderLine
	for _, v := range array(object(o["order_detail"])["product_infos"]) {
		p := object(v)
		if p == nil {
			continue
		}
		lines = append(lines, orderLine{
			key:  lineKey{idOf(p["product_id"]), idOf(p["sku_id"])},
			left: intOf(p["sku_cnt"]) - intOf(p["finish_aftersale_sku_cnt"]),
			m:    p,
		})
	}
	return lines
}

// shippedCounts is how many of each SKU the order's parcels carry.
func shippedCounts(o map[string]any) map[lineKey]int64 {
	counts := map[lineKey]int64{}
	for _, p := range array(object(object(o["order_detail"])["delivery_info"])["delivery_product_info"]) {
		for _, v := range array(object(p)["product_infos"]) {
			item := object(v)
			counts[lineKey{idOf(item["product_id"]), idOf(item["sku_id"])}] += intOf(item["product_cnt"])
		}
	}
	return counts
}

func hasParcel(o map[string]any, deliveryID, waybillID string) bool {
	for _, v := range array(object(object(o["order_detail"])["delivery_info"])["delivery_product_info"]) {
		p := object(v)
		if text(p["delivery_id"]) == deliveryID && text(p["waybill_id"]) == waybillID {
			return true
		}
	}
	return false
}

// parcel is one entry of a call's delivery_list.
type parcel struct {
	deliveryID, waybillID string
	deliverType           int64 // the Store's: 1 express, 3 virtual
	items                 []parcelItem
}

type parcelItem struct {
	key   lineKey
	count int64
}

// parcels reads the call's delivery_list for o: the parcels, each with its
// items (a virtual parcel, or Mini Shop's is_all_product, carries what is
// left to ship). replacing reads a tracking change, which has no virtual
// parcels.
func (x *writeCtx) parcels(o map[string]any, replacing bool) ([]parcel, int64) {
	list := array(x.req["delivery_list"])
	if len(list) == 0 {
		return nil, x.shape.bad
	}
	lines := orderLines(o)
	shipped := shippedCounts(o)
	var out []parcel
	waybills := map[[2]string]bool{}
	for _, v := range list {
		e := object(v)
		if e == nil {
			return nil, x.shape.bad
		}
		p := parcel{deliveryID: text(e["delivery_id"]), waybillID: text(e["waybill_id"])}
		whole := false
		if x.store() {
			p.deliverType = intOf(e["deliver_type"])
			switch {
			case p.deliverType == 3 && (len(list) > 1 || replacing):
				return nil, 40097
			case p.deliverType == 3:
				p.deliveryID, p.waybillID, whole = "", "", true
			case p.deliverType != 1:
				return nil, 40097
			case CarrierName(p.deliveryID) == "":
				return nil, 606004
			case p.waybillID == "":
				return nil, 606005
			}
		} else {
			whole = e["is_all_product"] == true
			waybill := [2]string{p.deliveryID, p.waybillID}
			switch {
			case CarrierName(p.deliveryID) == "" || p.waybillID == "" || whole && len(list) > 1:
				return nil, 9401020
			case waybills[waybill] || hasParcel(o, p.deliveryID, p.waybillID):
				return nil, 109000
			}
			waybills[waybill] = true
		}
		if whole {
			for _, l := range lines {
				if n := l.left - shipped[l.key]; n > 0 {
					p.items = append(p.items, parcelItem{l.key, n})
				}
			}
		} else {
			var code int64
			if p.items, code = x.parcelItems(e, lines); code != 0 {
				return nil, code
			}
		}
		if len(p.items) == 0 {
			return nil, x.shape.mismatch
		}
		out = append(out, p)
	}
	return out, 0
}

func (x *writeCtx) parcelItems(e map[string]any, lines []orderLine) ([]parcelItem, int64) {
	list := array(e["product_infos"])
	if len(list) == 0 {
		return nil, x.shape.bad
	}
	var items []parcelItem
	for _, v := range list {
		item := object(v)
		key := lineKey{idOf(item["product_id"]), idOf(item["sku_id"])}
		count, ok := integer(item["product_cnt"])
		switch {
		case key[0] == 0 || key[1] == 0 || !ok || count <= 0:
			return nil, x.shape.bad
		case !slices.ContainsFunc(lines, func(l orderLine) bool { return l.key == key }):
			return nil, x.shape.mismatch
		}
		items = append(items, parcelItem{key, count})
	}
	return items, 0
}

// parcelCounts is how many of each SKU parcels carry.
func parcelCounts(parcels []parcel) map[lineKey]int64 {
	counts := map[lineKey]int64{}
	for _, p := range parcels {
		for _, it := range p.items {
			counts[it.key] += it.count
		}
	}
	return counts
}

// parcelJSON is p as the order's delivery_product_info shows it, shipped
// now.
func (x *writeCtx) parcelJSON(p parcel, o map[string]any) map[string]any {
	items := []any{}
	for _, it := range p.items {
		items = append(items, map[string]any{"product_id": x.id(it.key[0]), "sku_id": x.id(it.key[1]), "product_cnt": number(it.count)})
	}
	j := map[string]any{
		"delivery_id": p.deliveryID, "delivery_name": CarrierName(p.deliveryID), "waybill_id": p.waybillID,
		"delivery_time": number(x.now.Unix()), "product_infos": items,
	}
	if x.store() {
		j["deliver_type"] = number(p.deliverType)
	} else {
		j["deliver_type"] = "DELIVERY_TYPE_OPTIONAL_EXPRESS"
		j["delivery_address"] = object(object(object(o["order_detail"])["delivery_info"])["address_info"])
	}
	return j
}

// The calls.

func (x *writeCtx) ship() int64 {
	o, ok := x.order()
	if !ok {
		return 100002
	}
	switch status := intOf(o["status"]); {
	case status == 20 || status == 21:
	case !x.store() && (status == 30 || status == 100):
		return 109001
	default:
		return 101100
	}
	if !x.store() && intOf(object(o["aftersale_detail"])["on_aftersale_order_cnt"]) > 0 {
		return 108009
	}
	parcels, code := x.parcels(o, false)
	if code != 0 {
		return code
	}
	shipped, adding := shippedCounts(o), parcelCounts(parcels)
	if !x.store() && splitsASku(parcels) {
		return 9401020
	}
	finished := true
	for _, l := range orderLines(o) {
		after := shipped[l.key] + adding[l.key]
		switch {
		case adding[l.key] > 0 && after > l.left:
			return x.shape.mismatch
		case !x.store() && adding[l.key] > 0 && (shipped[l.key] > 0 || adding[l.key] != l.left):
			return 9401020 // a Mini Shop SKU ships whole, in one parcel
		}
		finished = finished && after >= l.left
	}
	delivery := child(detailOf(o), "delivery_info")
	all := array(delivery["delivery_product_info"])
	for _, p := range parcels {
		all = append(all, x.parcelJSON(p, o))
	}
	delivery["delivery_product_info"] = all
	status, finish := number(21), 0
	if finished {
		status, finish = number(30), 1
		delivery["ship_done_time"] = number(x.now.Unix())
	}
	o["status"] = status
	x.putOrder(o)
	x.orderEvent(o, "channels_ec_order_deliver", map[string]any{"finish_delivery": finish})
	return 0
}

// splitsASku says a SKU is named twice in parcels, which Mini Shop refuses.
func splitsASku(parcels []parcel) bool {
	named := map[lineKey]bool{}
	for _, p := range parcels {
		for _, it := range p.items {
			if named[it.key] {
				return true
			}
			named[it.key] = true
		}
	}
	return false
}

// updateDelivery replaces a Store order's parcels: at most 3 times.
func (x *writeCtx) updateDelivery() int64 {
	o, ok := x.order()
	if !ok {
		return 100002
	}
	if status := intOf(o["status"]); status != 21 && status != 30 {
		return 101100
	}
	b := x.book()
	if b.trackingChanges >= 3 {
		return 606041
	}
	parcels, code := x.parcels(o, true)
	if code != 0 {
		return code
	}
	if !maps.Equal(parcelCounts(parcels), shippedCounts(o)) {
		return 606042
	}
	all := []any{}
	for _, p := range parcels {
		all = append(all, x.parcelJSON(p, o))
	}
	child(detailOf(o), "delivery_info")["delivery_product_info"] = all
	x.putOrder(o)
	b.trackingChanges++
	return 0
}

func (x *writeCtx) setNotes() int64 {
	o, ok := x.order()
	if !ok {
		return 100002
	}
	notes, ok := x.req["merchant_notes"].(string)
	if !ok {
		return x.shape.bad
	}
	x.extInfo(o)["merchant_notes"] = notes
	x.putOrder(o)
	x.orderEvent(o, "channels_ec_order_ext_info_update", map[string]any{"type": 3})
	return 0
}

// lineTotal is what the line costs now: its total after a price change,
// else the Store's real_price, else sale_price × sku_cnt.
func (x *writeCtx) lineTotal(l orderLine) int64 {
	if total, ok := x.book().lineTotals[l.key]; ok {
		return total
	}
	if total, ok := integer(l.m["real_price"]); ok && x.store() {
		return total
	}
	return intOf(l.m["sale_price"]) * intOf(l.m["sku_cnt"])
}

// changePrice lowers an unpaid order's line totals and freight: at most 50
// times, and never to nothing. Each change sets totals afresh; price_info
// keeps the order price before the first (original_order_price) and how
// far it has come down since (change_down_price).
func (x *writeCtx) changePrice() int64 {
	o, ok := x.order()
	if !ok {
		return 100002
	}
	if intOf(o["status"]) != 10 {
		return 101100
	}
	b := x.book()
	if b.priceChanges >= 50 {
		return 108022
	}
	infos, isList := x.req["change_order_infos"].([]any)
	changeFreight := x.req["change_express"] == true
	if x.req["change_order_infos"] != nil && !isList || len(infos) == 0 && !changeFreight {
		return x.shape.bad
	}
	lines := orderLines(o)
	totals := map[lineKey]int64{}
	var down int64
	for _, v := range infos {
		info := object(v)
		key := lineKey{idOf(info["product_id"]), idOf(info["sku_id"])}
		total, ok := integer(info["change_price"])
		i := slices.IndexFunc(lines, func(l orderLine) bool { return l.key == key })
		if !ok || total < 0 || i < 0 {
			return x.shape.bad
		}
		if _, twice := totals[key]; twice {
			return x.shape.bad
		}
		was := x.lineTotal(lines[i])
		if total >= was {
			return 108021
		}
		totals[key], down = total, down+was-total
	}
	prices := child(detailOf(o), "price_info")
	freight, newFreight := intOf(prices["freight"]), intOf(prices["freight"])
	if changeFreight {
		var ok bool
		if newFreight, ok = integer(x.req["express_fee"]); !ok || newFreight < 0 {
			return x.shape.bad
		}
		if newFreight > freight {
			return 108021
		}
	}
	was := intOf(prices["order_price"])
	price := was - down - (freight - newFreight)
	if price <= 0 {
		return 108023
	}
	if intOf(prices["original_order_price"]) == 0 {
		prices["original_order_price"] = number(was)
	}
	prices["product_price"] = number(intOf(prices["product_price"]) - down)
	if changeFreight {
		prices["freight"], prices["change_freight"], prices["is_change_freight"] = number(newFreight), number(newFreight), true
	}
	prices["order_price"] = number(price)
	prices["change_down_price"] = number(intOf(prices["original_order_price"]) - price)
	for _, l := range lines {
		if total, ok := totals[l.key]; ok && x.store() {
			l.m["real_price"] = number(total)
		}
	}
	x.putOrder(o)
	if !x.store() {
		maps.Copy(b.lineTotals, totals)
	}
	b.priceChanges++
	x.orderEvent(o, "channels_ec_order_ext_info_update", map[string]any{"type": 12})
	return 0
}

func addressChangeable(o map[string]any) bool {
	status := intOf(o["status"])
	return status == 10 || status == 20
}

// addressMembers are the members of a user_address the Store takes, and
// which of them a parcel needs.
var addressMembers = map[string]bool{
	"user_name": true, "province_name": true, "city_name": true, "county_name": true, "detail_info": true, "tel_number": true,
	"postal_code": false, "national_code": false, "house_number": false,
}

// askAddress asks the buyer of a Store order to take a new address: at
// most 5 times, before shipping. It changes nothing yet (see AgreeAddress).
func (x *writeCtx) askAddress() int64 {
	o, ok := x.order()
	if !ok {
		return 100002
	}
	if !addressChangeable(o) {
		return 101100
	}
	b := x.book()
	if b.addressChanges >= 5 {
		return 606041
	}
	sent := object(x.req["user_address"])
	address := map[string]any{}
	for member, needed := range addressMembers {
		s, _ := sent[member].(string)
		if needed && s == "" {
			return 40097
		}
		if s != "" {
			address[member] = s
		}
	}
	b.addressChanges++
	b.pendingAddress = address
	x.pending = true
	return 0
}

// After-sale orders.

// afterSaleStatuses are the codes of the after-sale status names, as the
// order's aftersale_order_list shows them.
var afterSaleStatuses = map[string]int64{
	"USER_CANCELD": 1, "MERCHANT_PROCESSING": 2, "MERCHANT_REJECT_REFUND": 4, "MERCHANT_REJECT_RETURN": 5,
	"USER_WAIT_RETURN": 6, "RETURN_CLOSED": 7, "MERCHANT_WAIT_RECEIPT": 8, "MERCHANT_OVERDUE_REFUND": 12,
	"MERCHANT_REFUND_SUCCESS": 13, "MERCHANT_RETURN_SUCCESS": 14, "PLATFORM_REFUNDING": 15, "PLATFORM_REFUND_FAIL": 16,
	"USER_WAIT_CONFIRM": 17, "MERCHANT_REFUND_RETRY_FAIL": 18, "MERCHANT_FAIL": 19,
}

// afterSaleEnded are the statuses the Store counts as no longer in progress.
var afterSaleEnded = map[string]bool{"USER_CANCELD": true, "MERCHANT_REFUND_SUCCESS": true, "MERCHANT_RETURN_SUCCESS": true, "MERCHANT_REFUND_RETRY_FAIL": true, "MERCHANT_FAIL": true}

func (x *writeCtx) accept() int64 {
	rec, ok := loadObject(x.shop.AfterSale(x.c.ID))
	if !ok {
		return x.shape.afterSaleMissing
	}
	// accept_type (the Store's): 1 approves a return, 2 refunds; without
	// it the state decides.
	acceptType, typed := integer(x.req["accept_type"])
	if typed && acceptType != 1 && acceptType != 2 && x.store() {
		return 40097
	}
	approve, refund := !typed || !x.store() || acceptType == 1, !typed || !x.store() || acceptType == 2
	status, kind := text(rec["status"]), text(rec["type"])
	var next string
	switch {
	case status == "MERCHANT_PROCESSING" && kind == "REFUND" && refund:
		next = "MERCHANT_REFUND_SUCCESS"
	case status == "MERCHANT_PROCESSING" && kind == "RETURN" && approve:
		if code := x.returnAddress(); code != 0 {
			return code
		}
		next = "USER_WAIT_RETURN"
	case (status == "USER_WAIT_RETURN" || status == "MERCHANT_WAIT_RECEIPT") && kind == "RETURN" && refund:
		next = "MERCHANT_RETURN_SUCCESS"
	default:
		return x.shape.afterSaleState
	}
	orderBook := x.w.book(x.shape.shape, idOf(rec[x.shape.afterSaleOrder]))
	refunds := afterSaleEnded[next]
	if refunds && x.store() && !orderBook.lastRefund.IsZero() && x.now.Sub(orderBook.lastRefund) < time.Minute {
		return 10021059
	}
	x.settle(rec, next)
	if refunds {
		orderBook.lastRefund = x.now
	}
	return 0
}

// returnAddress checks the address_id a return's approval needs.
func (x *writeCtx) returnAddress() int64 {
	id := text(x.req["address_id"])
	switch {
	case id == "" && x.store():
		return 10021058
	case id == "":
		return 9401020
	case x.store() && returnAddress(id) == nil:
		return 10021062
	}
	return 0
}

func (x *writeCtx) reject() int64 {
	rec, ok := loadObject(x.shop.AfterSale(x.c.ID))
	if !ok {
		return x.shape.afterSaleMissing
	}
	reason := text(x.req["reject_reason"])
	if x.store() {
		reasonType, ok := integer(x.req["reject_reason_type"])
		known := rejectReason(reasonType)
		if !ok || known == nil {
			return 40097
		}
		if reason == "" {
			reason = known.text
		}
	} else if reason == "" {
		return 9401020
	}
	switch text(rec["status"]) {
	case "MERCHANT_PROCESSING", "USER_WAIT_RETURN", "MERCHANT_WAIT_RECEIPT":
	default:
		return x.shape.afterSaleState
	}
	next := "MERCHANT_REJECT_REFUND"
	if text(rec["type"]) == "RETURN" {
		next = "MERCHANT_REJECT_RETURN"
	}
	child(rec, "merchant_upload_info")["reject_reason"] = reason
	x.settle(rec, next)
	return 0
}

// settle moves the after-sale order rec to status next, and its order
// with it: the status in its aftersale_order_list, the count in progress,
// and on a refund, the line's after-sale counts.
func (x *writeCtx) settle(rec map[string]any, next string) {
	was := text(rec["status"])
	rec["status"], rec["update_time"] = next, number(x.now.Unix())
	x.shop.PutAfterSale(x.c.ID, encode(rec))
	orderID := idOf(rec[x.shape.afterSaleOrder])
	if o, ok := loadObject(x.shop.Order(orderID)); ok {
		detail := child(o, "aftersale_detail")
		for _, v := range array(detail["aftersale_order_list"]) {
			if entry := object(v); idOf(entry["aftersale_order_id"]) == x.c.ID {
				entry["status"] = number(afterSaleStatuses[next])
			}
		}
		if ended := afterSaleEnded[next]; ended && !afterSaleEnded[was] {
			detail["on_aftersale_order_cnt"] = number(max(intOf(detail["on_aftersale_order_cnt"])-1, 0))
			product := object(rec["product_info"])
			key, count := lineKey{idOf(product["product_id"]), idOf(product["sku_id"])}, intOf(product["count"])
			for _, l := range orderLines(o) {
				if l.key == key && next != "USER_CANCELD" {
					l.m["on_aftersale_sku_cnt"] = number(max(intOf(l.m["on_aftersale_sku_cnt"])-count, 0))
					l.m["finish_aftersale_sku_cnt"] = number(intOf(l.m["finish_aftersale_sku_cnt"]) + count)
				}
			}
		}
		x.putOrder(o)
	}
	if x.store() {
		ids := map[string]any{"after_sale_order_id": strconv.FormatUint(x.c.ID, 10), "order_id": strconv.FormatUint(orderID, 10), "status": next}
		// The server reads the doc's finder_shop_aftersale_status_update;
		// aftersale_info is the name the Store's newer pages give it.
		x.events = append(x.events, storeEvent(text(rec["openid"]), x.now, "channels_ec_aftersale_update",
			map[string]any{"finder_shop_aftersale_status_update": ids, "aftersale_info": maps.Clone(ids)}))
	}
}

// InFlight tracks the write calls in flight per order, each from when it
// arrives (before any latency) until it answers, for WeChat's rule that a
// write to an order another write is busy with fails with 100003. The zero
// value is ready; it is safe for concurrent use.
type InFlight struct {
	mu   sync.Mutex
	n    map[uint64]int
	peak int
}

// Enter counts a write to orderID in flight until leave runs; busy says
// another was in flight already. Order 0 (a call that names no order
// known) is not counted.
func (f *InFlight) Enter(orderID uint64) (busy bool, leave func()) {
	if orderID == 0 {
		return false, func() {}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n = map[uint64]int{}
	}
	busy = f.n[orderID] > 0
	f.n[orderID]++
	f.peak = max(f.peak, f.n[orderID])
	return busy, sync.OnceFunc(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.n[orderID]--; f.n[orderID] == 0 {
			delete(f.n, orderID)
		}
	})
}

// Peak is the most writes to one order that were in flight at once.
func (f *InFlight) Peak() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.peak
}

// Generic JSON: objects as maps, numbers kept exact as json.Number.

// decodeObject reads the first JSON value of b; false unless it is an
// object.
func decodeObject(b []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil || m == nil {
		return nil, false
	}
	return m, true
}

// loadObject decodes what a Shop answered, if it answered.
func loadObject(b []byte, found bool) (map[string]any, bool) {
	if !found {
		return nil, false
	}
	return decodeObject(b)
}

// encode is v's JSON, as WeChat writes it (no HTML escapes, no newline).
func encode(v any) []byte {
	b, _ := marshal(v) // generic JSON and the generator's maps always encode
	return bytes.TrimSpace(b)
}

func object(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func array(v any) []any {
	a, _ := v.([]any)
	return a
}

// child is m's object member key, made (or made an object) if it is not.
func child(m map[string]any, key string) map[string]any {
	c := object(m[key])
	if c == nil {
		c = map[string]any{}
		m[key] = c
	}
	return c
}

func number(n int64) json.Number { return json.Number(strconv.FormatInt(n, 10)) }

// integer reads a whole number sent as a number or as text.
func integer(v any) (int64, bool) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = v
	default:
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

func intOf(v any) int64 {
	n, _ := integer(v)
	return n
}

// idOf reads an id sent as a number or as text; 0 for anything else.
func idOf(v any) uint64 {
	id, _ := strconv.ParseUint(text(v), 10, 64)
	return id
}

// text is a string member, or the digits of a number one.
func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}
