package wxstore

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/ordergraph/ordergraph/internal/budget"
	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wechat/flex"
	"github.com/ordergraph/ordergraph/internal/wechat/orderjson"
)

// Lists is the order.Lister backed by POST /channels/ec/order/list/get and
// /channels/ec/order/search. Both answer order ids only, a page at a time
// behind an opaque next_key, without a total; list/get takes ranges of at
// most 7 days. So a list walks its range in 7-day windows, newest first,
// and each order's resume token is where it sits: the window, the next_key
// of its page and how far into that page it is. The caller loads the ids.
type Lists struct{ client *wechat.Client }

// NewLists returns a lister that calls through client.
func NewLists(client *wechat.Client) *Lists { return &Lists{client: client} }

var _ order.Lister = (*Lists)(nil)

// Store paging limits, from its doc.
const (
	window   = 7 * 24 * time.Hour
	pageSize = 100 // the most ids a call answers; ids cost nothing to list
)

// ListOrders returns the ids of the q.Limit orders after q.Resume in q's
// range, newest window first.
func (l *Lists) ListOrders(ctx context.Context, q order.ListQuery) (order.ListPage, error) {
	status, err := statusCode(q.Status)
	if err != nil {
		return order.ListPage{}, err
	}
	// [From, To) in whole seconds, as inclusive Unix bounds.
	from, to := q.From.Unix(), q.To.Add(-time.Second).Unix()
	windows := int((to - from + int64(window/time.Second)) / int64(window/time.Second))
	page, err := l.walk(ctx, q.Resume, q.Limit, windows, func(w int, key string) any {
		end := to - int64(w)*int64(window/time.Second)
		r := timeRange{Start: max(from, end-int64(window/time.Second)+1), End: end}
		req := listRequest{Status: status, Openid: q.Buyer, PageSize: pageSize, NextKey: key}
		if q.Field == order.Updated {
			req.Updated = &r
		} else {
			req.Created = &r
		}
		return req
	}, "/channels/ec/order/list/get")
	page.Scoped = q.Buyer != ""
	return page, err
}

// SearchOrders returns the ids of the q.Limit orders after q.Resume that
// match q.Filter.
func (l *Lists) SearchOrders(ctx context.Context, q order.SearchQuery) (order.ListPage, error) {
	f := q.Filter
	for _, field := range []struct {
		name string
		set  bool
	}{{"telNumber", f.TelNumber != nil}, {"payFrom", f.PayFrom != nil}, {"payTo", f.PayTo != nil}} {
		if field.set {
			return order.ListPage{}, order.Errorf(codes.BadUserInput, "filter field "+field.name+" is only supported by the Mini Shop family; the WeChat Store searches by telNumberLast4 and has no pay time range", nil)
		}
	}
	cond := searchCondition{Title: f.Title, SkuCode: f.SkuCode, UserName: f.UserName, TelNumberLast4: f.TelNumberLast4, OrderID: f.OrderID, MerchantNotes: f.MerchantNotes, CustomerNotes: f.CustomerNotes}
	if cond == (searchCondition{}) {
		return order.ListPage{}, order.Errorf(codes.BadUserInput, "the WeChat Store searches by at least one text field (orderId, title, skuCode, userName, telNumberLast4, merchantNotes or customerNotes); to list orders by status or after-sale alone, use listOrders", nil)
	}
	req := searchRequest{Condition: cond, PageSize: pageSize}
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
	return l.walk(ctx, q.Resume, q.Limit, 1, func(_ int, key string) any {
		req.NextKey = key
		return req
	}, "/channels/ec/order/search")
}

// position is where a walk is: in window W, on the page that next_key Key
// answers, after Skip of its ids. Encoded, it is an order's resume token.
type position struct {
	W    int    `json:"w"`
	Key  string `json:"k"`
	Skip int    `json:"s"`
}

