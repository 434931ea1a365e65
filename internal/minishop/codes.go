package minishop

import "github.com/ordergraph/ordergraph/internal/order"

// Mini Shop's wire codes for the domain enums, from the vendor doc's
// enumeration tables. Codes missing here map to the enum's Unknown value.

var orderStatuses = map[int64]order.OrderStatus{
	10:  order.StatusPendingPayment,
	15:  order.StatusGroupPaidAwaitingGroup,
	16:  order.StatusPaidAwaitingMerchantAccept,
	17:  order.StatusPaidAwaitingVerification,
	20:  order.StatusToBeShipped,
	21:  order.StatusPartiallyShipped,
	30:  order.StatusToBeReceived,
	100: order.StatusCompleted,
	181: order.StatusCancelledAutoRefunded,
	190: order.StatusCancelledOversold,
	200: order.StatusCancelledAllAftersale,
	250: order.StatusCancelledUnpaid,
}

var orderTypes = map[int64]order.OrderType{
	0:  order.TypeOrdinary,
	1:  order.TypeSelfPickup,
	2:  order.TypePaymentCode,
	3:  order.TypeGroup,
	4:  order.TypeVerificationCoupon,
	5:  order.TypeSameCityDelivery,
	6:  order.TypeGroupBuyingCoupon,
	99: order.TypeNoShipping,
}

var shippingMethods = map[string]order.ShippingMethod{
	"ShippingMethod_Express":  order.ShippingExpress,
	"ShippingMethod_SameCity": order.ShippingSameCity,
	"ShippingMethod_Pickup":   order.ShippingPickup,
}

var insuranceTypes = map[string]order.InsuranceType{
	"InsuranceSourceType_None":   order.InsuranceNone,
	"InsuranceSourceType_Buyer":  order.InsuranceBuyer,
	"InsuranceSourceType_Seller": order.InsuranceSeller,
}

var deliveryTypes = map[string]order.DeliveryType{
	"DELIVERY_TYPE_OPTIONAL_EXPRESS": order.DeliveryOptionalExpress,
	"DELIVERY_TYPE_ORDER_ONLINE":     order.DeliveryOrderOnline,
	"DELIVERY_TYPE_NO_EXPRESS":       order.DeliveryNoExpress,
}

var verifyTypes = map[int64]order.VerifyType{
	0: order.VerifyAnyDay,
	1: order.VerifyNotOnHolidays,
}
