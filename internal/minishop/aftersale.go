package minishop

import (
	"context"
	"slices"

	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wechat/flex"
	"github.com/ordergraph/ordergraph/internal/wechat/orderjson"
)

// AfterSales is the order.AfterSaleSource backed by
// POST /product/order/batchgetaftersaleorder, 50 ids per call at most.
type AfterSales struct{ client *wechat.Client }

// NewAfterSales returns an after-sale source that calls through client.
func NewAfterSales(client *wechat.Client) *AfterSales { return &AfterSales{client: client} }

var _ order.AfterSaleSource = (*AfterSales)(nil)

// MaxBatch is the vendor's limit on ids per call.
func (*AfterSales) MaxBatch() int { return 50 }

// AfterSaleOrders fetches up to MaxBatch after-sale orders in one call. The
// answer comes in any order and may lack ids: it is indexed by after-sale id.
func (a *AfterSales) AfterSaleOrders(ctx context.Context, ids []uint64) (map[uint64]*order.AfterSaleOrder, error) {
	var resp afterSaleResponse
	if err := a.client.Call(ctx, "/product/order/batchgetaftersaleorder", afterSaleRequest{IDs: ids}, &resp, errcodes); err != nil {
		return nil, err
	}
	found := make(map[uint64]*order.AfterSaleOrder, len(resp.list))
	for i := range resp.list {
		found[resp.list[i].ID] = &resp.list[i]
	}
	return found, nil
}

type afterSaleRequest struct {
	IDs []uint64 `json:"after_sale_order_id_list"`
}

type afterSaleResponse struct {
	wechat.Status
	list []order.AfterSaleOrder
}

var afterSaleResponseFields = flex.NewFields(slices.Concat(wechat.StatusFields, []string{"after_sale_order_list"})...)

func (r *afterSaleResponse) ReadReply(d *flex.Decoder) error {
	*r = afterSaleResponse{}
	_, err := d.Object(afterSaleResponseFields, func(name string) (err error) {
		if name == "after_sale_order_list" {
			r.list, err = flex.List(d, readAfterSaleOrder)
			return err
		}
		return r.ReadMember(d, name)
	})
	return err
}

// Mini Shop's naming trap: in an after-sale record order_id is the
// after-sale id, and original_order_id the order's.
var readAfterSaleOrder = orderjson.AfterSaleOrderReader(orderjson.AfterSaleKeys{ID: "order_id", OrderID: "original_order_id", Reason: "reason"})
