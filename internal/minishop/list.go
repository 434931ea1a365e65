package minishop

import (
	"context"
	"slices"
	"time"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wechat/flex"
)

// Lists is the order.Lister backed by POST /product/order/get_list, which
// pages by page and page_size and answers whole orders.
type Lists struct{ client *wechat.Client }

// NewLists returns a lister that calls through client.
func NewLists(client *wechat.Client) *Lists { return &Lists{client: client} }

var _ order.Lister = (*Lists)(nil)

// ListOrders returns the orders at [q.Offset, q.Offset+q.Limit). With pages
// of q.Limit orders, an offset on a page boundary is one call; any other is
// the two pages around it.
func (l *Lists) ListOrders(ctx context.Context, q order.ListQuery) (order.ListPage, error) {
	req := listRequest{PageSize: q.Limit, Page: q.Offset/q.Limit + 1}
	// The upstream's bounds are inclusive and to the second: [from, to)
	// ends one second before to.
	from, to := wallClock(q.From), wallClock(q.To.Add(-time.Second))
	if q.Field == order.Updated {
		req.StartUpdate, req.EndUpdate = from, to
	} else {
		req.StartCreate, req.EndCreate = from, to
	}
	if q.Status != nil {
		code, ok := statusCodes[*q.Status]
		if !ok {
			return order.ListPage{}, order.Errorf(codes.BadUserInput, "status "+string(*q.Status)+" cannot be listed", nil)
		}
		req.Status = &code
	}
	var orders []*order.Order
	total := 0
	for call := range 2 {
		var resp listResponse
		if err := l.client.Call(ctx, "/product/order/get_list", req, &resp, errcodes); err != nil {
			return order.ListPage{}, err
		}
		if call == 0 {
			total = int(resp.Total.V)
		}
		orders = append(orders, resp.Orders...)
		if q.Offset%q.Limit == 0 || len(resp.Orders) < q.Limit {
			break
		}
		req.Page++
	}
	skip := min(q.Offset-(q.Offset/q.Limit)*q.Limit, len(orders))
	orders = orders[skip:]
	return order.ListPage{Orders: orders[:min(q.Limit, len(orders))], Total: total}, nil
}

// statusCodes is orderStatuses the other way round.
var statusCodes = func() map[order.OrderStatus]int64 {
	m := make(map[order.OrderStatus]int64, len(orderStatuses))
	for code, s := range orderStatuses {
		m[s] = code
	}
	return m
}()

func wallClock(t time.Time) string { return t.In(order.ChinaTime).Format("2006-01-02 15:04:05") }

type listRequest struct {
	StartCreate string `json:"start_create_time,omitempty"`
	EndCreate   string `json:"end_create_time,omitempty"`
	StartUpdate string `json:"start_update_time,omitempty"`
	EndUpdate   string `json:"end_update_time,omitempty"`
	Status      *int64 `json:"status,omitempty"`
	Page        int    `json:"page"`
	PageSize    int    `json:"page_size"`
}

type listResponse struct {
	wechat.Status
	Total  flex.Int
	Orders []*order.Order
}

var listResponseFields = flex.NewFields(slices.Concat(wechat.StatusFields, []string{"total_num", "orders"})...)

func (r *listResponse) ReadReply(d *flex.Decoder) error {
	*r = listResponse{}
	_, err := d.Object(listResponseFields, func(name string) (err error) {
		switch name {
		case "total_num":
			r.Total, err = d.Int()
		case "orders":
			var list []order.Order
			list, err = flex.List(d, readOrder)
			r.Orders = make([]*order.Order, len(list))
			for i := range list {
				r.Orders[i] = &list[i]
			}
		default:
			err = r.ReadMember(d, name)
		}
		return err
	})
	return err
}
