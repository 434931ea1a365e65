package app_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

const listQuery = `query($filter: OrderListFilter, $first: Int, $after: String) {
  listOrders(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id status } } totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`

// listed is one page's answer.
type listed struct {
	ids         []string
	total       any
	next        bool
	previous    bool
	endCursor   string
	lastCursor  string // the last edge's cursor
	errorCode   string
	errorReason string
}

func listPage(t *testing.T, s *server, header map[string]string, vars map[string]any) listed {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": listQuery, "variables": vars})
	r := s.do(t, "POST", "/graphql", "application/json", string(body), header)
	var l listed
	if len(r.Errors) > 0 {
		l.errorCode, _ = r.Errors[0].Extensions["code"].(string)
		l.errorReason = r.Errors[0].Message
		return l
	}
	edges, _ := at(r.Data, "listOrders.edges").([]any)
	for i := range edges {
		l.ids = append(l.ids, fmt.Sprint(at(r.Data, fmt.Sprintf("listOrders.edges.%d.node.id", i))))
		l.lastCursor, _ = at(r.Data, fmt.Sprintf("listOrders.edges.%d.cursor", i)).(string)
	}
	l.total = at(r.Data, "listOrders.totalCount")
	l.next = at(r.Data, "listOrders.pageInfo.hasNextPage") == true
	l.previous = at(r.Data, "listOrders.pageInfo.hasPreviousPage") == true
	l.endCursor, _ = at(r.Data, "listOrders.pageInfo.endCursor").(string)
	return l
}

// may2024 holds orders created every 16 hours from 2024-05-01 (China time),
// 60 in all: the 45 before 2024-05-31 are in the filter's range, the others
// not. Every third is a buyer's.
func may2024(s *server) (inRange []string, buyers map[string][]string) {
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	end := start.AddDate(0, 0, 30)
	buyers = map[string][]string{}
	for i := range 60 {
		id := 7_000_000 + i
		created := start.Add(time.Duration(i) * 16 * time.Hour)
		openid := []string{"buyer-A", "buyer-B", "buyer-C"}[i%3]
		s.Fake.SetOrder(uint64(id), fmt.Sprintf(`{"order_id":%d,"status":%d,"openid":%q,"create_time":%q,"update_time":%q}`,
			id, []int{20, 30}[i%2], openid, created.Format("2006-01-02 15:04:05"), created.Add(time.Hour).Format("2006-01-02 15:04:05")))
		if created.Before(end) {
			inRange = append(inRange, fmt.Sprint(id))
			buyers[openid] = append(buyers[openid], fmt.Sprint(id))
		}
	}
	return inRange, buyers
}

var mayFilter = map[string]any{"createdFrom": "2024-05-01T00:00:00+08:00", "createdTo": "2024-05-31T00:00:00+08:00"}

// walk follows endCursor to the end, with first taking the sizes in turn.
// On every page with edges, endCursor is the last edge's cursor (Relay).
func walk(t *testing.T, s *server, header map[string]string, filter map[string]any, sizes ...int) (ids []string, pages []listed) {
	t.Helper()
	vars := map[string]any{"filter": filter}
	for i := 0; ; i++ {
		vars["first"] = sizes[i%len(sizes)]
		p := listPage(t, s, header, vars)
		if p.errorCode != "" {
			t.Fatalf("page %d: %s %s", i, p.errorCode, p.errorReason)
		}
		if p.previous != (i > 0) {
			t.Fatalf("page %d: hasPreviousPage %v", i, p.previous)
		}
		if len(p.ids) > 0 && p.endCursor != p.lastCursor {
			t.Fatalf("page %d: endCursor %q is not the last edge's cursor %q", i, p.endCursor, p.lastCursor)
		}
		ids = append(ids, p.ids...)
		pages = append(pages, p)
		if !p.next {
			return ids, pages
		}
		if i > 100 {
			t.Fatal("the walk does not end")
		}
		vars["after"] = p.endCursor
	}
}

// A walk over a 30-day range, with first changing between pages, visits
// every order of the range once, a page costs at most two get_list calls
// and no order/get call, and totalCount is the upstream's total_num.
func TestListWalk(t *testing.T) {
	s := mustOpenServer(t, nil)
	inRange, _ := may2024(s)
	ids, pages := walk(t, s, nil, mayFilter, 7, 10, 3)
	slices.Sort(ids)
	want := slices.Clone(inRange)
	slices.Sort(want)
	if len(want) != 45 || !slices.Equal(ids, want) {
		t.Fatalf("the walk visited %v, want each of %v once", ids, want)
	}
	if fmt.Sprint(pages[0].total) != fmt.Sprint(len(inRange)) {
		t.Fatalf("totalCount %v, want %d", pages[0].total, len(inRange))
	}
	if n := len(s.Fake.ListRequests()); n > 2*len(pages) {
		t.Fatalf("%d get_list calls for %d pages", n, len(pages))
	}
	if n := s.Fake.OrderCalls.Load(); n != 0 {
		t.Fatalf("%d order/get calls for pages of whole orders", n)
	}
}

