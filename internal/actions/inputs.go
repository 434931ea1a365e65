package actions

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
)

// The inputs of the contract's mutations, as sent: ids are text, checked
// here so that a bad one is a userError pointing at its field rather than a
// failure of the whole request.

type ShipOrderInput struct {
	IdempotencyKey string
	OrderID        string
	Parcels        []ParcelInput
	Virtual        *bool
}

type ParcelInput struct {
	DeliveryID string
	WaybillID  string
	Items      []ParcelItemInput
}

type ParcelItemInput struct {
	ProductID string
	SkuID     string
	Count     int
}

type UpdateShipmentInput struct {
	IdempotencyKey string
	OrderID        string
	Parcels        []ParcelInput
}

type SetMerchantNotesInput struct {
	IdempotencyKey string
	OrderID        string
	Notes          string
}

type ChangeOrderPriceInput struct {
	IdempotencyKey string
	OrderID        string
	Lines          []PriceLineInput
	Freight        *int
}

type PriceLineInput struct {
	ProductID    string
	SkuID        string
	NewLineTotal int
}

type ChangeOrderAddressInput struct {
	IdempotencyKey string
	OrderID        string
	Address        AddressInput
}

type AddressInput struct {
	UserName     string
	TelNumber    string
	ProvinceName string
	CityName     string
	CountyName   string
	DetailInfo   string
	PostalCode   *string
	HouseNumber  *string
}

type AcceptAftersaleInput struct {
	IdempotencyKey   string
	AftersaleOrderID string
	ReturnAddressID  *string
}

type RejectAftersaleInput struct {
	IdempotencyKey   string
	AftersaleOrderID string
	ReasonType       *int
	Reason           *string
}

// MaxKeyLength is the longest idempotency key, in characters.
const MaxKeyLength = 100

// checker collects the refusals of an input's checks, each at its field.
type checker struct{ refusals []*order.Refusal }

func (c *checker) refuse(code codes.UserCode, msg string, field ...string) {
	c.refusals = append(c.refusals, order.Refuse(code, msg, append([]string{"input"}, field...)...))
}

func (c *checker) key(k string) {
	if n := utf8.RuneCountInString(k); n == 0 || n > MaxKeyLength {
		c.refuse(codes.InvalidInput, "idempotencyKey must be 1.."+strconv.Itoa(MaxKeyLength)+" characters", "idempotencyKey")
	}
}

func (c *checker) id(s, what string, field ...string) uint64 {
	id, err := order.ParseID(s)
	if err != nil {
		c.refuse(codes.InvalidInput, what+" must be a positive decimal integer below 2^64", field...)
	}
	return id
}

func (c *checker) text(s, what string, field ...string) {
	if strings.TrimSpace(s) == "" {
		c.refuse(codes.InvalidInput, what+" must not be empty", field...)
	}
}

// parcels checks a shipment's parcels as sent and returns them in the
// domain's terms.
func (c *checker) parcels(in []ParcelInput) []order.Parcel {
	out := make([]order.Parcel, len(in))
	for i, p := range in {
		at := func(field ...string) []string { return append([]string{"parcels", strconv.Itoa(i)}, field...) }
		c.text(p.DeliveryID, "deliveryId", at("deliveryId")...)
		c.text(p.WaybillID, "waybillId", at("waybillId")...)
		out[i] = order.Parcel{DeliveryID: strings.TrimSpace(p.DeliveryID), WaybillID: strings.TrimSpace(p.WaybillID), Whole: len(p.Items) == 0}
		if len(p.Items) == 0 && len(in) > 1 {
			c.refuse(codes.InvalidInput, "a parcel beside others must list its items", at("items")...)
		}
		for j, item := range p.Items {
			itemAt := func(field string) []string { return at("items", strconv.Itoa(j), field) }
			product := c.id(item.ProductID, "productId", itemAt("productId")...)
			sku := c.id(item.SkuID, "skuId", itemAt("skuId")...)
			if item.Count < 1 {
				c.refuse(codes.InvalidInput, "count must be at least 1", itemAt("count")...)
			}
			out[i].Items = append(out[i].Items, order.ParcelItem{ProductID: product, SkuID: sku, Count: int64(item.Count)})
		}
	}
	return out
}

