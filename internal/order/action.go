package order

import (
	"context"
	"errors"
	"strconv"

	"github.com/ordergraph/ordergraph/internal/codes"
)

// Writer is a family's order actions: the writes of
// shared/upstream/order-writes.md and the lookups they need. A write is
// sent once: an implementation never retries one on a failure that may
// have reached WeChat, and says so with an error that MayHaveApplied
// reports. A refusal by WeChat that concerns the action is a *Refusal; a
// failure of the infrastructure (quota, permission, token, busy upstream)
// is an *Error, as for reads. An action the family lacks is a *Refusal of
// codes.NotSupported, without a call.
type Writer interface {
	Ship(ctx context.Context, s Shipment) error
	UpdateShipment(ctx context.Context, s Shipment) error
	SetMerchantNotes(ctx context.Context, orderID uint64, notes string) error
	ChangePrice(ctx context.Context, c PriceChange) error
	ChangeAddress(ctx context.Context, orderID uint64, a Address) error
	AcceptAfterSale(ctx context.Context, a AfterSaleAccept) error
	RejectAfterSale(ctx context.Context, r AfterSaleReject) error

	// Precheck is the refusal the family gives an action before any call,
	// whatever the order's state: an action it lacks (NOT_SUPPORTED), an
	// input it cannot send (the WeChat Store's rejection without a reason
	// type). nil: the action may go on. The write methods check it too.
	Precheck(a Action) *Refusal

	DeliveryCompanies(ctx context.Context) ([]DeliveryCompany, error)
	// AftersaleRejectReasons and ReturnAddresses answer nil where the
	// family has no such list.
	AftersaleRejectReasons(ctx context.Context) ([]AftersaleRejectReason, error)
	ReturnAddresses(ctx context.Context) ([]ReturnAddress, error)
}

// ActionKind names an order action.
type ActionKind int

const (
	ActShip ActionKind = iota + 1
	ActUpdateShipment
	ActSetMerchantNotes
	ActChangePrice
	ActChangeAddress
	ActAcceptAfterSale
	ActRejectAfterSale
)

// Action is an order action as Precheck sees it: its kind, and the input
// a family may refuse outright.
type Action struct {
	Kind     ActionKind
	Shipment *Shipment
	Reject   *AfterSaleReject
}

// Shipment is a shipOrder or updateShipment: the order's parcels, or
// virtual goods with none.
type Shipment struct {
	OrderID uint64
	Parcels []Parcel
	Virtual bool
}

// Parcel is one waybill. Whole says the client named no items: the parcel
// carries whatever of the order is unshipped (only as the sole parcel);
// Items then lists it, for a family that must name every item (the WeChat
// Store), while one that can say "all" (Mini Shop's is_all_product) does.
type Parcel struct {
	DeliveryID string
	WaybillID  string
	Items      []ParcelItem
	Whole      bool
}

// ParcelItem is a count of one SKU in a parcel.
type ParcelItem struct {
	ProductID uint64
	SkuID     uint64
	Count     int64
}

// PriceChange lowers an unpaid order's SKU line totals and/or its freight,
// all in fen. A nil Freight leaves the freight as it is.
type PriceChange struct {
	OrderID uint64
	Lines   []PriceLine
	Freight *int64
}

// PriceLine is one SKU line's new total in fen.
type PriceLine struct {
	ProductID    uint64
	SkuID        uint64
	NewLineTotal int64
}

// Address is a delivery address for changeOrderAddress.
type Address struct {
	UserName     string
	TelNumber    string
	ProvinceName string
	CityName     string
	CountyName   string
	DetailInfo   string
	PostalCode   *string
	HouseNumber  *string
}

// AfterSaleAccept accepts a buyer's after-sale request; ReturnAddressID is
// where a return goes, when one is approved.
type AfterSaleAccept struct {
	AfterSaleID     uint64
	ReturnAddressID *string
}

// AfterSaleReject rejects one: the Store needs ReasonType, Mini Shop Reason.
type AfterSaleReject struct {
	AfterSaleID uint64
	ReasonType  *int64
	Reason      *string
}

// DeliveryCompany is a carrier a parcel may name.
type DeliveryCompany struct {
	DeliveryID string
	Name       string
}

// AftersaleRejectReason is a reason a rejection may give.
type AftersaleRejectReason struct {
	ReasonType int64
	Text       string
}

// MaxReturnAddresses bounds the return addresses read: the list is one
// call and each address another, which the query cost charges.
const MaxReturnAddresses = 20

// ReturnAddress is one of the merchant's return addresses.
type ReturnAddress struct {
	ID           string
	UserName     *string
	TelNumber    *string
	ProvinceName *string
	CityName     *string
	CountyName   *string
	DetailInfo   *string
	IsDefault    bool
}

// Refusal is WeChat's (or this server's) refusal of an action for a reason
// the caller can act on: it becomes a userError of the payload.
type Refusal struct {
	Code codes.UserCode
	// Field is the path of the input field at fault, when one is.
	Field   []string
	Message string
	// Errcode is WeChat's, when WeChat refused.
	Errcode *int64
}

func (r *Refusal) Error() string {
	s := string(r.Code) + ": " + r.Message
	if r.Errcode != nil {
		s += " (errcode " + strconv.FormatInt(*r.Errcode, 10) + ")"
	}
	return s
}

// Refuse is a refusal without an errcode.
func Refuse(code codes.UserCode, message string, field ...string) *Refusal {
	return &Refusal{Code: code, Message: message, Field: field}
}

// ErrMayHaveApplied is the cause of a write's failure that may have
// reached WeChat (a timeout, a dropped connection, errcode -1): whether the
// write applied is unknown until the order is read back.
var ErrMayHaveApplied = errors.New("the write may have been applied")

// MayHaveApplied reports whether err leaves it unknown whether a write
// applied.
func MayHaveApplied(err error) bool { return errors.Is(err, ErrMayHaveApplied) }
