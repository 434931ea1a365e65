package app_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The attacker's side of list cursors (issue 17, items 1 and 9): what a
// client does with the cursors and answers it is given, counted at the
// fake upstream.

// tamper is what an attacker makes of cursor: were it readable (base64 of
// JSON), the cursor with edit applied; as it is not, the cursor with a bit
// of its middle flipped, the only edit left.
func tamper(cursor string, edit func(map[string]any)) string {
	if raw, err := base64.RawURLEncoding.DecodeString(cursor); err == nil {
		var fields map[string]any
		if json.Unmarshal(raw, &fields) == nil {
			edit(fields)
			b, _ := json.Marshal(fields)
			return base64.RawURLEncoding.EncodeToString(b)
		}
	}
	b := []byte(cursor)
	b[len(b)/2] ^= 1
	return string(b)
}

// Item 1: a cursor whose time range was edited to two empty years, or
// whose position was set near 2^63, is refused with BAD_USER_INPUT before
// any upstream call. (Unsealed, the edited range made one
// listOrders(first: 1) walk the Store's 7-day windows: 105 list/get calls
// here, 50 in the reproduction.)
func TestAbuseEditedCursor(t *testing.T) {
	s := mustOpenServer(t, storeEnv)
	may2024Store(s)
	week := map[string]any{"createdFrom": "2024-05-24T00:00:00+08:00", "createdTo": "2024-05-31T00:00:00+08:00"}
	first := listPage(t, s, nil, map[string]any{"filter": week, "first": 1})
	if first.errorCode != "" || first.endCursor == "" {
		t.Fatalf("first page: %+v", first)
	}
	from := time.Date(2024, 5, 24, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	for name, edit := range map[string]func(map[string]any){
		"range years wide":   func(c map[string]any) { c["a"], c["b"] = from.AddDate(-3, 0, 0).Unix(), from.AddDate(-1, 0, 0).Unix() },
		"position near 2^63": func(c map[string]any) { c["p"] = json.Number("9223372036854775806") },
	} {
		calls := len(s.Fake.ListRequests())
		p := listPage(t, s, nil, map[string]any{"filter": week, "first": 1, "after": tamper(first.endCursor, edit)})
		if n := len(s.Fake.ListRequests()) - calls; p.errorCode != "BAD_USER_INPUT" || n != 0 {
			t.Errorf("%s: %s %q after %d list calls", name, p.errorCode, p.errorReason, n)
		}
	}
}

// Item 1: a cursor is bound to its caller. buyer-B's cursor, handed to
// buyer-C with the same filter, is refused, with no upstream call.
func TestAbuseAnothersCursor(t *testing.T) {
	s := secureServer(t, storeEnv)
	may2024Store(s)
	b := listPage(t, s, bearer(hs(t, claims("buyer", "buyer-B"))), map[string]any{"filter": mayFilter, "first": 2})
	if b.errorCode != "" || b.endCursor == "" {
		t.Fatalf("buyer-B's page: %+v", b)
	}
	calls := len(s.Fake.ListRequests())
	c := listPage(t, s, bearer(hs(t, claims("buyer", "buyer-C"))), map[string]any{"filter": mayFilter, "first": 2, "after": b.endCursor})
	if n := len(s.Fake.ListRequests()) - calls; c.errorCode != "BAD_USER_INPUT" || n != 0 {
		t.Fatalf("buyer-C with buyer-B's cursor: %+v after %d list calls", c, n)
	}
}

const buyerSearch = `query($filter: OrderSearchFilter!, $first: Int) {
  searchOrders(filter: $filter, first: $first) {
    edges { cursor node { id } } totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`

// Item 9: searching by another person's phone number or name tells a
// buyer nothing that searching by a random string does not, whatever
// first: for a buyer with no order among the matches the two answers are
// the same bytes (they hold no cursor); for one with an order among them
// (the fake searches by title only, so buyer-A's order 3001 matches all)
// they are the same but for the cursors' texts, which are sealed with a
// random nonce and differ between any two pages. (Before, a page that
// scanned 5 upstream pages of the other person's orders said hasNextPage
// and gave a cursor; one that found nothing did not.)
func TestAbuseBuyerSearchByAnothersDetails(t *testing.T) {
	s := secureServer(t, nil)
	for i := range 40 {
		id := 6_000_000 + i
		s.Fake.SetOrder(uint64(id), fmt.Sprintf(`{"order_id":%d,"status":20,"openid":"buyer-B","create_time":"2024-05-%02d 10:00:00",
			"order_detail":{"delivery_info":{"address_info":{"user_name":"王小二","tel_number":"13912345678"}}}}`, id, 1+i%28))
	}
	cursors := regexp.MustCompile(`"(cursor|startCursor|endCursor)":"[^"]+"`)
	for buyer, strip := range map[string]bool{"buyer-D": false, "buyer-A": true} {
		header := bearer(hs(t, claims("buyer", buyer)))
		search := func(filter map[string]any, first int) string {
			body, _ := json.Marshal(map[string]any{"query": buyerSearch, "variables": map[string]any{"filter": filter, "first": first}})
			raw := s.do(t, "POST", "/graphql", "application/json", string(body), header).Raw
			if strip {
				raw = cursors.ReplaceAll(raw, []byte(`"$1":"…"`))
			}
			return string(raw)
		}
		for _, first := range []int{1, 2, 20} {
			random := search(map[string]any{"telNumber": "10000000000"}, first)
			for _, filter := range []map[string]any{{"telNumber": "13912345678"}, {"userName": "王小二"}} {
				if got := search(filter, first); got != random {
					t.Errorf("%s, first %d, %v: %s\nwhile a random string answers %s", buyer, first, filter, got, random)
				}
			}
		}
	}
}

// Item 9: nor does searching by another person's order id, on the Store,
// even when that order fails to load: the failed edge is not shown to a
// buyer (it would tell that the id exists).
func TestAbuseBuyerSearchByAnothersOrderID(t *testing.T) {
	s := secureServer(t, storeEnv)
	const id = 8_100_000
	s.Fake.SetOrder(id, storeOrder(id, 20, "buyer-B", time.Date(2024, 5, 2, 10, 0, 0, 0, time.UTC), ""))
	s.Fake.SetErrcode(id, 48001)
	header := bearer(hs(t, claims("buyer", "buyer-A")))
	search := func(orderID string) string {
		body, _ := json.Marshal(map[string]any{"query": buyerSearch, "variables": map[string]any{"filter": map[string]any{"orderId": orderID}, "first": 5}})
		return string(s.do(t, "POST", "/graphql", "application/json", string(body), header).Raw)
	}
	if got, random := search(fmt.Sprint(id)), search("8100999"); got != random {
		t.Fatalf("another's order id answers %s\nwhile a random one answers %s", got, random)
	}
}

// Item 9: a buyer's list over a range crowded with others' orders answers
// as one over a shop with none, in at most 5 get_list calls: the page with
// no order of the buyer's has no endCursor and no next page, and its
// cursors (there are none) reveal no scan position.
func TestAbuseBuyerListOfOthersOrders(t *testing.T) {
	answer := func(others int) (string, int) {
		s := secureServer(t, nil)
		start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
		for i := range others {
			id := 7_100_000 + i
			s.Fake.SetOrder(uint64(id), fmt.Sprintf(`{"order_id":%d,"status":20,"openid":"buyer-B","create_time":%q}`,
				id, start.Add(time.Duration(i)*time.Minute).Format("2006-01-02 15:04:05")))
		}
		p := listPage(t, s, bearer(hs(t, claims("buyer", "buyer-A"))), map[string]any{"filter": mayFilter, "first": 1})
		return fmt.Sprintf("%+v", p), len(s.Fake.ListRequests())
	}
	empty, _ := answer(0)
	crowded, calls := answer(1000)
	if crowded != empty || calls > 5 {
		t.Fatalf("behind 1000 orders of others (%d get_list calls): %s\nin an empty shop: %s", calls, crowded, empty)
	}
	if strings.Contains(crowded, "next:true") {
		t.Fatalf("an empty page with a next page: %s", crowded)
	}
}
