package order

// The enums below carry the contract's names as their values so that logs and
// tests read the same words as clients do. Adapters map their own wire codes
// onto them and fall back to the Unknown value, never to an error, so a new
// upstream code cannot break an otherwise readable order.

// OrderStatus is where an order is in its life cycle.
type OrderStatus string

const (
	StatusPendingPayment             OrderStatus = "PENDING_PAYMENT"
	StatusGiftAwaitingAccept         OrderStatus = "GIFT_AWAITING_ACCEPT"
	StatusGroupOrderAwaitingGroup    OrderStatus = "GROUP_ORDER_AWAITING_GROUP"
	StatusGroupPaidAwaitingGroup     OrderStatus = "GROUP_PAID_AWAITING_GROUP"
	StatusPaidAwaitingMerchantAccept OrderStatus = "PAID_AWAITING_MERCHANT_ACCEPT"
	StatusPaidAwaitingVerification   OrderStatus = "PAID_AWAITING_VERIFICATION"
	StatusToBeShipped                OrderStatus = "TO_BE_SHIPPED"
	StatusPartiallyShipped           OrderStatus = "PARTIALLY_SHIPPED"
	StatusToBeReceived               OrderStatus = "TO_BE_RECEIVED"
	StatusCompleted                  OrderStatus = "COMPLETED"
	StatusCancelledAutoRefunded      OrderStatus = "CANCELLED_AUTO_REFUNDED"
	StatusCancelledOversold          OrderStatus = "CANCELLED_OVERSOLD"
	StatusCancelledAllAftersale      OrderStatus = "CANCELLED_ALL_AFTERSALE"
	StatusCancelledUnpaid            OrderStatus = "CANCELLED_UNPAID"
	StatusUnknown                    OrderStatus = "UNKNOWN"
)

// OrderType is the kind of order (ordinary, self pickup, group buying, ...).
type OrderType string

const (
	TypeOrdinary           OrderType = "ORDINARY"
	TypeSelfPickup         OrderType = "SELF_PICKUP"
	TypePaymentCode        OrderType = "PAYMENT_CODE"
	TypeGroup              OrderType = "GROUP"
	TypeVerificationCoupon OrderType = "VERIFICATION_COUPON"
	TypeSameCityDelivery   OrderType = "SAME_CITY_DELIVERY"
	TypeGroupBuyingCoupon  OrderType = "GROUP_BUYING_COUPON"
	TypeNoShipping         OrderType = "NO_SHIPPING"
	TypeUnknown            OrderType = "UNKNOWN"
)

// ShippingMethod is how goods travel to the buyer.
type ShippingMethod string

const (
	ShippingExpress  ShippingMethod = "EXPRESS"
	ShippingSameCity ShippingMethod = "SAME_CITY"
	ShippingPickup   ShippingMethod = "PICKUP"
	ShippingUnknown  ShippingMethod = "UNKNOWN"
)

// InsuranceType says who bought freight insurance, if anyone.
type InsuranceType string

const (
	InsuranceNone    InsuranceType = "NONE"
	InsuranceBuyer   InsuranceType = "BUYER"
	InsuranceSeller  InsuranceType = "SELLER"
	InsuranceUnknown InsuranceType = "UNKNOWN"
)

// DeliveryType is how the merchant hands the parcel to a courier.
type DeliveryType string

const (
	DeliveryOptionalExpress DeliveryType = "OPTIONAL_EXPRESS"
	DeliveryOrderOnline     DeliveryType = "ORDER_ONLINE"
	DeliveryNoExpress       DeliveryType = "NO_EXPRESS"
	DeliveryUnknown         DeliveryType = "UNKNOWN"
)

// VerifyType says on which days a voucher can be redeemed.
type VerifyType string

const (
	VerifyAnyDay        VerifyType = "ANY_DAY"
	VerifyNotOnHolidays VerifyType = "NOT_ON_HOLIDAYS"
	VerifyUnknown       VerifyType = "UNKNOWN"
)

// AfterSaleType is what an after-sale order asks for.
type AfterSaleType string

const (
	AfterSaleRefund   AfterSaleType = "REFUND"
	AfterSaleReturn   AfterSaleType = "RETURN"
	AfterSaleExchange AfterSaleType = "EXCHANGE"
	AfterSaleUnknown  AfterSaleType = "UNKNOWN"
)

// PaymentMethod is how the buyer paid.
type PaymentMethod string

const (
	PaymentWeChatPay      PaymentMethod = "WECHAT_PAY"
	PaymentPayAfterUse    PaymentMethod = "PAY_AFTER_USE"
	PaymentFreeLottery    PaymentMethod = "FREE_LOTTERY"
	PaymentPointsExchange PaymentMethod = "POINTS_EXCHANGE"
	PaymentUnknown        PaymentMethod = "UNKNOWN"
)
