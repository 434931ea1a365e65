package wechat

import (
	"context"
	"errors"

	"github.com/ordergraph/ordergraph/internal/order"
)

// TokenSource hands out the access token for order calls. Invalidate reports
// that the upstream refused token, so the next Token call must not return it
// unless the upstream insists.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
	Invalidate(token string)
}

// Orders is the order.Source backed by POST /product/order/get.
type Orders struct {
	api    *API
	tokens TokenSource
}

// NewOrders returns an order source that calls api with tokens from tokens.
func NewOrders(api *API, tokens TokenSource) *Orders {
	return &Orders{api: api, tokens: tokens}
}

var _ order.Source = (*Orders)(nil)

// Order fetches one order. When the upstream refuses the access token it gets
// a fresh one and retries once, so an expired token never reaches the client.
func (o *Orders) Order(ctx context.Context, id uint64) (*order.Order, error) {
	tok, err := o.tokens.Token(ctx)
	if err != nil {
		return nil, err
	}
	got, err := o.fetch(ctx, id, tok)
	var oe *order.Error
	if !errors.As(err, &oe) || oe.Errcode == nil || !tokenRejected(*oe.Errcode) {
		return got, err
	}
	o.tokens.Invalidate(tok)
	fresh, terr := o.tokens.Token(ctx)
	if terr != nil {
		return nil, terr
	}
	if fresh == tok {
		// A static token, or an upstream that insists on the refused one:
		// retrying would fail the same way.
		return nil, err
	}
	return o.fetch(ctx, id, fresh)
}

func (o *Orders) fetch(ctx context.Context, id uint64, tok string) (*order.Order, error) {
	var resp orderResponse
	if err := o.api.post(ctx, "/product/order/get", tok, orderRequest{OrderID: id}, &resp); err != nil {
		return nil, err
	}
	return resp.result(id)
}

type orderRequest struct {
	OrderID uint64 `json:"order_id"`
}

// result turns a decoded response into an order or a coded error.
func (r *orderResponse) result(id uint64) (*order.Order, error) {
	if r.Errcode.V != 0 {
		return nil, withErrmsg(orderError(r.Errcode.V), r.Errmsg.V)
	}
	if r.Order == nil {
		return nil, order.Errorf(order.CodeUnavailable, "upstream sent no order", nil)
	}
	o := r.Order.toDomain()
	if o.ID == 0 {
		// Some responses omit the echo of the id; the caller asked for this one.
		o.ID = id
	}
	return o, nil
}
