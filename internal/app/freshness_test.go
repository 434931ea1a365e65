package app_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/redistest"
)

// With the order cache on, an event makes the server forget its order
// before anyone is shown it: the subscriber told SHIPPED sees the shipped
// order, and so does the next query, on every replica, though the cache
// would keep the paid one for a minute. Between events the cache still
// saves the upstream calls.
func TestEventsKeepCachedOrdersFresh(t *testing.T) {
	redis := redistest.Start(t)
	for _, tc := range []struct {
		name     string
		replicas int
		env      map[string]string
	}{
		{"process-local cache", 1, map[string]string{}},
		{"cache in Redis, two replicas", 2, map[string]string{"REDIS_URL": redis.URL()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"ORDER_CACHE_TTL": "1m"}
			for k, v := range pushEnv {
				env[k] = v
			}
			for k, v := range tc.env {
				env[k] = v
			}
			var servers []*server
			var subs []*wsClient
			for range tc.replicas {
				s := mustOpenServer(t, env)
				s.Fake.SetOrder(7301, storeOrder(7301, 20, "o1", time.Unix(1714112400, 0), ""))
				c, err := dialWS(t, s, nil)
				if err != nil {
					t.Fatal(err)
				}
				c.subscribe("1", `subscription { orderEvents { kind order { status } } }`)
				subscribed(t, s, 1)
				servers, subs = append(servers, s), append(subs, c)
			}
			status := func(s *server) string {
				r := s.post(t, `{ order(id: "7301") { status } }`, nil)
				return fmt.Sprint(at(r.Data, "order.status"))
			}
			for _, s := range servers {
				for range 2 {
					if got := status(s); got != "TO_BE_SHIPPED" {
						t.Fatalf("before the change: %s", got)
					}
				}
			}
			calls := int64(0)
			for _, s := range servers {
				calls += s.Fake.OrderCalls.Load()
			}
			if want := int64(1); tc.replicas == 2 && calls > want+1 || tc.replicas == 1 && calls != want {
				t.Fatalf("%d upstream calls for %d replicas asking twice each: the cache is not caching", calls, tc.replicas)
			}

			for _, s := range servers { // the shop ships: WeChat has the new order, the cache the old
				s.Fake.SetOrder(7301, storeOrder(7301, 30, "o1", time.Unix(1714112400, 0), ""))
			}
			push(t, servers[0], "wxfaketestapp0001", storeEvent("channels_ec_order_deliver", 7301, 1714112500))
			for i, c := range subs {
				if m := c.next(5 * time.Second); !strings.Contains(string(m.Payload), `{"kind":"SHIPPED","order":{"status":"TO_BE_RECEIVED"}}`) {
					t.Fatalf("subscriber %d was told SHIPPED with: %s", i, m.Payload)
				}
			}
			for i, s := range servers {
				if got := status(s); got != "TO_BE_RECEIVED" {
					t.Fatalf("replica %d answers the cached order after its event: %s", i, got)
				}
			}
		})
	}
}

// The Mini Shop poller's events make the server forget their orders too.
func TestPolledEventsKeepCachedOrdersFresh(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"ORDER_POLL_INTERVAL": "30ms", "ORDER_CACHE_TTL": "1m"})
	china := time.FixedZone("CST", 8*3600)
	set := func(status int, updated time.Time) {
		s.Fake.SetOrder(8202, fmt.Sprintf(`{"order_id":8202,"status":%d,"create_time":"2024-05-01 10:00:00","update_time":%q}`, status, updated.In(china).Format("2006-01-02 15:04:05")))
	}
	status := func() any { return at(s.post(t, `{ order(id: "8202") { status } }`, nil).Data, "order.status") }
	c, err := dialWS(t, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.subscribe("1", `subscription { orderEvents { orderId order { status } } }`)
	subscribed(t, s, 1)
	for calls := len(s.Fake.ListRequests()); len(s.Fake.ListRequests()) < calls+2; time.Sleep(5 * time.Millisecond) {
	} // past the baseline
	set(20, time.Now().Add(-10*time.Second))
	if m := c.next(5 * time.Second); !strings.Contains(string(m.Payload), `"TO_BE_SHIPPED"`) {
		t.Fatalf("got %s", m.Payload)
	}
	calls := s.Fake.OrderCalls.Load()
	for range 2 {
		if status() != "TO_BE_SHIPPED" {
			t.Fatal("the shipped order is not what the cache serves")
		}
	}
	if s.Fake.OrderCalls.Load() != calls {
		t.Fatalf("not served from the cache: %d calls", s.Fake.OrderCalls.Load()-calls)
	}
	set(30, time.Now())
	if m := c.next(5 * time.Second); !strings.Contains(string(m.Payload), `"TO_BE_RECEIVED"`) {
		t.Fatalf("the polled event shows the cached order: %s", m.Payload)
	}
	if got := status(); got != "TO_BE_RECEIVED" {
		t.Fatalf("after the polled event: %v", got)
	}
}

// Each operation on a WebSocket gets loaders of its own: a query sent again
// on the same connection sees the order and the page as they are now, not
// as the connection's first operation saw them.
func TestEachOperationOnASocketLoadsAfresh(t *testing.T) {
	s := mustOpenServer(t, nil)
	s.Fake.SetOrder(5101, `{"order_id":5101,"status":20,"create_time":"2024-04-26 10:00:00"}`)
	c, err := dialWS(t, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	query := `{ order(id: "5101") { status } listOrders(filter: {createdFrom: "2024-04-26T00:00:00+08:00", createdTo: "2024-04-27T00:00:00+08:00"}) { edges { node { status } } } }`
	ask := func(id string) string {
		c.subscribe(id, query)
		m := c.next(5 * time.Second)
		if done := c.next(5 * time.Second); done.Type != "complete" {
			t.Fatalf("got %+v", done)
		}
		return string(m.Payload)
	}
	if got := ask("1"); strings.Count(got, `"TO_BE_SHIPPED"`) != 2 {
		t.Fatalf("first: %s", got)
	}
	s.Fake.SetOrder(5101, `{"order_id":5101,"status":30,"create_time":"2024-04-26 10:00:00"}`)
	if got := ask("2"); strings.Count(got, `"TO_BE_RECEIVED"`) != 2 {
		t.Fatalf("the second operation on the socket saw the first one's answers: %s", got)
	}
}
