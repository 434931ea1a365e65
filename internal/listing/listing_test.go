package listing

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
)

// fake is an order.Lister over orders kept newest first, as an upstream
// keeps them. Plain, it pages by offset and counts (Mini Shop); keyed, it
// answers ids and a resume token per id without a total, ignoring offsets,
// and its list keeps to the buyer asked for (the WeChat Store). Its status
// filter also matches the statuses in neighbours, as the Store's does.
type fake struct {
	orders     []*order.Order
	keyed      bool
	neighbours map[order.OrderStatus][]order.OrderStatus
	// unfetchable ids fail when loaded by id.
	unfetchable map[uint64]bool
	lists       []order.ListQuery
	searches    []order.SearchQuery
}

func (f *fake) ListOrders(_ context.Context, q order.ListQuery) (order.ListPage, error) {
	f.lists = append(f.lists, q)
	var in []*order.Order
	for _, o := range f.orders {
		t := *o.CreateTime
		if q.Field == order.Updated {
			t = *o.UpdateTime
		}
		if !t.Before(q.From) && t.Before(q.To) && f.matches(q.Status, o) && (!f.keyed || q.Buyer == "" || *o.Openid == q.Buyer) {
			in = append(in, o)
		}
	}
	p, err := f.page(in, q.Offset, q.Limit, q.Resume)
	p.Scoped = f.keyed && q.Buyer != ""
	return p, err
}

// SearchOrders matches every order of the status asked for.
func (f *fake) SearchOrders(_ context.Context, q order.SearchQuery) (order.ListPage, error) {
	f.searches = append(f.searches, q)
	var in []*order.Order
	for _, o := range f.orders {
		if f.matches(q.Filter.Status, o) {
			in = append(in, o)
		}
	}
	return f.page(in, q.Offset, q.Limit, q.Resume)
}

func (f *fake) matches(status *order.OrderStatus, o *order.Order) bool {
	return status == nil || o.Status == *status || slices.Contains(f.neighbours[*status], o.Status)
}

func (f *fake) page(in []*order.Order, offset, limit int, resume string) (order.ListPage, error) {
	if !f.keyed {
		return order.ListPage{Orders: in[min(offset, len(in)):min(offset+limit, len(in))], Total: len(in)}, nil
	}
	at := 0
	if resume != "" {
		var err error
		if at, err = strconv.Atoi(resume); err != nil {
			return order.ListPage{}, err
		}
	}
	page := order.ListPage{IDs: []uint64{}, Resume: []string{}, Uncounted: true}
	for i := at; i < len(in) && len(page.IDs) < limit; i++ {
		page.IDs = append(page.IDs, in[i].ID)
		page.Resume = append(page.Resume, strconv.Itoa(i+1))
	}
	page.More = at+len(page.IDs) < len(in)
	return page, nil
}

// load is the request's loader over f's orders.
func (f *fake) load(ids []uint64) ([]*order.Order, []error) {
	out, errs := make([]*order.Order, len(ids)), make([]error, len(ids))
	for i, id := range ids {
		if f.unfetchable[id] {
			errs[i] = order.Errorf(codes.UpstreamUnavailable, "cannot fetch", nil)
			continue
		}
		for _, o := range f.orders {
			if o.ID == id {
				out[i] = o
			}
		}
	}
	return out, errs
}

var now = time.Date(2024, 6, 1, 12, 0, 0, 500, time.UTC)

