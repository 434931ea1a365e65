// Package order holds the domain model of a shop order and its after-sale
// orders, the interfaces each upstream family implements (Source,
// AfterSaleSource, Lister), the coded Error every layer returns, and the
// order events that subscriptions carry. It knows nothing about GraphQL, HTTP
// or any family's wire format: each family package (minishop, wxstore)
// translates its own JSON into these types, and the GraphQL layer reads them
// and binds its filter inputs to them.
//
// The types and fields carry the names of the public contract, so that gqlgen
// binds them without resolvers. Those names came from Mini Shop's first API;
// they are the contract's now, and a family whose wire names differ (the
// WeChat Store's) maps onto them like any other.
//
// Conventions: money is integer fen; every upstream identifier is a uint64 so
// that ids above 2^53 stay exact; a nil pointer means "not sent by the
// upstream"; times are absolute instants (the GraphQL edge renders them in
// China Standard Time).
package order

import (
	"context"
	"time"
)

// Source fetches one order by id. Implementations return *Error for every
// failure a caller can act on, so the edge can map it to a client-facing code.
type Source interface {
	Order(ctx context.Context, id uint64) (*Order, error)
}

// Forgetter is told that an order changed upstream: it drops whatever it
// holds of the order (a cached copy, a fetch in flight), so that the next
// fetch asks the upstream.
type Forgetter interface {
	Forget(ctx context.Context, id uint64)
}

// AllForgetter is told that any of the shop's orders may have changed
// unseen (the poller passed over changes): it drops all it holds.
type AllForgetter interface {
	ForgetAll(ctx context.Context)
}

// Forgetters tells each of its Forgetters, in turn.
type Forgetters []Forgetter

func (fs Forgetters) Forget(ctx context.Context, id uint64) {
	for _, f := range fs {
		f.Forget(ctx, id)
	}
}

// ForgetAll tells each of its Forgetters that forgets all.
func (fs Forgetters) ForgetAll(ctx context.Context) {
	for _, f := range fs {
		if a, ok := f.(AllForgetter); ok {
			a.ForgetAll(ctx)
		}
	}
}

// Lister lists orders by time range, or searches them, a page at a time,
// at absolute positions in the upstream's order. A family that pages by
// key rather than by position resumes from the token it gave with the last
// order of the previous page (Resume).
type Lister interface {
	ListOrders(ctx context.Context, q ListQuery) (ListPage, error)
	SearchOrders(ctx context.Context, q SearchQuery) (ListPage, error)
}

// SearchQuery asks for the orders at positions [Offset, Offset+Limit) of
// those that match Filter.
type SearchQuery struct {
	Filter SearchFilter
	Offset int
	Limit  int
	Resume string
}

// SearchFilter is a client's searchOrders filter, as sent. OrderID is the
// text of the id; it is checked before any call.
type SearchFilter struct {
	OrderID        *string
	Title          *string
	SkuCode        *string
	UserName       *string
	TelNumber      *string
	TelNumberLast4 *string
	MerchantNotes  *string
	CustomerNotes  *string
	PayFrom        *time.Time
	PayTo          *time.Time
	Status         *OrderStatus
	HasAftersale   *bool
}

// ListQuery asks for the orders at positions [Offset, Offset+Limit) of the
// orders whose Field time is in [From, To), of Status when it is set.
//
// Buyer, when set, is the openid of the buyer whose orders alone are
// wanted; a family that can filter by buyer upstream does, and the caller
// filters again either way.
type ListQuery struct {
	Field    TimeField
	From, To time.Time
	Status   *OrderStatus
	Buyer    string
	Offset   int
	Limit    int
	Resume   string
}

// TimeField is the order time a list filters on.
type TimeField string

const (
	Created TimeField = "created"
	Updated TimeField = "updated"
)

