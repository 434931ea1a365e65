// Package listing turns a client's listOrders arguments into pages of a
// family's order list: it validates the filter and first, resolves the time
// range, encodes and checks the opaque cursors, and, for a buyer, scans the
// upstream's pages for the buyer's own orders. It knows nothing of GraphQL or
// of any family's wire format.
package listing

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ordergraph/ordergraph/internal/budget"
	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
)

// Limits of a page and of a range.
const (
	DefaultFirst = 20
	MaxFirst     = 100
	DefaultSpan  = 7 * 24 * time.Hour
	MaxSpan      = 366 * 24 * time.Hour
	// BuyerPages is how many upstream pages one request scans for a buyer's
	// orders before it answers with what it found and a cursor to resume.
	BuyerPages = 5
)

// Request is what listOrders and searchOrders share.
type Request struct {
	Family string // the family's name, part of every cursor
	First  *int
	After  *string
	Now    time.Time
	// Visible says whether the caller may see an order; nil sees all. With
	// it, pages are filtered and totalCount is not told.
	Visible func(*order.Order) bool
	// Buyer is the openid a buyer's list is scoped to upstream, where the
	// family can; "" for merchants.
	Buyer string
	// Prime hands each listed order to the request's order loader.
	Prime func(*order.Order)
	// Load fetches orders by id through the request's order loader, for a
	// family whose list answers ids only; results align with ids.
	Load func(ids []uint64) ([]*order.Order, []error)
}