// catalogue is 60 orders, one an hour back from now, newest first. Buyer
// B owns 0, 1, 3, 30, 31 and 52..59, with a gap of 26 orders of others
// between 3 and 30; the rest alternate between A and C. Statuses alternate
// TO_BE_SHIPPED and TO_BE_RECEIVED, every fifth PARTIALLY_SHIPPED.
func catalogue() []*order.Order {
	var list []*order.Order
	for i := range 60 {
		created := now.Add(-time.Duration(i+1) * time.Hour)
		updated := created.Add(30 * time.Minute)
		openid := []string{"A", "C"}[i%2]
		if i < 2 || i == 3 || i == 30 || i == 31 || i >= 52 {
			openid = "B"
		}
		status := []order.OrderStatus{order.StatusToBeShipped, order.StatusToBeReceived}[i%2]
		if i%5 == 0 {
			status = order.StatusPartiallyShipped
		}
		list = append(list, &order.Order{ID: uint64(1000 + i), Status: status, Openid: &openid, CreateTime: &created, UpdateTime: &updated})
	}
	return list
}

var storeNeighbours = map[order.OrderStatus][]order.OrderStatus{
	order.StatusToBeShipped:  {order.StatusPartiallyShipped},
	order.StatusToBeReceived: {order.StatusPartiallyShipped},
}

func families() map[string]*fake {
	return map[string]*fake{
		"offsets": {orders: catalogue()},
		"keys":    {orders: catalogue(), keyed: true, neighbours: storeNeighbours},
	}
}

// keys is the cursors of the tests' replicas, which share a secret.
var keys = NewCursors([]byte("a secret of the tests, 32 bytes at least"))

func merchant(f *fake) Request {
	return Request{Family: "test", Caller: "merchant", Cursors: keys, Now: now, Load: f.load, PagesLoadOrders: f.keyed}
}

func buyer(f *fake, openid string) Request {
	req := merchant(f)
	req.Caller, req.Buyer = "buyer "+openid, openid
	req.Visible = func(o *order.Order) bool { return o.Openid != nil && *o.Openid == openid }
	return req
}

func ptr[T any](v T) *T { return &v }

// days60 covers the whole catalogue.
var days60 = &order.ListFilter{CreatedFrom: ptr(now.Add(-60 * 24 * time.Hour))}

func ids(c *order.OrderConnection) []uint64 {
	var out []uint64
	for _, e := range c.Edges {
		out = append(out, e.Order.ID)
	}
	return out
}

func want(list []*order.Order, keep func(*order.Order) bool) []uint64 {
	var out []uint64
	for _, o := range list {
		if keep(o) {
			out = append(out, o.ID)
		}
	}
	return out
}

// checkPage holds a page to Relay's rules: endCursor is the last edge's
// cursor and startCursor the first's; with no edge, endCursor is set
// exactly when there is more to scan, which for a buyer is never: a buyer
// is told of nothing but their own orders.
func checkPage(t *testing.T, c *order.OrderConnection, first int, after bool, buyer bool) {
	t.Helper()
	pi := c.PageInfo
	if len(c.Edges) > first {
		t.Fatalf("%d edges for first %d", len(c.Edges), first)
	}
	if pi.HasPreviousPage != after {
		t.Fatalf("hasPreviousPage %v after a cursor %v", pi.HasPreviousPage, after)
	}
	if len(c.Edges) == 0 {
		if pi.StartCursor != nil || (pi.EndCursor != nil) != pi.HasNextPage || (buyer && pi.HasNextPage) {
			t.Fatalf("a page with no edges: startCursor %q, endCursor %q, hasNextPage %v", text(pi.StartCursor), text(pi.EndCursor), pi.HasNextPage)
		}
		return
	}
	if pi.StartCursor == nil || *pi.StartCursor != c.Edges[0].Cursor {
		t.Fatalf("startCursor %q is not the first edge's cursor %q", text(pi.StartCursor), c.Edges[0].Cursor)
	}
	if pi.EndCursor == nil || *pi.EndCursor != c.Edges[len(c.Edges)-1].Cursor {
		t.Fatalf("endCursor %q is not the last edge's cursor %q", text(pi.EndCursor), c.Edges[len(c.Edges)-1].Cursor)
	}
}