// The filter reaches the upstream as documented: one time range in China
// wall-clock text, [from, to) ending a second before to, and the status code.
func TestListFilterReachesTheUpstream(t *testing.T) {
	s := mustOpenServer(t, nil)
	listPage(t, s, nil, map[string]any{"first": 5, "filter": map[string]any{
		"updatedFrom": "2024-05-01T00:00:00+08:00", "updatedTo": "2024-05-02T00:00:00Z", "status": "TO_BE_SHIPPED"}})
	reqs := s.Fake.ListRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d get_list calls", len(reqs))
	}
	var got map[string]any
	_ = json.Unmarshal([]byte(reqs[0]), &got)
	want := map[string]any{"start_update_time": "2024-05-01 00:00:00", "end_update_time": "2024-05-02 07:59:59", "status": 20.0, "page": 1.0, "page_size": 5.0}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("get_list got %v, want %v", got, want)
	}
}

func TestListRefusals(t *testing.T) {
	s := mustOpenServer(t, nil)
	may2024(s)
	first := listPage(t, s, nil, map[string]any{"filter": mayFilter, "first": 5})
	for name, vars := range map[string]map[string]any{
		"both ranges":          {"filter": map[string]any{"createdFrom": "2024-05-01T00:00:00+08:00", "updatedTo": "2024-05-02T00:00:00+08:00"}},
		"empty range":          {"filter": map[string]any{"createdFrom": "2024-05-02T00:00:00+08:00", "createdTo": "2024-05-01T00:00:00+08:00"}},
		"over 366 days":        {"filter": map[string]any{"createdFrom": "2023-01-01T00:00:00+08:00", "createdTo": "2024-05-01T00:00:00+08:00"}},
		"first 0":              {"first": 0},
		"first 101":            {"first": 101},
		"a cursor of a filter": {"filter": map[string]any{"createdFrom": "2024-05-02T00:00:00+08:00", "createdTo": "2024-05-31T00:00:00+08:00"}, "after": first.endCursor},
		"a cursor with none":   {"after": first.endCursor},
		"not a cursor":         {"after": "bm90IGEgY3Vyc29y"},
		"not even base64":      {"after": "%%%"},
	} {
		if p := listPage(t, s, nil, vars); p.errorCode != "BAD_USER_INPUT" {
			t.Errorf("%s: %+v", name, p)
		}
	}
	if first.endCursor == "" || len(first.ids) != 5 {
		t.Fatalf("first page: %+v", first)
	}
}

// A buyer's walk yields exactly the buyer's orders, each once, and no
// totalCount: it would tell how many orders others have.
func TestBuyerListsOnlyTheirOrders(t *testing.T) {
	s := secureServer(t, nil)
	_, buyers := may2024(s)
	header := bearer(hs(t, claims("buyer", "buyer-B")))
	ids, pages := walk(t, s, header, mayFilter, 4)
	slices.Sort(ids)
	want := slices.Clone(buyers["buyer-B"])
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("buyer-B's walk visited %v, want %v", ids, want)
	}
	for _, p := range pages {
		if p.total != nil {
			t.Fatalf("a buyer was told totalCount %v", p.total)
		}
	}
}

// A page costs one upstream call; asking for its after-sale orders costs one
// more per order of the page, refused before any call when over the limit.
func TestListCost(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"MAX_QUERY_COST": "30"})
	nested := func(first int) string {
		return fmt.Sprintf(`{ listOrders(first: %d) { edges { node { aftersaleDetail { aftersaleOrderList { aftersaleOrder { id } } } } } } }`, first)
	}
	if r := s.post(t, nested(29), nil); r.code("") == "COST_LIMIT_EXCEEDED" {
		t.Fatalf("a page of 29 with its after-sale orders (cost 30) refused: %s", r.Raw)
	}
	calls := len(s.Fake.ListRequests())
	if r := s.post(t, nested(30), nil); r.code("") != "COST_LIMIT_EXCEEDED" || !strings.Contains(r.Errors[0].Message, "31") {
		t.Fatalf("a page of 30 with its after-sale orders (cost 31): %s", r.Raw)
	}
	if len(s.Fake.ListRequests()) != calls {
		t.Fatal("a refused query called the upstream")
	}
}