// shipment checks shipOrder's input.
func (in ShipOrderInput) check() (order.Shipment, []*order.Refusal) {
	var c checker
	c.key(in.IdempotencyKey)
	s := order.Shipment{OrderID: c.id(in.OrderID, "orderId", "orderId"), Virtual: in.Virtual != nil && *in.Virtual}
	switch {
	case s.Virtual && len(in.Parcels) > 0:
		c.refuse(codes.InvalidInput, "a virtual shipment has no parcels", "parcels")
	case !s.Virtual && len(in.Parcels) == 0:
		c.refuse(codes.InvalidInput, "at least one parcel, unless virtual is true", "parcels")
	}
	s.Parcels = c.parcels(in.Parcels)
	return s, c.refusals
}

// check checks updateShipment's input.
func (in UpdateShipmentInput) check() (order.Shipment, []*order.Refusal) {
	var c checker
	c.key(in.IdempotencyKey)
	s := order.Shipment{OrderID: c.id(in.OrderID, "orderId", "orderId")}
	if len(in.Parcels) == 0 {
		c.refuse(codes.InvalidInput, "at least one parcel", "parcels")
	}
	s.Parcels = c.parcels(in.Parcels)
	return s, c.refusals
}

func (in SetMerchantNotesInput) check() (uint64, []*order.Refusal) {
	var c checker
	c.key(in.IdempotencyKey)
	return c.id(in.OrderID, "orderId", "orderId"), c.refusals
}

func (in ChangeOrderPriceInput) check() (order.PriceChange, []*order.Refusal) {
	var c checker
	c.key(in.IdempotencyKey)
	p := order.PriceChange{OrderID: c.id(in.OrderID, "orderId", "orderId")}
	if len(in.Lines) == 0 && in.Freight == nil {
		c.refusals = append(c.refusals, order.Refuse(codes.InvalidInput, "nothing to change: give lines, freight or both"))
	}
	seen := map[[2]uint64]bool{}
	for i, l := range in.Lines {
		at := func(field string) []string { return []string{"lines", strconv.Itoa(i), field} }
		line := order.PriceLine{ProductID: c.id(l.ProductID, "productId", at("productId")...), SkuID: c.id(l.SkuID, "skuId", at("skuId")...), NewLineTotal: int64(l.NewLineTotal)}
		if line.NewLineTotal < 0 {
			c.refuse(codes.InvalidInput, "newLineTotal must not be negative", at("newLineTotal")...)
		}
		if k := [2]uint64{line.ProductID, line.SkuID}; seen[k] && k[1] != 0 {
			c.refuse(codes.InvalidInput, "a SKU line may be named once", "lines", strconv.Itoa(i))
		} else {
			seen[k] = true
		}
		p.Lines = append(p.Lines, line)
	}
	if in.Freight != nil {
		f := int64(*in.Freight)
		if f < 0 {
			c.refuse(codes.InvalidInput, "freight must not be negative", "freight")
		}
		p.Freight = &f
	}
	return p, c.refusals
}

func (in ChangeOrderAddressInput) check() (uint64, order.Address, []*order.Refusal) {
	var c checker
	c.key(in.IdempotencyKey)
	id := c.id(in.OrderID, "orderId", "orderId")
	a := in.Address
	for _, f := range []struct{ name, value string }{
		{"userName", a.UserName}, {"telNumber", a.TelNumber}, {"provinceName", a.ProvinceName},
		{"cityName", a.CityName}, {"countyName", a.CountyName}, {"detailInfo", a.DetailInfo},
	} {
		c.text(f.value, f.name, "address", f.name)
	}
	return id, order.Address(a), c.refusals
}

func (in AcceptAftersaleInput) check() (order.AfterSaleAccept, []*order.Refusal) {
	var c checker
	c.key(in.IdempotencyKey)
	a := order.AfterSaleAccept{AfterSaleID: c.id(in.AftersaleOrderID, "aftersaleOrderId", "aftersaleOrderId"), ReturnAddressID: in.ReturnAddressID}
	if a.ReturnAddressID != nil {
		c.text(*a.ReturnAddressID, "returnAddressId", "returnAddressId")
	}
	return a, c.refusals
}

