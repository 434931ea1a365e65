package app_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/redistest"
)

// A dashboard's repeated reads, its page of the last days (no range sent:
// "now" moves under it) and the orders it opens, cost WeChat nothing while
// no order changes, with the caches on by default where the Store pushes;
// every pushed change, a new order too, is in the next answer, on every
// replica. Cached orders and pages still pass the buyer rule.
func TestUnchangedPagesAndOrdersCostNothing(t *testing.T) {
	redis := redistest.Start(t)
	for _, tc := range []struct {
		name     string
		replicas int
		env      map[string]string
	}{
		{"process-local caches", 1, map[string]string{}},
		{"caches in Redis, two replicas", 2, map[string]string{"REDIS_URL": redis.URL()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for _, m := range []map[string]string{pushEnv, tc.env} {
				for k, v := range m {
					env[k] = v
				}
			}
			var servers []*server
			created := time.Now().Add(-72 * time.Hour)
			for range tc.replicas {
				s := secureServer(t, env)
				for i := range 12 {
					id := uint64(9_007_199_254_741_000 + i)
					s.Fake.SetOrder(id, storeOrder(id, 20, []string{"buyer-A", "buyer-B"}[i%2], created.Add(time.Duration(i)*time.Hour), ""))
				}
				servers = append(servers, s)
			}
			merchant := bearer(hs(t, claims("merchant", "")))
			buyerA := bearer(hs(t, claims("buyer", "buyer-A")))
			const page = `{ listOrders(first: 5) { totalCount edges { node { id status } } } }`
			detail := func(id string) string { return fmt.Sprintf(`{ order(id: %q) { id status openid } }`, id) }
			calls := func() int64 {
				n := int64(0)
				for _, s := range servers {
					n += s.Fake.OrderCalls.Load() + int64(len(s.Fake.ListRequests()))
				}
				return n
			}
			dashboard := func(s *server) (ids, statuses []string) {
				t.Helper()
				r := s.gql(t, merchant, page, nil)
				if len(r.Errors) > 0 {
					t.Fatalf("page: %s", r.Raw)
				}
				for i := range 5 {
					e := fmt.Sprintf("listOrders.edges.%d.node.", i)
					ids, statuses = append(ids, fmt.Sprint(at(r.Data, e+"id"))), append(statuses, fmt.Sprint(at(r.Data, e+"status")))
				}
				for _, id := range ids[:2] {
					if d := s.gql(t, merchant, detail(id), nil); at(d.Data, "order.id") != id {
						t.Fatalf("detail of %s: %s", id, d.Raw)
					}
				}
				return ids, statuses
			}

			first, _ := dashboard(servers[0])
			warm := calls()
			for round := range 3 {
				for _, s := range servers {
					if ids, _ := dashboard(s); !slices.Equal(ids, first) {
						t.Fatalf("round %d: page %v, want %v", round, ids, first)
					}
				}
			}
			if n := calls() - warm; n != 0 {
				t.Fatalf("unchanged pages and orders read again cost %d upstream calls", n)
			}

			// The buyer rule holds over what the merchant's reads cached.
			other := first[0]
			if r := servers[0].gql(t, buyerA, detail(other), nil); at(r.Data, "order.openid") == "buyer-B" {
				t.Fatalf("buyer-A was shown buyer-B's cached order: %s", r.Raw)
			}
			r := servers[len(servers)-1].gql(t, buyerA, `{ listOrders(first: 20) { edges { node { openid } } } }`, nil)
			if strings.Contains(string(r.Raw), "buyer-B") || !strings.Contains(string(r.Raw), "buyer-A") {
				t.Fatalf("buyer-A's page: %s", r.Raw)
			}

			// A change, pushed to one replica, is in every replica's next
			// answer: the page and the order.
			changed, id := first[0], uint64(0)
			_, _ = fmt.Sscan(changed, &id)
			for _, s := range servers {
				s.Fake.SetOrder(id, storeOrder(id, 30, "buyer-A", created.Add(11*time.Hour), ""))
			}
			push(t, servers[0], "wxfaketestapp0001", storeEvent("channels_ec_order_deliver", id, time.Now().Unix()))
			for i, s := range servers {
				if _, statuses := dashboard(s); statuses[0] != "TO_BE_RECEIVED" {
					t.Fatalf("replica %d's next page after the event shows %s", i, statuses[0])
				}
				if d := s.gql(t, merchant, detail(changed), nil); at(d.Data, "order.status") != "TO_BE_RECEIVED" {
					t.Fatalf("replica %d's next order after the event: %s", i, d.Raw)
				}
			}

			// A new order is an event too: the next page has it.
			fresh := uint64(9_007_199_254_742_000)
			for _, s := range servers {
				s.Fake.SetOrder(fresh, storeOrder(fresh, 10, "buyer-B", time.Now().Add(-time.Minute), ""))
			}
			push(t, servers[len(servers)-1], "wxfaketestapp0001", storeEvent("channels_ec_order_new", fresh, time.Now().Unix()))
			for i, s := range servers {
				if ids, _ := dashboard(s); ids[0] != fmt.Sprint(fresh) {
					t.Fatalf("replica %d's next page after a new order: %v", i, ids)
				}
			}
		})
	}
}

