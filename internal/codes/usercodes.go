package codes

// UserCode is the code of a refusal that concerns an order action itself
// (the order's state, WeChat's per-order limits, bad input): it comes back
// in the payload's userErrors, with the payload's other fields, rather than
// as a top-level error. The values are the contract's UserErrorCode enum.
type UserCode string

const (
	InvalidInput         UserCode = "INVALID_INPUT"
	UserOrderNotFound    UserCode = "ORDER_NOT_FOUND"
	UserAfterSaleMissing UserCode = "AFTERSALE_NOT_FOUND"
	OrderState           UserCode = "ORDER_STATE"
	AfterSaleState       UserCode = "AFTERSALE_STATE"
	AlreadyShipped       UserCode = "ALREADY_SHIPPED"
	LimitReached         UserCode = "LIMIT_REACHED"
	PriceNotLower        UserCode = "PRICE_NOT_LOWER"
	ConcurrentUpdate     UserCode = "CONCURRENT_UPDATE"
	RefundTooSoon        UserCode = "REFUND_TOO_SOON"
	ReturnAddressNeeded  UserCode = "RETURN_ADDRESS_REQUIRED"
	NegotiationRequired  UserCode = "NEGOTIATION_REQUIRED"
	ProviderLocked       UserCode = "PROVIDER_LOCKED"
	NotSupported         UserCode = "NOT_SUPPORTED"
	IdempotencyKeyReused UserCode = "IDEMPOTENCY_KEY_REUSED"
	Rejected             UserCode = "REJECTED"
)

// UserInfo documents one user error code.
type UserInfo struct {
	Code    UserCode
	Meaning string
}

// UserAll lists every user error code, in the contract's order; the
// README's table of action refusals follows it.
var UserAll = []UserInfo{
	{InvalidInput, "the input breaks a rule checked before calling WeChat (field says which), or WeChat refused a parameter (40097, 47001, 9401020, 606004, 606005, 606040, 606042, 108023)"},
	{UserOrderNotFound, "the shop has no such order (100002)"},
	{UserAfterSaleMissing, "no such after-sale order, or another shop's (10020000, 10021043, 10021050, 10021057)"},
	{OrderState, "the order's status does not allow the action (101100, 108009)"},
	{AfterSaleState, "the after-sale order's status does not allow the action (10020001, 10021041, 10021051)"},
	{AlreadyShipped, "Mini Shop: the order has shipped already (109001)"},
	{LimitReached, "a per-order limit of WeChat is used up: tracking changes (606041), price changes (108022)"},
	{PriceNotLower, "a new line total or freight not lower than the current one (checked here, and 108021)"},
	{ConcurrentUpdate, "WeChat saw another write to the order at the same time (100003, 10021044), from outside this server; or this server's other actions on the order kept it busy for 15 seconds"},
	{RefundTooSoon, "WeChat Store: one refund a minute per order (10021059)"},
	{ReturnAddressNeeded, "approving a return needs a valid returnAddressId (10021058, 10021060, 10021062)"},
	{NegotiationRequired, "WeChat Store: the merchant must negotiate with the buyer before rejecting (10021068)"},
	{ProviderLocked, "only a specific service provider may ship this order (606034)"},
	{NotSupported, "the upstream family has no such action (Mini Shop: updateShipment, changeOrderAddress, a virtual shipment)"},
	{IdempotencyKeyReused, "the idempotency key was used, by this caller and mutation, with another input in the last 24 hours"},
	{Rejected, "any other refusal of a write by WeChat: see message and upstreamErrcode"},
}
