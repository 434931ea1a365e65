package wxstore

import (
	"context"
	"strconv"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wechat/orderjson"
)

// AfterSales is the order.AfterSaleSource backed by
// POST /channels/ec/aftersale/getaftersaleorder, which takes one id a call.
type AfterSales struct{ client *wechat.Client }

// NewAfterSales returns an after-sale source that calls through client.
func NewAfterSales(client *wechat.Client) *AfterSales { return &AfterSales{client: client} }

var _ order.AfterSaleSource = (*AfterSales)(nil)

// MaxBatch is 1: the Store has no batch call, so the per-request loader
// sends each distinct id on its own, concurrently and within its bound, and
// one id's failure stays that id's.
func (*AfterSales) MaxBatch() int { return 1 }

// AfterSaleOrders fetches the after-sale orders ids, one call each; an id
// the Store does not find is left out of the answer.
func (a *AfterSales) AfterSaleOrders(ctx context.Context, ids []uint64) (map[uint64]*order.AfterSaleOrder, error) {
	found := make(map[uint64]*order.AfterSaleOrder, len(ids))
	for _, id := range ids {
		resp := afterSaleAnswer.Reply()
		err := a.client.Call(ctx, "/channels/ec/aftersale/getaftersaleorder", afterSaleRequest{ID: strconv.FormatUint(id, 10)}, &resp, errcodes)
		switch {
		case order.IsCode(err, codes.AfterSaleNotFound):
			continue
		case err != nil:
			return nil, err
		case resp.Value == nil:
			continue
		}
		if resp.Value.ID == 0 {
			resp.Value.ID = id
		}
		found[id] = resp.Value
	}
	return found, nil
}

type afterSaleRequest struct {
	ID string `json:"after_sale_order_id"`
}

// The Store names the after-sale record's ids the other way round from
// Mini Shop, and its readable reason is reason_text (reason is a code).
var readAfterSaleOrder = orderjson.AfterSaleOrderReader(orderjson.AfterSaleKeys{ID: "after_sale_order_id", OrderID: "order_id", Reason: "reason_text"})

// afterSaleAnswer is the answer of getaftersaleorder.
var afterSaleAnswer = wechat.NewSection("after_sale_order", readAfterSaleOrder)
