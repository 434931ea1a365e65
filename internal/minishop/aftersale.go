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
var afterSaleOrderFields = flex.NewFields("order_id", "original_order_id", "status", "type", "openid", "reason", "product_info", "refund_info", "return_info", "create_time", "update_time")

var afterSaleTypes = map[string]order.AfterSaleType{
	"REFUND":   order.AfterSaleRefund,
	"RETURN":   order.AfterSaleReturn,
	"EXCHANGE": order.AfterSaleExchange,
}

func readAfterSaleOrder(d *flex.Decoder, a *order.AfterSaleOrder) error {
	a.Type = order.AfterSaleUnknown
	_, err := d.Object(afterSaleOrderFields, func(name string) (err error) {
		switch name {
		case "order_id":
			a.ID, err = d.ID()
		case "original_order_id":
			a.OrderID, err = d.ID()
		case "status":
			a.Status, err = orderjson.StringValue(d)
		case "type":
			var s string
			s, err = orderjson.StringValue(d)
			a.Type = orderjson.Lookup(afterSaleTypes, s, order.AfterSaleUnknown)
		case "openid":
			a.Openid, err = orderjson.StringPtr(d)
		case "reason":
			a.Reason, err = orderjson.StringPtr(d)
		case "product_info":
			_, err = d.Object(afterSaleProductFields, func(name string) (err error) {
				switch name {
				case "product_id":
					a.ProductID, err = idPtr(d)
				case "sku_id":
					a.SkuID, err = idPtr(d)
				case "count":
					a.Count, err = orderjson.IntPtr(d)
				}
				return err
			})
		case "refund_info":
			_, err = d.Object(refundInfoFields, func(string) (err error) {
				a.RefundAmount, err = orderjson.IntPtr(d)
				return err
			})
		case "return_info":
			_, err = d.Object(returnInfoFields, func(name string) (err error) {
				switch name {
				case "waybill_id":
					a.ReturnWaybillID, err = orderjson.StringPtr(d)
				case "delivery_id":
					a.ReturnDeliveryID, err = orderjson.StringPtr(d)
				}
				return err
			})
		case "create_time":
			a.CreateTime, err = orderjson.TimePtr(d)
		case "update_time":
			a.UpdateTime, err = orderjson.TimePtr(d)
		}
		return err
	})
	return err
}

var (
	afterSaleProductFields = flex.NewFields("product_id", "sku_id", "count")
	refundInfoFields       = flex.NewFields("amount")
	returnInfoFields       = flex.NewFields("waybill_id", "delivery_id")
)

func idPtr(d *flex.Decoder) (*uint64, error) {
	id, err := d.ID()
	if err != nil || id == 0 {
		return nil, err
	}
	return &id, nil
}
