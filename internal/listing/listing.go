// Package listing turns a client's listOrders arguments into pages of a
// family's order list: it validates the filter and first, resolves the time
// range, encodes and checks the opaque cursors, and, for a buyer, scans the
// upstream's pages for the buyer's own orders. It knows nothing of GraphQL or
// of any family's wire format.
package listing

import (
	"context"
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
	Family string // the family's name, which every cursor is bound to
	// Caller names who asks (their role, subject and openid): a cursor
	// opens only for the caller it was made for.
	Caller string
	// Cursors seals the cursors handed out and opens the one in After.
	Cursors *Cursors
	First   *int
	After   *string
	Now     time.Time
	// Anchor, when set (a shop with a page cache), is the time an
	// open-ended range of scope ends at: an earlier now that pages were
	// asked up to, while no order has changed since. Nil: Now.
	Anchor func(scope string, now time.Time) time.Time
	// Visible says whether the caller may see an order; nil sees all. With
	// it (a buyer), pages hold only the orders it accepts, and nothing of
	// the page (totalCount, hasNextPage, endCursor) is told of the others.
	Visible func(*order.Order) bool
	// Buyer is the openid a buyer's list is scoped to upstream, where the
	// family can; "" for merchants.
	Buyer string
	// Prime hands each listed order to the request's order loader.
	Prime func(*order.Order)
	// Load fetches orders by id through the request's order loader, for a
	// family whose list answers ids only; results align with ids.
	Load func(ids []uint64) ([]*order.Order, []error)
	// PagesLoadOrders says the family's lists answer ids, each loaded by a
	// get, so that a buyer's scan asks for no more than the page needs.
	PagesLoadOrders bool
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
	if req.Anchor != nil && req.After == nil && f.CreatedTo == nil && f.UpdatedTo == nil {
		q = anchored(f, req, q)
	}
	b := req.bind("list", f)
	here := cursor{Pos: -1, From: q.From.Unix(), To: q.To.Unix()}
	if req.After != nil {
		if here, err = b.open(*req.After); err != nil {
			return nil, err
		}
		if err := here.within(f, req.Now); err != nil {
			return nil, err
		}
	}
	return page(ctx, req, b, here, f.Status, func(c cursor, offset, limit int) (order.ListPage, error) {
		q.From, q.To = time.Unix(c.From, 0), time.Unix(c.To, 0)
		q.Status, q.Buyer, q.Offset, q.Limit, q.Resume = f.Status, req.Buyer, offset, limit, c.Resume
		return lister.ListOrders(ctx, q)
	})
}

// AnchorMargin is how far past its anchor an anchored range ends. An
// order created in the anchor's second, or by a WeChat clock a little
// ahead of this replica's, is in the range; one created later brings an
// event, which ends the anchor. It is below clockSkew, so the range's
// cursors still open.
const AnchorMargin = 30 * time.Second

// anchored is q, the open-ended range of f resolved at req.Now, ending
// where req.Anchor says the pages of its scope were asked up to (and
// AnchorMargin past it), unless that range is not one f allows (its from
// lies after the anchor): then q as it is.
func anchored(f order.ListFilter, req Request, q order.ListQuery) order.ListQuery {
	scope, _ := json.Marshal(struct {
		Filter order.ListFilter
		Buyer  string
	}{f, req.Buyer})
	at := req.Anchor(string(scope), req.Now.Truncate(time.Second))
	if a, err := resolve(f, at.Add(AnchorMargin)); err == nil {
		return a
	}
	return q
}

// clockSkew is how far ahead of this replica's clock the end of a walk's
// range may lie: the replica that began the walk may run a little ahead.
const clockSkew = time.Minute

