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

// Request is one listOrders call.
type Request struct {
	Family string // the family's name, part of every cursor
	Filter *order.ListFilter
	First  *int
	After  *string
	Now    time.Time
	// Visible says whether the caller may see an order; nil sees all. With
	// it, pages are filtered and totalCount is not told.
	Visible func(*order.Order) bool
	// Prime hands each listed order to the request's order loader.
	Prime func(*order.Order)
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
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func badInput(format string, args ...any) error {
	return order.Errorf(codes.BadUserInput, fmt.Sprintf(format, args...), nil)
}

// List returns the page of lister's orders that req asks for.
func List(ctx context.Context, lister order.Lister, req Request) (*order.OrderConnection, error) {
	first := DefaultFirst
	if req.First != nil {
		first = *req.First
	}
	if first < 1 || first > MaxFirst {
		return nil, badInput("first must be 1..%d, got %d", MaxFirst, first)
	}
	filter := order.ListFilter{}
	if req.Filter != nil {
		filter = *req.Filter
	}
	q, err := resolve(filter, req.Now)
	if err != nil {
		return nil, err
	}
	here := cursor{Family: req.Family, Kind: "list", Filter: filterHash(filter), Pos: -1, From: q.From.Unix(), To: q.To.Unix()}
	if req.After != nil {
		after, err := decode(*req.After)
		if err != nil || after.Family != here.Family || after.Kind != here.Kind || after.Filter != here.Filter {
			return nil, badInput("after is not a cursor of listOrders with this filter")
		}
		here = after
		q.From, q.To = time.Unix(after.From, 0), time.Unix(after.To, 0)
	}
	q.Status, q.Limit = filter.Status, first

	conn := &order.OrderConnection{Edges: []order.OrderEdge{}, PageInfo: order.PageInfo{HasPreviousPage: here.Pos >= 0}}
	next, total := here.Pos+1, 0
	for scanned := 0; len(conn.Edges) < first && scanned < BuyerPages; scanned++ {
		q.Offset = next
		page, err := lister.ListOrders(ctx, q)
		if err != nil {
			return nil, err
		}
		total = page.Total
		for i, o := range page.Orders {
			if req.Prime != nil {
				req.Prime(o)
			}
			pos := q.Offset + i
			next = pos + 1
			if (filter.Status != nil && o.Status != *filter.Status) || (req.Visible != nil && !req.Visible(o)) {
				continue
			}
			c := here
			c.Pos = pos
			conn.Edges = append(conn.Edges, order.OrderEdge{Cursor: c.encode(), Node: o})
			if len(conn.Edges) == first {
				break
			}
		}
		if req.Visible == nil || len(page.Orders) == 0 || next >= total {
			break // a merchant's page is one upstream page; a buyer's may take several
		}
	}
	conn.PageInfo.HasNextPage = next < total
	if len(conn.Edges) > 0 {
		conn.PageInfo.StartCursor = &conn.Edges[0].Cursor
	}
	if next > here.Pos+1 {
		end := here
		end.Pos = next - 1 // resumes after everything scanned, shown or not
		s := end.encode()
		conn.PageInfo.EndCursor = &s
	}
	if req.Visible == nil {
		conn.TotalCount = &total
	}
	return conn, nil
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
func filterHash(f order.ListFilter) string {
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
	if err == nil && (c.Pos < 0 || c.From >= c.To) {
		err = fmt.Errorf("cursor out of range")
	}
	return c, err
}
