// Package minishop is the WeChat Mini Shop family (/product/order/*): its
// wire types, its codes for the domain enums and its errcodes, on the WeChat
// core in package wechat. Orders implements order.Source, AfterSales
// order.AfterSaleSource, Lists order.Lister and Writes order.Writer.
package minishop

import (
	"context"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wechat/orderjson"
)

// Errcodes of the Mini Shop order endpoints, from their vendor doc; the ones
// every WeChat API shares are mapped by the core.
const (
	errOrderNotFound = 100002
	errBadParameter  = 9401020
)

var errcodes = wechat.Errcodes{
	errOrderNotFound: {Code: codes.OrderNotFound, Message: "order not found"},
	errBadParameter:  {Code: codes.BadUserInput, Message: "upstream rejected the order id as invalid"},
}

// Orders is the order.Source backed by POST /product/order/get.
type Orders struct{ client *wechat.Client }

// NewOrders returns an order source that calls through client.
func NewOrders(client *wechat.Client) *Orders { return &Orders{client: client} }

var _ order.Source = (*Orders)(nil)

// Order fetches one order.
func (o *Orders) Order(ctx context.Context, id uint64) (*order.Order, error) {
	resp := orderAnswer.Reply()
	if err := o.client.Call(ctx, "/product/order/get", orderRequest{OrderID: id}, &resp, errcodes); err != nil {
		return nil, err
	}
	return orderjson.Result(resp.Value, id)
}

type orderRequest struct {
	OrderID uint64 `json:"order_id"`
}