// ORDER_CACHE_TTL=0s turns both caches off: every read asks WeChat.
func TestCachesOffAskEveryTime(t *testing.T) {
	env := map[string]string{"ORDER_CACHE_TTL": "0s"}
	for k, v := range pushEnv {
		env[k] = v
	}
	s := mustOpenServer(t, env)
	id := uint64(9_007_199_254_741_000)
	s.Fake.SetOrder(id, storeOrder(id, 20, "o1", time.Now().Add(-time.Hour), ""))
	for range 3 {
		if r := s.post(t, fmt.Sprintf(`{ listOrders { totalCount } order(id: "%d") { status } }`, id), nil); len(r.Errors) > 0 {
			t.Fatal(r.Raw)
		}
	}
	if lists, orders := len(s.Fake.ListRequests()), s.Fake.OrderCalls.Load(); lists != 3 || orders != 3 {
		t.Fatalf("3 reads with the caches off: %d list and %d order calls, want 3 and 3", lists, orders)
	}
}

// The Mini Shop's poller keeps the caches fresh as the push does: on by
// default with it, a page read again costs no list call, and the next
// page after the poller found a change shows it.
func TestPolledChangesReachCachedPages(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"ORDER_POLL_INTERVAL": "30ms"})
	china := time.FixedZone("CST", 8*3600)
	set := func(status int, updated time.Time) {
		s.Fake.SetOrder(8303, fmt.Sprintf(`{"order_id":8303,"status":%d,"create_time":%q,"update_time":%q}`,
			status, time.Now().Add(-time.Hour).In(china).Format("2006-01-02 15:04:05"), updated.In(china).Format("2006-01-02 15:04:05")))
	}
	set(20, time.Now().Add(-time.Hour))
	c, err := dialWS(t, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.subscribe("1", `subscription { orderEvents { orderId order { status } } }`)
	subscribed(t, s, 1)
	pageLists := func() int { // the poller's lists ask by update time
		n := 0
		for _, body := range s.Fake.ListRequests() {
			if strings.Contains(body, "start_create_time") {
				n++
			}
		}
		return n
	}
	status := func() any {
		return at(s.post(t, `{ listOrders { edges { node { status } } } }`, nil).Data, "listOrders.edges.0.node.status")
	}
	for range 3 {
		if got := status(); got != "TO_BE_SHIPPED" {
			t.Fatalf("before the change: %v", got)
		}
	}
	if n := pageLists(); n != 1 {
		t.Fatalf("a page read 3 times made %d list calls, want 1", n)
	}
	set(30, time.Now())
	if m := c.next(5 * time.Second); !strings.Contains(string(m.Payload), `"TO_BE_RECEIVED"`) {
		t.Fatalf("got %s", m.Payload)
	}
	if got := status(); got != "TO_BE_RECEIVED" {
		t.Fatalf("the page after the polled event: %v", got)
	}
}

// Without events ORDER_CACHE_TTL keeps orders only: a kept page would hide
// a new order for the TTL, where a missing order is simply asked again.
func TestWithoutEventsOnlyOrdersAreKept(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"ORDER_CACHE_TTL": "1m"}) // no push, no poller
	s.Fake.SetOrder(8404, `{"order_id":8404,"status":20,"create_time":"`+time.Now().Add(-time.Hour).In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04:05")+`"}`)
	for _, q := range []string{`{ listOrders { totalCount } }`, `{ listOrders { totalCount } }`, `{ order(id: "8404") { status } }`, `{ order(id: "8404") { status } }`} {
		if r := s.post(t, q, nil); len(r.Errors) > 0 {
			t.Fatal(string(r.Raw))
		}
	}
	if lists, orders := len(s.Fake.ListRequests()), s.Fake.OrderCalls.Load(); lists != 2 || orders != 1 {
		t.Fatalf("2 reads: %d list and %d order calls, want 2 and 1", lists, orders)
	}
}