func (in RejectAftersaleInput) check() (order.AfterSaleReject, []*order.Refusal) {
	var c checker
	c.key(in.IdempotencyKey)
	r := order.AfterSaleReject{AfterSaleID: c.id(in.AftersaleOrderID, "aftersaleOrderId", "aftersaleOrderId"), Reason: in.Reason}
	if in.ReasonType != nil {
		t := int64(*in.ReasonType)
		r.ReasonType = &t
	}
	return r, c.refusals
}

// checkItems checks a shipment's items against the order: each names one
// of its SKU lines, and no line ships more than the order has of it (what
// is shipped already and the order's state are WeChat's to judge). A whole
// parcel gets what is left unshipped. It returns the shipment to send;
// replace says the parcels replace those shipped (a tracking change).
func checkItems(s order.Shipment, o *order.Order, replace bool) (order.Shipment, []*order.Refusal) {
	var c checker
	has, left := map[[2]uint64]int64{}, map[[2]uint64]int64{}
	var lines [][2]uint64
	if o.OrderDetail != nil {
		for _, p := range o.OrderDetail.ProductInfos {
			k := [2]uint64{p.ProductID, p.SkuID}
			if _, dup := has[k]; !dup {
				lines = append(lines, k)
			}
			has[k] += p.SkuCnt
			left[k] += p.SkuCnt - p.FinishAftersaleSkuCnt
		}
		if d := o.OrderDetail.DeliveryInfo; d != nil && !replace {
			for _, parcel := range d.DeliveryProductInfo {
				for _, item := range parcel.ProductInfos {
					left[[2]uint64{item.ProductID, item.SkuID}] -= item.ProductCnt
				}
			}
		}
	}
	out := s
	out.Parcels = make([]order.Parcel, len(s.Parcels))
	asked := map[[2]uint64]int64{}
	for i, p := range s.Parcels {
		out.Parcels[i] = p
		if p.Whole {
			out.Parcels[i].Items = nil
			for _, k := range lines {
				if n := left[k]; n > 0 {
					out.Parcels[i].Items = append(out.Parcels[i].Items, order.ParcelItem{ProductID: k[0], SkuID: k[1], Count: n})
				}
			}
			continue
		}
		for j, item := range p.Items {
			k := [2]uint64{item.ProductID, item.SkuID}
			at := []string{"parcels", strconv.Itoa(i), "items", strconv.Itoa(j)}
			asked[k] += item.Count
			switch n, ok := has[k]; {
			case !ok:
				c.refuse(codes.InvalidInput, "the order has no such product and SKU", at...)
			case asked[k] > n:
				c.refuse(codes.InvalidInput, "more than the order has of this SKU ("+strconv.FormatInt(n, 10)+")", append(at, "count")...)
			}
		}
	}
	return out, c.refusals
}

// checkPrices checks a price change against the order: each line is one of
// its SKU lines and lower than that line's total now, and so is the freight.
func checkPrices(p order.PriceChange, o *order.Order) []*order.Refusal {
	var c checker
	totals := map[[2]uint64]int64{}
	if o.OrderDetail != nil {
		for _, line := range o.OrderDetail.ProductInfos {
			totals[[2]uint64{line.ProductID, line.SkuID}] += line.LineTotal()
		}
	}
	for i, l := range p.Lines {
		total, ok := totals[[2]uint64{l.ProductID, l.SkuID}]
		switch {
		case !ok:
			c.refuse(codes.InvalidInput, "the order has no such product and SKU line", "lines", strconv.Itoa(i))
		case l.NewLineTotal >= total:
			c.refuse(codes.PriceNotLower, "newLineTotal must be lower than the line's total now ("+strconv.FormatInt(total, 10)+" fen)", "lines", strconv.Itoa(i), "newLineTotal")
		}
	}
	if p.Freight != nil && o.OrderDetail != nil && o.OrderDetail.PriceInfo != nil {
		if now := o.OrderDetail.PriceInfo.Freight; *p.Freight >= now {
			c.refuse(codes.PriceNotLower, "freight must be lower than the freight now ("+strconv.FormatInt(now, 10)+" fen)", "freight")
		}
	}
	return c.refusals
}