func (p position) token() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// walk collects up to limit ids from resume on, calling path with the
// request that request builds for a window and a next_key. When the ids
// run out exactly at the end of a window, it reads on into the next
// windows to tell whether anything follows; has_more says so within one.
//
// It makes at most the calls the query cost charged it (a call per window
// and one more), and each call after the first needs the operation's
// budget to allow it and a get for every id the page may hold; past
// either, the walk stops and answers what it has, to be resumed where it
// stopped. An upstream that
// hands back a next_key it gave before in the window, or keeps answering
// empty pages with has_more, ends the walk as unavailable rather than
// spending the quota on it.
func (l *Lists) walk(ctx context.Context, resume string, limit, windows int, request func(w int, key string) any, path string) (order.ListPage, error) {
	var at position
	if resume != "" {
		if err := json.Unmarshal([]byte(resume), &at); err != nil || at.W < 0 || at.Skip < 0 {
			return order.ListPage{}, order.Errorf(codes.BadUserInput, "after is not a cursor of this field with this filter", nil)
		}
	}
	page := order.ListPage{IDs: []uint64{}, Resume: []string{}, Uncounted: true}
	keys, empty := map[string]bool{}, 0
	for calls := 0; at.W < windows; calls++ {
		// The query cost charged a walk a call per window and one more;
		// past that, or past what the operation has left (keeping a get
		// for every id of the page), it stops and is resumed from here.
		if calls > windows || calls > 0 && budget.Left(ctx) < 1+limit {
			if len(page.IDs) == 0 && empty > 0 {
				return order.ListPage{}, errWalkLoops // all it was charged, for empty pages that say there is more
			}
			page.More, page.ResumeEnd = true, at.token()
			return page, nil
		}
		var resp listResponse
		if err := l.client.Call(ctx, path, request(at.W, at.Key), &resp, errcodes); err != nil {
			return order.ListPage{}, err
		}
		for i, id := range resp.IDs[min(at.Skip, len(resp.IDs)):] {
			if len(page.IDs) == limit {
				page.More = true
				return page, nil
			}
			page.IDs = append(page.IDs, id)
			page.Resume = append(page.Resume, position{W: at.W, Key: at.Key, Skip: at.Skip + i + 1}.token())
		}
		if !resp.HasMore || resp.NextKey == "" {
			at, keys, empty = position{W: at.W + 1}, map[string]bool{}, 0
			continue
		}
		if len(resp.IDs) == 0 {
			empty++
		}
		if keys[resp.NextKey] || resp.NextKey == at.Key || empty > maxEmptyPages {
			return order.ListPage{}, errWalkLoops
		}
		keys[at.Key] = true
		if len(page.IDs) == limit {
			page.More = true // the Store says so; no need to look
			return page, nil
		}
		at = position{W: at.W, Key: resp.NextKey}
	}
	return page, nil
}

// maxEmptyPages is how many empty pages with has_more in a row a walk
// follows before it takes the upstream to be going round in circles.
const maxEmptyPages = 3

var errWalkLoops = order.Errorf(codes.UpstreamUnavailable, "the WeChat Store kept paging without moving on (a next_key it gave before, or empty pages that say there is more); try again later", nil)

// statusCode is the upstream's code of a status filter, nil for none.
var statusCode = orderjson.StatusFilter(orderStatuses)

type timeRange struct {
	Start int64 `json:"start_time"`
	End   int64 `json:"end_time"`
}

// listRequest always sends page_size and next_key, as the Store wants.
type listRequest struct {
	Created  *timeRange `json:"create_time_range,omitempty"`
	Updated  *timeRange `json:"update_time_range,omitempty"`
	Status   *int64     `json:"status,omitempty"`
	Openid   string     `json:"openid,omitempty"`
	PageSize int        `json:"page_size"`
	NextKey  string     `json:"next_key"`
}

// searchCondition leaves out what the filter leaves out: the Store reads
// any key sent as a condition.
type searchCondition struct {
	Title          *string `json:"title,omitempty"`
	SkuCode        *string `json:"sku_code,omitempty"`
	UserName       *string `json:"user_name,omitempty"`
	TelNumberLast4 *string `json:"tel_number_last4,omitempty"`
	OrderID        *string `json:"order_id,omitempty"`
	MerchantNotes  *string `json:"merchant_notes,omitempty"`
	CustomerNotes  *string `json:"customer_notes,omitempty"`
}

type searchRequest struct {
	Condition   searchCondition `json:"search_condition"`
	OnAftersale *int            `json:"on_aftersale_order_exist,omitempty"`
	Status      *int64          `json:"status,omitempty"`
	PageSize    int             `json:"page_size"`
	NextKey     string          `json:"next_key"`
}

// listResponse reads list/get's and search's answers. Search names its ids
// "orders" in the vendor's example and "order_id_list" in its field table,
// and SDKs follow one or the other: both are read, and an element may be
// an id (string or number) or a whole order, of which the id is kept.
type listResponse struct {
	wechat.Status
	IDs     []uint64
	NextKey string
	HasMore bool
}

var listResponseFields = flex.NewFields(slices.Concat(wechat.StatusFields, []string{"order_id_list", "orders", "next_key", "has_more"})...)

func (r *listResponse) ReadReply(d *flex.Decoder) error {
	*r = listResponse{}
	_, err := d.Object(listResponseFields, func(name string) (err error) {
		switch name {
		case "order_id_list", "orders":
			var ids []uint64
			if ids, err = flex.List(d, readListedID); len(ids) > 0 {
				r.IDs = ids
			}
		case "next_key":
			r.NextKey, err = d.StringValue()
		case "has_more":
			r.HasMore, err = d.BoolValue()
		default:
			err = r.ReadMember(d, name)
		}
		return err
	})
	r.IDs = slices.DeleteFunc(r.IDs, func(id uint64) bool { return id == 0 })
	return err
}

var listedOrderFields = flex.NewFields("order_id")

// readListedID reads an id, or the id of a whole order.
func readListedID(d *flex.Decoder, id *uint64) (err error) {
	if d.PeekObject() {
		_, err = d.Object(listedOrderFields, func(string) (err error) {
			*id, err = d.ID()
			return err
		})
		return err
	}
	*id, err = d.ID()
	return err
}