// within re-checks a resumed cursor's range against the filter: it is the
// range the filter's first page resolved (a filter without an end ended
// it at that page's now, which is not in the future), so it keeps to the
// filter's own bounds and to 366 days, as the first page did. A sealed
// cursor cannot have been edited; this holds even were the secret out.
func (c cursor) within(f order.ListFilter, now time.Time) error {
	at := now
	if f.CreatedTo == nil && f.UpdatedTo == nil {
		if c.To > now.Add(clockSkew).Unix() {
			return errNotACursor
		}
		at = time.Unix(c.To, 0)
	}
	q, err := resolve(f, at)
	if err != nil || q.From.Unix() != c.From || q.To.Unix() != c.To {
		return errNotACursor
	}
	return nil
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
	b := req.bind("search", filter)
	here := cursor{Pos: -1}
	if req.After != nil {
		var err error
		if here, err = b.open(*req.After); err != nil {
			return nil, err
		}
	}
	return page(ctx, req, b, here, filter.Status, func(c cursor, offset, limit int) (order.ListPage, error) {
		return lister.SearchOrders(ctx, order.SearchQuery{Filter: filter, Offset: offset, Limit: limit, Resume: c.Resume})
	})
}

// fetcher asks the upstream for limit orders from offset (a family that
// pages by position) or after c.Resume (one that pages by key).
type fetcher func(c cursor, offset, limit int) (order.ListPage, error)

// page is the page after here (Pos -1: the first) of req.First orders at
// most, of the exact status when one is asked: a merchant's or a buyer's.
func page(ctx context.Context, req Request, b binding, here cursor, status *order.OrderStatus, fetch fetcher) (*order.OrderConnection, error) {
	first := DefaultFirst
	if req.First != nil {
		first = *req.First
	}
	if first < 1 || first > MaxFirst {
		return nil, badInput("first must be 1..%d, got %d", MaxFirst, first)
	}
	conn := &order.OrderConnection{Edges: []order.OrderEdge{}, PageInfo: order.PageInfo{HasPreviousPage: here.Pos >= 0}}
	var end cursor
	var err error
	if req.Visible == nil {
		end, err = merchantPage(conn, req, b, here, first, status, fetch)
	} else {
		end, err = buyerPage(ctx, conn, req, b, here, first, status, fetch)
	}
	if err != nil {
		return nil, err
	}
	// endCursor is the last edge's cursor, as Relay wants, and it is end.
	s := b.seal(end)
	switch {
	case len(conn.Edges) > 0:
		last := &conn.Edges[len(conn.Edges)-1]
		last.Cursor = s
		conn.PageInfo.StartCursor, conn.PageInfo.EndCursor = &conn.Edges[0].Cursor, &last.Cursor
	case conn.PageInfo.HasNextPage:
		conn.PageInfo.EndCursor = &s
	}
	return conn, nil
}

// merchantPage fills conn with one upstream page and says where the next
// page begins. Every order of the page is an edge (one that could not be
// fetched with its error, which says nothing of it) but those of a
// neighbouring status that a family's status filter also matches. The
// next page begins after the whole upstream page: the orders after the
// last edge were of another status. So with no edge while the list goes
// on, endCursor is set, and a merchant gets past a page of neighbours.
func merchantPage(conn *order.OrderConnection, req Request, b binding, here cursor, first int, status *order.OrderStatus, fetch fetcher) (cursor, error) {
	page, err := fetch(here, here.Pos+1, first)
	if err != nil {
		return cursor{}, err
	}
	orders, errs := pageOrders(req, page)
	at := here
	for i, o := range orders {
		at = at.next(page, i)
		if errs[i] == nil && status != nil && o.Status != *status {
			continue
		}
		conn.Edges = append(conn.Edges, order.OrderEdge{Cursor: b.seal(at), Order: o, Err: errs[i]})
	}
	if page.ResumeEnd != "" {
		at.Resume = page.ResumeEnd // the walk looked past its last order
	}
	// An empty answer ends the list, whatever a stale total says: resuming
	// from the same place would only get it again; unless the lister
	// stopped short of the page (its walk ran out of budget).
	ended := len(orders) == 0 && !page.More
	if page.Uncounted {
		conn.PageInfo.HasNextPage = !ended && page.More
	} else {
		conn.PageInfo.HasNextPage = !ended && at.Pos+1 < page.Total
		conn.TotalCount = &page.Total
	}
	return at, nil
}