// ListPage is what a Lister found: the orders at the positions asked for
// (fewer at the end of the list) and how many match in all.
//
// A family whose list answers ids only (the WeChat Store) sets IDs instead
// of Orders, and the caller loads them; one that pages by key sets Resume,
// each order's token to resume after it, and, since it cannot count,
// Uncounted and More (whether anything follows the page).
type ListPage struct {
	Orders    []*Order
	IDs       []uint64
	Resume    []string
	Total     int
	Uncounted bool
	More      bool
	// ResumeEnd, when set, resumes after everything the lister looked at,
	// past the last id: a walk that stopped short of its page (the
	// operation's budget was spent) and may have passed empty stretches.
	ResumeEnd string
	// Scoped says every order of the page is the buyer's the query named
	// (ListQuery.Buyer): the family filtered by buyer upstream.
	Scoped bool
}

// ListFilter is a client's listOrders filter, as sent.
type ListFilter struct {
	CreatedFrom, CreatedTo *time.Time
	UpdatedFrom, UpdatedTo *time.Time
	Status                 *OrderStatus
}

// OrderConnection is a page of orders for a client: the orders with their
// cursors, and where the page is.
type OrderConnection struct {
	Edges      []OrderEdge
	PageInfo   PageInfo
	TotalCount *int
}

// OrderEdge is one order of a page: the order, or why it could not be
// fetched (a family whose list answers ids fetches each order on its own,
// and one failure must not fail the page).
type OrderEdge struct {
	Cursor string
	Order  *Order
	Err    error
}

// Node is the edge's order, or its error at the edge's path.
func (e OrderEdge) Node() (*Order, error) { return e.Order, e.Err }

// PageInfo says where a page is in the list.
type PageInfo struct {
	HasNextPage     bool
	HasPreviousPage bool
	StartCursor     *string
	EndCursor       *string
}

// AfterSaleSource fetches after-sale orders in batches of at most MaxBatch
// ids. An id the upstream does not know is missing from the map; an error
// fails the whole batch.
type AfterSaleSource interface {
	MaxBatch() int
	AfterSaleOrders(ctx context.Context, ids []uint64) (map[uint64]*AfterSaleOrder, error)
}

// Order is one shop order.
type Order struct {
	ID              uint64
	Status          OrderStatus
	StatusCode      int64
	CreateTime      *time.Time
	UpdateTime      *time.Time
	Openid          *string
	Unionid         *string
	OrderType       OrderType
	OrderTypeCode   int64
	OrderDetail     *OrderDetail
	AftersaleDetail *AfterSaleDetail
	ExtInfo         *ExtInfo
}

// OrderDetail groups what was bought, how it was paid and how it ships.
type OrderDetail struct {
	ProductInfos   []ProductInfo
	PriceInfo      *PriceInfo
	PayInfo        *PayInfo
	DeliveryInfo   *DeliveryInfo
	CouponInfo     *CouponInfo
	CouponcodeInfo *CouponCodeInfo
}

// ProductInfo is one SKU line of an order.
type ProductInfo struct {
	ProductID             uint64
	OutProductID          *string
	SkuID                 uint64
	OutSkuID              *string
	ThumbImg              *string
	SkuCnt                int64
	SalePrice             int64
	Title                 *string
	SkuAttrs              []AttrInfo
	OnAftersaleSkuCnt     int64
	FinishAftersaleSkuCnt int64
	SkuCode               *string
	MarketPrice           *int64
	// RealPrice is the line's total after discounts and price changes,
	// where the family sends it (the WeChat Store's real_price); the
	// contract does not show it, but a price change is checked against it.
	RealPrice *int64
}

// LineTotal is what the SKU line costs now, in fen: RealPrice where the
// family sends it, else the unit price times the count.
func (p ProductInfo) LineTotal() int64 {
	if p.RealPrice != nil {
		return *p.RealPrice
	}
	return p.SalePrice * p.SkuCnt
}

// AttrInfo is one SKU attribute, such as colour or size.
type AttrInfo struct {
	AttrKey   string
	AttrValue string
}