const searchQuery = `query($filter: OrderSearchFilter!, $first: Int, $after: String) {
  searchOrders(filter: $filter, first: $first, after: $after) {
    edges { node { id } } totalCount pageInfo { hasNextPage endCursor } } }`

// Every search field Mini Shop knows reaches the upstream as documented.
func TestSearchFilterReachesTheUpstream(t *testing.T) {
	s := mustOpenServer(t, nil)
	r := s.post(t, searchQuery, map[string]any{"first": 10, "filter": map[string]any{
		"orderId": "32423523451235145", "title": "健身环", "skuCode": "SKU-1", "userName": "陈先生", "telNumber": "13800000000",
		"payFrom": "2024-04-25T00:00:00+08:00", "payTo": "2024-05-01T00:00:00+08:00", "status": "COMPLETED", "hasAftersale": false}})
	if len(r.Errors) > 0 {
		t.Fatalf("%s", r.Raw)
	}
	reqs := s.Fake.ListRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d search calls", len(reqs))
	}
	want := `{"start_pay_time":"2024-04-25 00:00:00","end_pay_time":"2024-04-30 23:59:59","title":"健身环","sku_code":"SKU-1","user_name":"陈先生","tel_number":"13800000000","on_aftersale_order_exist":0,"status":100,"order_id":32423523451235145,"page":1,"page_size":10}`
	if reqs[0] != want {
		t.Fatalf("search got %s\nwant       %s", reqs[0], want)
	}
}

// searchWalk follows a search's endCursor for 5 pages at most and returns
// the ids it visited.
func searchWalk(t *testing.T, s *server, vars map[string]any) []string {
	t.Helper()
	var ids []string
	for range 5 {
		r := s.post(t, searchQuery, vars)
		if len(r.Errors) > 0 {
			t.Fatalf("%s", r.Raw)
		}
		edges, _ := at(r.Data, "searchOrders.edges").([]any)
		for i := range edges {
			ids = append(ids, fmt.Sprint(at(r.Data, fmt.Sprintf("searchOrders.edges.%d.node.id", i))))
		}
		if at(r.Data, "searchOrders.pageInfo.hasNextPage") != true {
			break
		}
		vars["after"] = at(r.Data, "searchOrders.pageInfo.endCursor")
	}
	return ids
}

// A search pages like a list, and refuses what Mini Shop cannot search by.
func TestSearch(t *testing.T) {
	s := mustOpenServer(t, nil)
	for i := range 12 {
		title := []string{"健身环", "保温杯"}[i%2]
		s.Fake.SetOrder(uint64(8_000_000+i), fmt.Sprintf(`{"order_id":%d,"status":20,"create_time":"2024-05-%02d 10:00:00","order_detail":{"product_infos":[{"title":%q}]}}`, 8_000_000+i, 1+i, title))
	}
	ids := searchWalk(t, s, map[string]any{"first": 4, "filter": map[string]any{"title": "健身环"}})
	if len(ids) != 6 || strings.Join(ids, ",") != "8000010,8000008,8000006,8000004,8000002,8000000" {
		t.Fatalf("the search walk visited %v", ids)
	}
	for name, filter := range map[string]map[string]any{
		"empty":          {},
		"telNumberLast4": {"telNumberLast4": "0000"},
		"merchantNotes":  {"title": "x", "merchantNotes": "urgent"},
		"customerNotes":  {"customerNotes": "gift"},
		"bad orderId":    {"orderId": "12ab"},
	} {
		r := s.post(t, searchQuery, map[string]any{"filter": filter})
		e := r.errorAt("searchOrders")
		if e == nil || e.Extensions["code"] != "BAD_USER_INPUT" {
			t.Errorf("%s: %s", name, r.Raw)
			continue
		}
		if strings.HasSuffix(name, "Notes") || name == "telNumberLast4" {
			if !strings.Contains(e.Message, name) || !strings.Contains(e.Message, "WeChat Store") {
				t.Errorf("%s: the refusal does not name the field and its family: %s", name, e.Message)
			}
		}
	}
	listCursor := listPage(t, s, nil, map[string]any{"first": 1}).endCursor
	if r := s.post(t, searchQuery, map[string]any{"filter": map[string]any{"title": "健身环"}, "after": listCursor}); r.code("searchOrders") != "BAD_USER_INPUT" {
		t.Errorf("a listOrders cursor passed to searchOrders: %s", r.Raw)
	}
}
