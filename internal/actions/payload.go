package actions

import (
	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
)

// OrderActionPayload is the answer of an action on an order.
type OrderActionPayload struct {
	// Order is the order read back after the action; nil when it cannot
	// be read.
	Order *order.Order
	// Pending: WeChat took the request, and the change waits for the buyer.
	Pending    bool
	Replayed   bool
	UserErrors []UserError
}

// AftersaleActionPayload is the answer of an action on an after-sale order.
type AftersaleActionPayload struct {
	AftersaleOrder *order.AfterSaleOrder
	Replayed       bool
	UserErrors     []UserError
}

// UserError is a refusal of the action the caller can act on.
type UserError struct {
	Code            codes.UserCode
	Field           []string
	Message         string
	UpstreamErrcode *int64
}

func userErrors(refusals []*order.Refusal) []UserError {
	out := make([]UserError, len(refusals))
	for i, r := range refusals {
		out[i] = UserError{Code: r.Code, Field: r.Field, Message: r.Message, UpstreamErrcode: r.Errcode}
	}
	return out
}