// PayInfo describes the payment. Prepay and transaction ids are opaque
// strings even when they are all digits. PayMethod is Mini Shop's text,
// nil on the WeChat Store, which sends a code only; PaymentMethod is set
// from either.
type PayInfo struct {
	PayMethod     *string
	PaymentMethod *PaymentMethod
	PrepayID      *string
	PrepayTime    *time.Time
	PayTime       *time.Time
	TransactionID *string
}

// PriceInfo holds the order's amounts, all in fen.
type PriceInfo struct {
	ProductPrice         int64
	OrderPrice           int64
	Freight              int64
	DiscountedPrice      *int64
	IsDiscounted         bool
	OriginalOrderPrice   *int64
	EstimateProductPrice *int64
	ChangeDownPrice      *int64
	ChangeFreight        *int64
	IsChangeFreight      *bool
	BuyerInsurancePrice  *int64
}

// CouponInfo lists the coupons applied to the order.
type CouponInfo struct {
	CouponID []uint64
}

// DeliveryInfo describes where and how the order ships.
type DeliveryInfo struct {
	AddressInfo         *AddressInfo
	DeliveryMethod      *string
	ExpressFee          []DeliveryExpressFee
	DeliveryProductInfo []DeliveryProductInfo
	ShipDoneTime        *time.Time
	InsuranceInfo       *InsuranceInfo
	DeliverType         *DeliveryType
	OfflineDeliveryTime *time.Time
	OfflinePickupTime   *time.Time
	PickupAddress       *AddressInfo
}

// DeliveryExpressFee names the shipping method charged for.
type DeliveryExpressFee struct {
	ShippingMethod ShippingMethod
}

// DeliveryProductInfo is one parcel: its waybill and what it contains.
type DeliveryProductInfo struct {
	WaybillID       *string
	DeliveryID      *string
	ProductInfos    []FreightProductInfo
	DeliveryName    *string
	DeliveryTime    *time.Time
	DeliverType     *DeliveryType
	DeliveryAddress *AddressInfo
}

// FreightProductInfo is one SKU inside a parcel.
type FreightProductInfo struct {
	ProductID  uint64
	SkuID      uint64
	ProductCnt int64
}

// InsuranceInfo describes freight insurance.
type InsuranceInfo struct {
	Type           InsuranceType
	InsurancePrice int64
}

// AddressInfo is a postal address with the recipient's contact.
type AddressInfo struct {
	UserName     *string
	PostalCode   *string
	ProvinceName *string
	CityName     *string
	CountyName   *string
	DetailInfo   *string
	NationalCode *string
	TelNumber    *string
	HouseNumber  *string
}

// CouponCodeInfo describes a voucher order's validity and redemption.
type CouponCodeInfo struct {
	StartTime        *time.Time
	EndTime          *time.Time
	VerifyType       *VerifyType
	PhoneNumber      *string
	VerifierNickname *string
	VerifyTime       *time.Time
}

// AfterSaleDetail summarises refunds and returns.
type AfterSaleDetail struct {
	OnAftersaleOrderCnt int64
	AftersaleOrderList  []AfterSaleOrderInfo
}

// AfterSaleOrderInfo is one after-sale (refund/return) order.
type AfterSaleOrderInfo struct {
	AftersaleOrderID uint64
	Status           int64
}

// AfterSaleOrder is a refund or return.
type AfterSaleOrder struct {
	ID               uint64
	OrderID          uint64
	Status           string
	Type             AfterSaleType
	Openid           *string
	Reason           *string
	RefundAmount     *int64
	ProductID        *uint64
	SkuID            *uint64
	Count            *int64
	ReturnWaybillID  *string
	ReturnDeliveryID *string
	CreateTime       *time.Time
	UpdateTime       *time.Time
}

// ExtInfo holds free-text notes.
type ExtInfo struct {
	CustomerNotes *string
	MerchantNotes *string
}

// ChinaTime is China Standard Time, the zone of WeChat's wall-clock times
// (Mini Shop's; the Store sends Unix seconds) and the one the GraphQL edge
// renders every time in. A fixed offset (China has no daylight saving time) keeps
// the server independent of the machine's tz database.
var ChinaTime = time.FixedZone("CST", 8*60*60)