// buyerPage fills conn with the buyer's own orders, scanning BuyerPages
// upstream pages at most (one, for a family whose list answers ids, each
// of which is a get), and says where the next page begins; it begins in
// the upstream page where this one stopped, which the scan reads again. It answers over
// what the buyer may see alone:
//
//   - an edge is an order of the buyer's; an order that could not be
//     fetched is not shown, since its error would tell that something is
//     there;
//   - hasNextPage is true only when the scan found a further order of the
//     buyer's after the page's last edge. When the scan reaches its bound
//     first, the page answers as if the list ended there: telling the two
//     apart would tell the buyer that others have orders in the range (or
//     that the person whose phone number they searched for has some);
//   - so a page without an edge has neither endCursor nor hasNextPage, the
//     same whether the scan met nothing or only others' orders;
//   - the next page begins right before the further order found, or else
//     after all that was scanned; the cursor saying so is sealed;
//   - but where the family listed the buyer's orders alone (page.Scoped),
//     the scan met no one else's, and hasNextPage says whether the list
//     goes on, as a merchant's does.
//
// The price of telling nothing of others: a buyer's orders that lie behind
// more than a scan's worth of others' orders in one range are not reached
// from the orders before them; docs/operations.md says what to do.
func buyerPage(ctx context.Context, conn *order.OrderConnection, req Request, b binding, here cursor, first int, status *order.OrderStatus, fetch fetcher) (cursor, error) {
	at, end := here, cursor{}
	scoped, more := false, false
	for scanned := 0; scanned < BuyerPages && !conn.PageInfo.HasNextPage; scanned++ {
		if scanned > 0 && budget.Left(ctx) < 1 {
			break // the operation's budget is spent: the scan ends here
		}
		// Ids cost a get each: one more than the page, to know whether
		// another follows. Whole orders cost a call however many: as many
		// as a page may hold, from the start of the upstream's page, so
		// that each is one call.
		offset, limit := at.Pos+1, first+1
		if !req.PagesLoadOrders {
			limit = MaxFirst
			offset -= offset % limit
		}
		page, err := fetch(at, offset, limit)
		if err != nil {
			return cursor{}, err
		}
		orders, errs := pageOrders(req, page)
		skip := at.Pos + 1 - offset
		if page.Resume != nil {
			skip = 0 // the upstream resumed after at.Resume, not at offset
		}
		for i := skip; i < len(orders); i++ {
			before := at
			at = at.next(page, i)
			if errs[i] != nil || (status != nil && orders[i].Status != *status) || !req.Visible(orders[i]) {
				continue
			}
			if len(conn.Edges) == first {
				conn.PageInfo.HasNextPage, end = true, before
				break
			}
			conn.Edges = append(conn.Edges, order.OrderEdge{Cursor: b.seal(at), Order: orders[i]})
		}
		scoped, more = page.Scoped, len(orders) > skip && page.More
		if page.ResumeEnd != "" && !conn.PageInfo.HasNextPage {
			// The walk stopped short (its budget was spent), past its last
			// order: go on from where it stopped.
			at.Resume, more = page.ResumeEnd, true
		}
		if !page.Uncounted {
			more = len(orders) > skip && at.Pos+1 < page.Total
		}
		if page.IDs != nil || !more {
			break // an ids page loads each order: one is what a page was charged
		}
	}
	if !conn.PageInfo.HasNextPage {
		end = at
		// A scan of the buyer's orders alone met no one else's: whether
		// more follows says nothing of others, and the buyer gets past a
		// run of their own orders of a neighbouring status as a merchant
		// does.
		conn.PageInfo.HasNextPage = scoped && more
	}
	return end, nil
}

// next is the cursor after the i-th order of page, which follows c.
func (c cursor) next(page order.ListPage, i int) cursor {
	c.Pos++
	if page.Resume != nil {
		c.Resume = page.Resume[i]
	}
	return c
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
// bounds (as a filter sends them, nil where absent) takes at now, an open
// one anchored as late as it may be (AnchorMargin past now): at least
// one, and as many as the longest range listing accepts when the bounds
// are not a range it accepts. A window of 0 takes any range in one call.
func Windows(from, to *time.Time, now time.Time, window time.Duration) int {
	if window <= 0 {
		return 1
	}
	end := now.Truncate(time.Second).Add(AnchorMargin) // an open range may be anchored
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