// cursor is what an opaque cursor holds: whose list, which filter (as a
// hash), the edge's absolute position, and the range the first page
// resolved, so that "now" does not move under a walk.
type cursor struct {
	Family string `json:"f"`
	Kind   string `json:"k"`
	Filter string `json:"h"`
	Pos    int    `json:"p"`
	From   int64  `json:"a"`
	To     int64  `json:"b"`
	// Resume is the family's token to resume after Pos, for a family
	// that pages by key.
	Resume string `json:"r,omitempty"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func badInput(format string, args ...any) error {
	return order.Errorf(codes.BadUserInput, fmt.Sprintf(format, args...), nil)
}

// List returns the page of lister's orders in filter's range that req
// asks for.
func List(ctx context.Context, lister order.Lister, filter *order.ListFilter, req Request) (*order.OrderConnection, error) {
	f := order.ListFilter{}
	if filter != nil {
		f = *filter
	}
	q, err := resolve(f, req.Now)
	if err != nil {
		return nil, err
	}
	start := cursor{Family: req.Family, Kind: "list", Filter: filterHash(f), From: q.From.Unix(), To: q.To.Unix()}
	return page(ctx, req, start, f.Status, func(c cursor, offset, limit int) (order.ListPage, error) {
		q.From, q.To = time.Unix(c.From, 0), time.Unix(c.To, 0)
		q.Status, q.Buyer, q.Offset, q.Limit, q.Resume = f.Status, req.Buyer, offset, limit, c.Resume
		return lister.ListOrders(ctx, q)
	})
}

// Search returns the page of lister's orders that match filter that req
// asks for.
func Search(ctx context.Context, lister order.Lister, filter order.SearchFilter, req Request) (*order.OrderConnection, error) {
	if filter == (order.SearchFilter{}) {
		return nil, badInput("filter needs at least one field")
	}
	if filter.OrderID != nil {
		if _, err := order.ParseID(*filter.OrderID); err != nil {
			return nil, err
		}
	}
	if filter.PayFrom != nil && filter.PayTo != nil && !filter.PayFrom.Before(*filter.PayTo) {
		return nil, badInput("the pay time range is empty: payFrom must be before payTo")
	}
	start := cursor{Family: req.Family, Kind: "search", Filter: filterHash(filter)}
	return page(ctx, req, start, filter.Status, func(c cursor, offset, limit int) (order.ListPage, error) {
		return lister.SearchOrders(ctx, order.SearchQuery{Filter: filter, Offset: offset, Limit: limit, Resume: c.Resume})
	})
}

// page fetches the page after req.After (or the first), of req.First
// orders at most, checking that the cursor belongs to start's list. A
// merchant's page is one upstream page; a buyer's scans up to BuyerPages of
// them for the buyer's own orders, unless the family fetches each listed
// order (IDs): then a further page would cost first more fetches than the
// query was charged, and the buyer follows the cursor instead.
func page(ctx context.Context, req Request, start cursor, status *order.OrderStatus, fetch func(c cursor, offset, limit int) (order.ListPage, error)) (*order.OrderConnection, error) {
	first := DefaultFirst
	if req.First != nil {
		first = *req.First
	}
	if first < 1 || first > MaxFirst {
		return nil, badInput("first must be 1..%d, got %d", MaxFirst, first)
	}
	here := start
	here.Pos = -1
	if req.After != nil {
		after, err := decode(*req.After)
		if err != nil || after.Family != start.Family || after.Kind != start.Kind || after.Filter != start.Filter {
			return nil, badInput("after is not a cursor of this field with this filter")
		}
		here = after
	}

	conn := &order.OrderConnection{Edges: []order.OrderEdge{}, PageInfo: order.PageInfo{HasPreviousPage: here.Pos >= 0}}
	at, total, counted, more, ended := here, 0, true, false, false
	next := here.Pos + 1
	for scanned := 0; len(conn.Edges) < first && scanned < BuyerPages; scanned++ {
		if scanned > 0 && budget.Left(ctx) < 1 {
			more = true // the operation's budget is spent: the page ends here
			break
		}
		offset := next
		page, err := fetch(at, offset, first)
		if err != nil {
			return nil, err
		}
		orders, errs := pageOrders(req, page)
		total, counted, more, ended = page.Total, !page.Uncounted, page.More, len(orders) == 0 && !page.More
		for i, o := range orders {
			pos := offset + i
			next = pos + 1
			if page.Resume != nil {
				at.Resume = page.Resume[i]
			}
			// An order that could not be fetched cannot be filtered: it is
			// shown as an edge with its error, which says nothing of it.
			if errs[i] == nil && ((status != nil && o.Status != *status) || (req.Visible != nil && !req.Visible(o))) {
				continue
			}
			c := at
			c.Pos = pos
			conn.Edges = append(conn.Edges, order.OrderEdge{Cursor: c.encode(), Order: o, Err: errs[i]})
			if len(conn.Edges) == first {
				more = more || i < len(orders)-1
				break
			}
		}
		if page.ResumeEnd != "" && next == offset+len(orders) {
			at.Resume = page.ResumeEnd // the walk looked past its last order
		}
		if req.Visible == nil || page.IDs != nil || ended || (counted && next >= total) || (!counted && !more) {
			break // a merchant's page is one upstream page; a buyer's may take several
		}
	}
	// An empty answer ends the list, whatever a stale total says: resuming
	// from the same place would only get it again.
	conn.PageInfo.HasNextPage = !ended && more
	if counted {
		conn.PageInfo.HasNextPage = !ended && next < total
	}
	// end resumes where the scan stopped. The orders scanned after the last
	// edge were not the caller's (another buyer's, or of a neighbouring
	// status), so the last edge's cursor is end: continuing after it skips
	// nothing the caller may see and scans nothing twice, and endCursor is
	// the last edge's cursor, as Relay wants. With no edge, endCursor is
	// null (Relay) unless the scan stopped short of the end: then it is end,
	// so that a buyer whose scanned pages held none of their orders can go
	// on; there is no last edge for it to contradict.
	end := at
	end.Pos = next - 1
	switch {
	case len(conn.Edges) > 0:
		last := &conn.Edges[len(conn.Edges)-1]
		last.Cursor = end.encode()
		conn.PageInfo.StartCursor, conn.PageInfo.EndCursor = &conn.Edges[0].Cursor, &last.Cursor
	case conn.PageInfo.HasNextPage:
		s := end.encode()
		conn.PageInfo.EndCursor = &s
	}
	if req.Visible == nil && counted {
		conn.TotalCount = &total
	}
	return conn, nil
}

// pageOrders is page's orders, as listed or loaded by id through the
// request's loader, and each one's error, if its fetch failed.
func pageOrders(req Request, page order.ListPage) ([]*order.Order, []error) {
	if page.IDs == nil {
		if req.Prime != nil {
			for _, o := range page.Orders {
				req.Prime(o)
			}
		}
		return page.Orders, make([]error, len(page.Orders))
	}
	return req.Load(page.IDs)
}

// Windows is how many list calls of at most window each a range with these
// bounds (as a filter sends them, nil where absent) takes at now: at least
// one, and as many as the longest range listing accepts when the bounds
// are not a range it accepts. A window of 0 takes any range in one call.
func Windows(from, to *time.Time, now time.Time, window time.Duration) int {
	if window <= 0 {
		return 1
	}
	end := now.Truncate(time.Second)
	if to != nil {
		end = *to
	}
	start := end.Add(-DefaultSpan)
	if from != nil {
		start = *from
	}
	span := end.Sub(start)
	if span <= 0 || span > MaxSpan {
		span = MaxSpan
	}
	return int((span + window - 1) / window)
}

// resolve checks filter and turns it into a query on one time range.
func resolve(f order.ListFilter, now time.Time) (order.ListQuery, error) {
	created := f.CreatedFrom != nil || f.CreatedTo != nil
	updated := f.UpdatedFrom != nil || f.UpdatedTo != nil
	if created && updated {
		return order.ListQuery{}, badInput("filter can have a created range or an updated range, not both")
	}
	q := order.ListQuery{Field: order.Created}
	from, to := f.CreatedFrom, f.CreatedTo
	if updated {
		q.Field, from, to = order.Updated, f.UpdatedFrom, f.UpdatedTo
	}
	q.To = now.Truncate(time.Second)
	if to != nil {
		q.To = *to
	}
	q.From = q.To.Add(-DefaultSpan)
	if from != nil {
		q.From = *from
	}
	switch {
	case !q.From.Before(q.To):
		return order.ListQuery{}, badInput("the time range is empty: from must be before to")
	case q.To.Sub(q.From) > MaxSpan:
		return order.ListQuery{}, badInput("the time range spans more than 366 days")
	}
	return q, nil
}

// filterHash identifies a filter as the client sent it.
func filterHash(f any) string {
	b, _ := json.Marshal(f)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func decode(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err == nil && (c.Pos < 0 || (c.Kind == "list" && c.From >= c.To)) {
		err = fmt.Errorf("cursor out of range")
	}
	return c, err
}