// text is a nullable cursor as text, "" for null.
func text(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// walk follows endCursor to the end, with first taking sizes in turn,
// checking every page, and returns the ids it visited and its pages.
func walk(t *testing.T, f *fake, filter *order.ListFilter, req Request, sizes ...int) ([]uint64, []*order.OrderConnection) {
	t.Helper()
	var visited []uint64
	var pages []*order.OrderConnection
	for i := 0; ; i++ {
		req.First = ptr(sizes[i%len(sizes)])
		calls := len(f.lists)
		c, err := List(context.Background(), f, filter, req)
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		scans := len(f.lists) - calls
		switch {
		case scans < 1 || scans > BuyerPages:
			t.Fatalf("page %d made %d upstream calls", i, scans)
		case scans > 1 && (req.Visible == nil || f.keyed):
			t.Fatalf("page %d made %d upstream calls for a merchant or ids only", i, scans)
		}
		checkPage(t, c, *req.First, i > 0, req.Visible != nil)
		visited = append(visited, ids(c)...)
		pages = append(pages, c)
		if !c.PageInfo.HasNextPage {
			return visited, pages
		}
		if i > 200 {
			t.Fatal("the walk does not end")
		}
		req.After = c.PageInfo.EndCursor
	}
}

// positions are where each upstream call of f began: an offset, or the
// position a resume token names.
func positions(f *fake) []int {
	var at []int
	for _, q := range f.lists {
		p := q.Offset
		if f.keyed {
			p = 0
			if q.Resume != "" {
				p, _ = strconv.Atoi(q.Resume)
			}
		}
		at = append(at, p)
	}
	return at
}

// A merchant's walk visits every order of the range once, in the
// upstream's order, with any first, and resumes each page where the last
// one ended.
func TestMerchantWalk(t *testing.T) {
	for name, f0 := range families() {
		for _, sizes := range [][]int{{1}, {7}, {20}, {60}, {100}, {7, 10, 3}} {
			t.Run(fmt.Sprint(name, sizes), func(t *testing.T) {
				f := &fake{orders: f0.orders, keyed: f0.keyed}
				got, pages := walk(t, f, days60, merchant(f), sizes...)
				if w := want(f.orders, func(*order.Order) bool { return true }); !slices.Equal(got, w) {
					t.Fatalf("visited %v, want %v", got, w)
				}
				if at := positions(f); !slices.IsSorted(at) || len(slices.Compact(slices.Clone(at))) != len(at) {
					t.Fatalf("upstream calls began at %v: a position scanned twice", at)
				}
				for _, p := range pages {
					if f.keyed != (p.TotalCount == nil) || (!f.keyed && *p.TotalCount != 60) {
						t.Fatalf("totalCount %v", p.TotalCount)
					}
				}
			})
		}
	}
}

// A buyer's walk visits each of the buyer's orders once and none of
// anyone else's, across the gap of 26 orders of others, within BuyerPages
// calls a page (walk checks); totalCount is never told. On the keyed
// family the list keeps to the buyer upstream.
func TestBuyerWalk(t *testing.T) {
	for name, f0 := range families() {
		for _, sizes := range [][]int{{1}, {2}, {5}, {3, 1, 4}, {13}, {100}} {
			t.Run(fmt.Sprint(name, sizes), func(t *testing.T) {
				f := &fake{orders: f0.orders, keyed: f0.keyed}
				got, pages := walk(t, f, days60, buyer(f, "B"), sizes...)
				if w := want(f.orders, func(o *order.Order) bool { return *o.Openid == "B" }); !slices.Equal(got, w) {
					t.Fatalf("visited %v, want %v", got, w)
				}
				for _, p := range pages {
					if p.TotalCount != nil {
						t.Fatalf("a buyer was told totalCount %d", *p.TotalCount)
					}
				}
			})
		}
	}
}

// hasNextPage tells a buyer that an order of theirs follows, not that the
// upstream has more: a page that holds the buyer's last order says false,
// though others' orders come after it.
func TestBuyerHasNextPageOnlyWhenTheirOrderFollows(t *testing.T) {
	f := &fake{orders: catalogue()}
	req := buyer(f, "B")
	req.First = ptr(13) // all of B's
	c, err := List(context.Background(), f, days60, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Edges) != 13 || c.PageInfo.HasNextPage {
		t.Fatalf("%d edges, hasNextPage %v", len(c.Edges), c.PageInfo.HasNextPage)
	}
	req.First = ptr(12)
	if c, err = List(context.Background(), f, days60, req); err != nil || !c.PageInfo.HasNextPage {
		t.Fatalf("one of B's orders follows the page: hasNextPage %v, %v", c.PageInfo.HasNextPage, err)
	}
}

// others is n orders of A, one a minute back from now, then one of B's.
func others(n int) []*order.Order {
	var list []*order.Order
	for i := range n + 1 {
		created := now.Add(-time.Duration(i+1) * time.Minute)
		openid := "A"
		if i == n {
			openid = "B"
		}
		list = append(list, &order.Order{ID: uint64(5000 + i), Status: order.StatusToBeShipped, Openid: &openid, CreateTime: &created, UpdateTime: &created})
	}
	return list
}

// A buyer's page is the same, byte for byte, whether the range holds no
// orders or a thousand of others': a scan that reaches its bound without
// an order of the buyer's answers as if the list ended there. Within the
// bound (here 400 orders of others on Mini Shop) the buyer's order is
// reached.
func TestBuyerScanSaysNothingOfOthers(t *testing.T) {
	answer := func(f *fake, first int) (string, *order.OrderConnection) {
		req := buyer(f, "B")
		req.First = &first
		c, err := List(context.Background(), f, days60, req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(c)
		return string(b), c
	}
	for _, first := range []int{1, 20} {
		empty, _ := answer(&fake{}, first)
		crowded := &fake{orders: others(1000)}
		got, _ := answer(crowded, first)
		if got != empty {
			t.Fatalf("first %d: behind 1000 orders of others the page is %s; with no orders at all %s", first, got, empty)
		}
		if len(crowded.lists) != BuyerPages {
			t.Fatalf("first %d: %d upstream calls, want %d", first, len(crowded.lists), BuyerPages)
		}
		near := &fake{orders: others(400)}
		if _, c := answer(near, first); len(c.Edges) != 1 || c.PageInfo.HasNextPage {
			t.Fatalf("first %d: behind 400 orders of others: %d edges, %+v", first, len(c.Edges), c.PageInfo)
		}
		if n := len(near.lists); n > BuyerPages {
			t.Fatalf("first %d: %d upstream calls", first, n)
		}
	}
}

// A search by what matches other people's orders only answers a buyer
// exactly as a search that matches nothing does, on both families.
func TestBuyerSearchSaysNothingOfOthers(t *testing.T) {
	for name, f0 := range families() {
		for _, first := range []int{1, 5, 100} {
			answer := func(f *fake) string {
				req := buyer(f, "nobody")
				req.First = &first
				c, err := Search(context.Background(), f, order.SearchFilter{TelNumber: ptr("13800000000")}, req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := json.Marshal(c)
				return string(b)
			}
			if matches, none := answer(&fake{orders: f0.orders, keyed: f0.keyed}), answer(&fake{keyed: f0.keyed}); matches != none {
				t.Fatalf("%s first %d: a search matching others' orders answered %s, one matching nothing %s", name, first, matches, none)
			}
		}
	}
}

// The cursor of an edge other than the last resumes right after its order.
func TestEdgeCursorResumes(t *testing.T) {
	for name, f := range families() {
		req := merchant(f)
		req.First = ptr(5)
		c, err := List(context.Background(), f, days60, req)
		if err != nil {
			t.Fatal(err)
		}
		req.After = &c.Edges[1].Cursor
		next, err := List(context.Background(), f, days60, req)
		if err != nil {
			t.Fatal(err)
		}
		if got, w := ids(next), want(f.orders[2:7], func(*order.Order) bool { return true }); !slices.Equal(got, w) {
			t.Fatalf("%s: after the second edge came %v, want %v", name, got, w)
		}
	}
}

// A status filter keeps the exact status, on a family whose own filter
// also matches neighbouring statuses, for merchants and buyers; each page
// is still one upstream page for a merchant, its endCursor its last edge's.
func TestStatusFilterNarrows(t *testing.T) {
	for name, f0 := range families() {
		for _, who := range []string{"", "B"} {
			t.Run(name+" "+who, func(t *testing.T) {
				f := &fake{orders: f0.orders, keyed: f0.keyed, neighbours: storeNeighbours}
				req := merchant(f)
				if who != "" {
					req = buyer(f, who)
				}
				filter := *days60
				filter.Status = ptr(order.StatusToBeShipped)
				got, _ := walk(t, f, &filter, req, 4)
				w := want(f.orders, func(o *order.Order) bool {
					return o.Status == order.StatusToBeShipped && (who == "" || *o.Openid == who)
				})
				if !slices.Equal(got, w) {
					t.Fatalf("visited %v, want %v", got, w)
				}
				if *f.lists[0].Status != order.StatusToBeShipped {
					t.Fatalf("the status did not reach the upstream: %+v", f.lists[0])
				}
			})
		}
	}
}

// On a family that answers ids, an order that cannot be fetched is an
// edge with its error for a merchant, not filtering it out and not failing
// the page; a buyer is not shown it, since it might be anyone's.
func TestUnfetchableOrder(t *testing.T) {
	f := &fake{orders: catalogue(), keyed: true, unfetchable: map[uint64]bool{1002: true, 1003: true}}
	req := merchant(f)
	req.First = ptr(3)
	c, err := List(context.Background(), f, days60, req)
	if err != nil {
		t.Fatal(err)
	}
	checkPage(t, c, 3, false, false)
	if len(c.Edges) != 3 || c.Edges[2].Order != nil || !order.IsCode(c.Edges[2].Err, codes.UpstreamUnavailable) {
		t.Fatalf("edges %+v", c.Edges)
	}
	req = buyer(f, "B")
	req.First = ptr(3)
	if c, err = Search(context.Background(), f, order.SearchFilter{Title: ptr("x")}, req); err != nil {
		t.Fatal(err)
	}
	for _, e := range c.Edges {
		if e.Err != nil || e.Order == nil || e.Order.ID == 1003 {
			t.Fatalf("a buyer was shown %+v", e)
		}
	}
}

// An empty answer ends the list even when the total says more.
func TestEmptyAnswerEnds(t *testing.T) {
	f := &fake{}
	c, err := Search(context.Background(), staleTotal{f}, order.SearchFilter{Title: ptr("x")}, merchant(f))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Edges) != 0 || c.PageInfo.HasNextPage || c.PageInfo.EndCursor != nil {
		t.Fatalf("pageInfo %+v", c.PageInfo)
	}
}

// staleTotal counts orders it no longer lists.
type staleTotal struct{ *fake }

func (s staleTotal) SearchOrders(ctx context.Context, q order.SearchQuery) (order.ListPage, error) {
	p, err := s.fake.SearchOrders(ctx, q)
	p.Total = 10
	return p, err
}

// A search pages like a list, and its cursors are not a list's.
func TestSearchWalk(t *testing.T) {
	for name, f := range families() {
		for _, who := range []string{"", "B"} {
			req := merchant(f)
			keep := func(*order.Order) bool { return true }
			if who != "" {
				req, keep = buyer(f, who), func(o *order.Order) bool { return *o.Openid == who }
			}
			req.First = ptr(3)
			if who != "" && f.keyed {
				// A search does not keep to a buyer upstream: a page is a
				// page of ids, as it was charged, and the gap of 26
				// orders of others is more than a scan's worth.
				req.First = ptr(MaxFirst)
			}
			filter := order.SearchFilter{Title: ptr("x")}
			var got []uint64
			for i := 0; ; i++ {
				c, err := Search(context.Background(), f, filter, req)
				if err != nil {
					t.Fatal(err)
				}
				checkPage(t, c, *req.First, i > 0, who != "")
				got = append(got, ids(c)...)
				if !c.PageInfo.HasNextPage {
					break
				}
				req.After = c.PageInfo.EndCursor
			}
			if w := want(f.orders, keep); !slices.Equal(got, w) {
				t.Fatalf("%s %q: visited %v, want %v", name, who, got, w)
			}
			if req.After == nil {
				continue
			}
			if _, err := List(context.Background(), f, nil, req); !order.IsCode(err, codes.BadUserInput) {
				t.Fatalf("%s: a search cursor passed to a list: %v", name, err)
			}
		}
	}
}

// Without a range, a list covers the 7 days to now, to the second; a
// missing from is 7 days before to, a missing to is now; first defaults
// to DefaultFirst.
func TestRangesAndDefaults(t *testing.T) {
	at := func(d time.Duration) *time.Time { return ptr(now.Truncate(time.Second).Add(d)) }
	for name, tc := range map[string]struct {
		filter   *order.ListFilter
		field    order.TimeField
		from, to time.Time
	}{
		"none":         {nil, order.Created, *at(-DefaultSpan), *at(0)},
		"created from": {&order.ListFilter{CreatedFrom: at(-time.Hour)}, order.Created, *at(-time.Hour), *at(0)},
		"updated to":   {&order.ListFilter{UpdatedTo: at(-time.Hour)}, order.Updated, *at(-time.Hour - DefaultSpan), *at(-time.Hour)},
		"366 days":     {&order.ListFilter{UpdatedFrom: at(-MaxSpan), UpdatedTo: at(0)}, order.Updated, *at(-MaxSpan), *at(0)},
	} {
		f := &fake{}
		if _, err := List(context.Background(), f, tc.filter, merchant(f)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		q := f.lists[0]
		if q.Field != tc.field || !q.From.Equal(tc.from) || !q.To.Equal(tc.to) || q.Limit != DefaultFirst || q.Offset != 0 || q.Resume != "" {
			t.Errorf("%s: asked upstream for %+v", name, q)
		}
	}
}

// What is refused is refused before any upstream call, as BAD_USER_INPUT.
// A cursor opens only in the scope it was sealed for, unedited; even one
// sealed with the secret (were it out) is held to its filter's range, and
// its position cannot overflow.
func TestRefusals(t *testing.T) {
	f := &fake{orders: catalogue()}
	list := func(filter *order.ListFilter, first *int, after *string) error {
		req := merchant(f)
		req.First, req.After = first, after
		_, err := List(context.Background(), f, filter, req)
		return err
	}
	first := merchant(f)
	first.First = ptr(5)
	page, err := List(context.Background(), f, days60, first)
	if err != nil {
		t.Fatal(err)
	}
	good := page.PageInfo.EndCursor
	c, err := merchant(f).bind("list", *days60).open(*good)
	if err != nil || c.Pos != 4 {
		t.Fatalf("the good cursor opens to %+v, %v", c, err)
	}
	// sealed is c, edited, sealed for req's caller, the field and filter.
	sealed := func(req Request, field string, filter any, edit func(*cursor)) *string {
		d := c
		edit(&d)
		return ptr(req.bind(field, filter).seal(d))
	}
	same := func(*cursor) {}
	other := merchant(f)
	other.Family = "other"
	stranger := buyer(f, "B")
	replica := merchant(f)
	replica.Cursors = NewCursors(nil)
	flipped := []byte(*good)
	flipped[len(flipped)/2] ^= 1
	from := now.Add(-time.Hour)
	for name, err := range map[string]error{
		"first 0":              list(nil, ptr(0), nil),
		"first -1":             list(nil, ptr(-1), nil),
		"first 101":            list(nil, ptr(MaxFirst+1), nil),
		"both ranges":          list(&order.ListFilter{CreatedFrom: &from, UpdatedTo: &now}, nil, nil),
		"empty range":          list(&order.ListFilter{CreatedFrom: &now, CreatedTo: &from}, nil, nil),
		"over 366 days":        list(&order.ListFilter{CreatedFrom: ptr(now.Add(-MaxSpan - time.Second)), CreatedTo: &now}, nil, nil),
		"another filter":       list(&order.ListFilter{CreatedFrom: ptr(now.Add(-59 * 24 * time.Hour))}, nil, good),
		"no filter":            list(nil, nil, good),
		"edited":               list(days60, nil, ptr(string(flipped))),
		"another family's":     list(days60, nil, sealed(other, "list", *days60, same)),
		"a search's":           list(days60, nil, sealed(merchant(f), "search", *days60, same)),
		"another caller's":     list(days60, nil, sealed(stranger, "list", *days60, same)),
		"another secret's":     list(days60, nil, sealed(replica, "list", *days60, same)),
		"a wider range":        list(days60, nil, sealed(merchant(f), "list", *days60, func(c *cursor) { c.From -= 300 * 24 * 3600 })),
		"over 366 days sealed": list(days60, nil, sealed(merchant(f), "list", *days60, func(c *cursor) { c.From = c.To - 400*24*3600 })),
		"a later end":          list(days60, nil, sealed(merchant(f), "list", *days60, func(c *cursor) { c.To += 3600 })),
		"empty cursor range":   list(days60, nil, sealed(merchant(f), "list", *days60, func(c *cursor) { c.To = c.From })),
		"negative position":    list(days60, nil, sealed(merchant(f), "list", *days60, func(c *cursor) { c.Pos = -1 })),
		"position near 2^63":   list(days60, nil, sealed(merchant(f), "list", *days60, func(c *cursor) { c.Pos = math.MaxInt64 - 1 })),
		"too long":             list(days60, nil, ptr(strings.Repeat("A", maxCursorLen+1))),
		"not a cursor":         list(days60, nil, ptr("bm90IGEgY3Vyc29y")),
		"not base64":           list(days60, nil, ptr("%%%")),
		"empty search":         searchErr(f, order.SearchFilter{}),
		"bad order id":         searchErr(f, order.SearchFilter{OrderID: ptr("12ab")}),
		"empty pay range":      searchErr(f, order.SearchFilter{PayFrom: &now, PayTo: &from}),
		"search first 101":     searchErr(f, order.SearchFilter{Title: ptr("x")}, MaxFirst+1),
		"search list cursor": func() error {
			req := merchant(f)
			req.After = good
			_, err := Search(context.Background(), f, order.SearchFilter{Title: ptr("x")}, req)
			return err
		}(),
	} {
		if !order.IsCode(err, codes.BadUserInput) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if len(f.lists) != 1 || len(f.searches) != 0 {
		t.Fatalf("refusals called the upstream: %d lists, %d searches", len(f.lists)-1, len(f.searches))
	}
	if err := list(days60, nil, good); err != nil {
		t.Fatalf("the good cursor: %v", err)
	}
}

// Cursors are sealed: the text shows nothing of the position or range, two
// cursors of one position differ, and a replica with the same secret
// opens them where one with another does not.
func TestCursorsAreSealed(t *testing.T) {
	b := merchant(&fake{}).bind("list", *days60)
	c := cursor{Pos: 4, From: days60.CreatedFrom.Unix(), To: now.Unix(), Resume: "resume-token"}
	one, two := b.seal(c), b.seal(c)
	if one == two {
		t.Fatal("two seals of one cursor are the same text")
	}
	raw, _ := base64.RawURLEncoding.DecodeString(one)
	for _, shown := range []string{"resume-token", fmt.Sprint(c.To), `"p"`} {
		if strings.Contains(string(raw), shown) || strings.Contains(one, shown) {
			t.Fatalf("the cursor shows %q", shown)
		}
	}
	b.cursors = NewCursors([]byte("a secret of the tests, 32 bytes at least"))
	if got, err := b.open(two); err != nil || got != c {
		t.Fatalf("a replica with the same secret opened %+v, %v", got, err)
	}
	b.cursors = NewCursors([]byte("another secret of the tests, 32 bytes"))
	if _, err := b.open(one); err == nil {
		t.Fatal("a replica with another secret opened the cursor")
	}
}

func searchErr(f *fake, filter order.SearchFilter, first ...int) error {
	req := merchant(f)
	if len(first) > 0 {
		req.First = &first[0]
	}
	_, err := Search(context.Background(), f, filter, req)
	return err
}

// An upstream failure fails the page.
func TestUpstreamFailure(t *testing.T) {
	boom := errors.New("boom")
	_, err := List(context.Background(), failing{boom}, nil, Request{Family: "test", Now: now})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
}

type failing struct{ err error }

func (f failing) ListOrders(context.Context, order.ListQuery) (order.ListPage, error) {
	return order.ListPage{}, f.err
}

func (f failing) SearchOrders(context.Context, order.SearchQuery) (order.ListPage, error) {
	return order.ListPage{}, f.err
}

// An anchored open-ended range asks the upstream the range the anchor
// ends, for the first page and, through its cursors, the pages after it;
// a range with an end, and a resumed walk, are not anchored. The scope
// names the filter and the buyer.
func TestAnchoredRange(t *testing.T) {
	f := &fake{orders: catalogue()}
	anchored := now.Add(-40 * time.Second).Truncate(time.Second)
	var scopes []string
	req := merchant(f)
	req.First = ptr(2)
	req.Anchor = func(scope string, _ time.Time) time.Time { scopes = append(scopes, scope); return anchored }
	page, err := List(context.Background(), f, nil, req)
	if err != nil {
		t.Fatal(err)
	}
	end := anchored.Add(AnchorMargin) // an order of the anchor's second is in it
	if q := f.lists[0]; !q.To.Equal(end) || !q.From.Equal(end.Add(-DefaultSpan)) {
		t.Fatalf("the first page asked for %v..%v, want the anchored range", q.From, q.To)
	}
	req.After = page.PageInfo.EndCursor
	if _, err := List(context.Background(), f, nil, req); err != nil {
		t.Fatal(err)
	}
	if q := f.lists[1]; !q.To.Equal(end) || len(scopes) != 1 {
		t.Fatalf("the next page asked up to %v (anchored %d times), want the first page's range", q.To, len(scopes))
	}
	req.After = nil
	_, _ = List(context.Background(), f, &order.ListFilter{CreatedTo: ptr(now.Add(-time.Hour))}, req)
	if len(scopes) != 1 {
		t.Fatal("a range with an end was anchored")
	}
	b := buyer(f, "o1")
	b.Anchor = req.Anchor
	_, _ = List(context.Background(), f, nil, b)
	if len(scopes) != 2 || scopes[0] == scopes[1] {
		t.Fatalf("a buyer's scope is the merchant's: %q", scopes)
	}
	// A from after the anchor's range end is a range of now, not a refusal;
	// a filter refused at now is refused before anything is anchored.
	from := anchored.Add(AnchorMargin + 5*time.Second)
	n := len(f.lists)
	if _, err := List(context.Background(), f, &order.ListFilter{CreatedFrom: &from}, req); err != nil {
		t.Fatalf("a from after the anchor: %v", err)
	}
	if q := f.lists[n]; !q.From.Equal(from) || !q.To.Equal(now.Truncate(time.Second)) {
		t.Fatalf("a from after the anchor asked for %v..%v", q.From, q.To)
	}
	future := now.Add(time.Hour)
	if _, err := List(context.Background(), f, &order.ListFilter{CreatedFrom: &future}, req); err == nil || len(scopes) != 3 {
		t.Fatalf("a from in the future: %v, anchored %d times", err, len(scopes))
	}
}
