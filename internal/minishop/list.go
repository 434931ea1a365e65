package minishop

import (
	"context"
	"slices"
	"time"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wechat/flex"
	"github.com/ordergraph/ordergraph/internal/wechat/orderjson"
)

// Lists is the order.Lister backed by POST /product/order/get_list and
// /product/order/search, which page by page and page_size and answer whole
// orders.
type Lists struct{ client *wechat.Client }

// NewLists returns a lister that calls through client.
func NewLists(client *wechat.Client) *Lists { return &Lists{client: client} }

var _ order.Lister = (*Lists)(nil)

// ListOrders returns the orders at [q.Offset, q.Offset+q.Limit) of a range.
func (l *Lists) ListOrders(ctx context.Context, q order.ListQuery) (order.ListPage, error) {
	var req listRequest
	// The upstream's bounds are inclusive and to the second: [from, to)
	// ends one second before to.
	from, to := wallClock(q.From), wallClock(q.To.Add(-time.Second))
	if q.Field == order.Updated {
		req.StartUpdate, req.EndUpdate = from, to
	} else {
		req.StartCreate, req.EndCreate = from, to
	}
	var err error
	if req.Status, err = statusCode(q.Status); err != nil {
		return order.ListPage{}, err
	}
	return l.pages(ctx, "/product/order/get_list", &req, &req.pageFields, q.Offset, q.Limit)
}

// SearchOrders returns the orders at [q.Offset, q.Offset+q.Limit) of those
// that match q.Filter.
func (l *Lists) SearchOrders(ctx context.Context, q order.SearchQuery) (order.ListPage, error) {
	f := q.Filter
	for _, field := range []struct {
		name string
		v    *string
	}{{"telNumberLast4", f.TelNumberLast4}, {"merchantNotes", f.MerchantNotes}, {"customerNotes", f.CustomerNotes}} {
		if field.v != nil {
			return order.ListPage{}, order.Errorf(codes.BadUserInput, "filter field "+field.name+" is only supported by the WeChat Store family (UPSTREAM_FAMILY=store); Mini Shop cannot search by it", nil)
		}
	}
	req := searchRequest{Title: f.Title, SkuCode: f.SkuCode, UserName: f.UserName, TelNumber: f.TelNumber}
	if f.OrderID != nil {
		id, err := order.ParseID(*f.OrderID)
		if err != nil {
			return order.ListPage{}, err
		}
		req.OrderID = &id
	}
	if f.PayFrom != nil {
		req.StartPay = wallClock(*f.PayFrom)
	}
	if f.PayTo != nil {
		req.EndPay = wallClock(f.PayTo.Add(-time.Second))
	}
	if f.HasAftersale != nil {
		exist := 0
		if *f.HasAftersale {
			exist = 1
		}
		req.OnAftersale = &exist
	}
	var err error
	if req.Status, err = statusCode(f.Status); err != nil {
		return order.ListPage{}, err
	}
	return l.pages(ctx, "/product/order/search", &req, &req.pageFields, q.Offset, q.Limit)
}

// pages fetches the orders at [offset, offset+limit) of path's answers to
// req, whose page fields are pf, in one call, so that a page costs what the
// query cost charged for it wherever a walk resumes: the page size is the
// smallest from limit up to maxPageSize whose page holds them all. Pages of
// limit orders hold an offset on a boundary, and one of the sizes nearly
// always fits another; where none does, the page is what pages of limit
// orders hold from offset on, fewer than limit, and the next page goes on
// from there.
func (l *Lists) pages(ctx context.Context, path string, req any, pf *pageFields, offset, limit int) (order.ListPage, error) {
	size := limit
	for size < maxPageSize && offset/size != (offset+limit-1)/size {
		size++
	}
	if offset/size != (offset+limit-1)/size {
		size = limit
	}
	pf.Page, pf.PageSize = offset/size+1, size
	var resp listResponse
	if err := l.client.Call(ctx, path, req, &resp, errcodes); err != nil {
		return order.ListPage{}, err
	}
	orders := resp.Orders[min(offset%size, len(resp.Orders)):]
	limit = min(limit, size-offset%size)
	return order.ListPage{Orders: orders[:min(limit, len(orders))], Total: int(resp.Total.V)}, nil
}

// maxPageSize is the largest page asked for. Mini Shop documents no
// maximum; 100 is what other WeChat list calls allow, and what a page of
// the API's own examples never exceeds.
const maxPageSize = 100

// statusCode is the upstream's code of a status filter, nil for none.
var statusCode = orderjson.StatusFilter(orderStatuses)

func wallClock(t time.Time) string { return t.In(order.ChinaTime).Format("2006-01-02 15:04:05") }

type pageFields struct {
	Page     int `json:"page"`
	PageSize int `json:"page_size"`
}

type listRequest struct {
	StartCreate string `json:"start_create_time,omitempty"`
	EndCreate   string `json:"end_create_time,omitempty"`
	StartUpdate string `json:"start_update_time,omitempty"`
	EndUpdate   string `json:"end_update_time,omitempty"`
	Status      *int64 `json:"status,omitempty"`
	pageFields
}

// searchRequest leaves out what the filter leaves out: "status": 0 or
// "on_aftersale_order_exist": 0 would mean something else than "any".
type searchRequest struct {
	StartPay    string  `json:"start_pay_time,omitempty"`
	EndPay      string  `json:"end_pay_time,omitempty"`
	Title       *string `json:"title,omitempty"`
	SkuCode     *string `json:"sku_code,omitempty"`
	UserName    *string `json:"user_name,omitempty"`
	TelNumber   *string `json:"tel_number,omitempty"`
	OnAftersale *int    `json:"on_aftersale_order_exist,omitempty"`
	Status      *int64  `json:"status,omitempty"`
	OrderID     *uint64 `json:"order_id,omitempty"`
	pageFields
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
