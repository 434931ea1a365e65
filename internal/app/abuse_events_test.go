package app_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/config"
	"github.com/ordergraph/ordergraph/internal/wechattest"
	"github.com/ordergraph/ordergraph/internal/wxpush"
)

// The attacker's view of order events (issue 17, items 8 and 10): a burst
// of changes must not evict subscribers that read promptly, and the push
// URL must not publish replays or log a flood line by line.

// Item 8: a poll that finds 200 changes delivers all 200 to each of two
// subscribers that read promptly, each order fetched from WeChat once for
// both of them, before it reaches them.
func TestAbuseBurstOfChangesReachesPromptSubscribers(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"ORDER_POLL_INTERVAL": "30ms"})
	china := time.FixedZone("CST", 8*3600)
	const changes = 200
	var subs []*wsClient
	for range 2 {
		c, err := dialWS(t, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.subscribe("1", `subscription { orderEvents { orderId order { status } } }`)
		subs = append(subs, c)
	}
	subscribed(t, s, len(subs))
	for calls := len(s.Fake.ListRequests()); len(s.Fake.ListRequests()) < calls+2; time.Sleep(5 * time.Millisecond) {
	} // past the baseline
	before := s.Fake.OrderCalls.Load()
	updated := time.Now().Add(-10 * time.Second).In(china).Format("2006-01-02 15:04:05")
	for i := range changes {
		s.Fake.SetOrder(uint64(9000+i), fmt.Sprintf(`{"order_id":%d,"status":20,"create_time":"2024-05-01 10:00:00","update_time":%q}`, 9000+i, updated))
	}
	for n, c := range subs {
		seen := map[string]bool{}
		for len(seen) < changes {
			m := c.next(10 * time.Second)
			if m.Type != "next" || !strings.Contains(string(m.Payload), `"status":"TO_BE_SHIPPED"`) {
				t.Fatalf("subscriber %d after %d events: %s %s", n, len(seen), m.Type, m.Payload)
			}
			seen[string(m.Payload)] = true
		}
	}
	if calls := s.Fake.OrderCalls.Load() - before; calls != changes {
		t.Fatalf("%d order calls for %d events and 2 subscribers, want one an event", calls, changes)
	}
}

// Item 10: the push URL publishes only fresh pushes, each once, and a
// flood of forged ones is rate limited and logged a line a minute. Every
// push here is one the attacker could have recorded or made up; only
// published events cost an order call at the fake (a subscriber is
// listening, so each one is fetched).
func TestAbusePushReplaysAndFloods(t *testing.T) {
	clk := newClock()
	env := map[string]string{"PUSH_RATE_LIMIT": "40"}
	for k, v := range pushEnv {
		env[k] = v
	}
	s := mustOpenServer(t, env, func(c *config.Config) { c.Push.Now = clk.Now })
	s.Fake.SetOrder(7701, storeOrder(7701, 20, "o1", time.Unix(1714112400, 0), ""))
	s.Fake.SetOrder(7702, storeOrder(7702, 30, "o1", time.Unix(1714112400, 0), ""))
	c, err := dialWS(t, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.subscribe("1", `subscription { orderEvents { kind orderId } }`)
	subscribed(t, s, 1)
	published := func() int { return strings.Count(s.logText(), `"msg":"order event"`) }
	delivered := 0
	expect := func(what string, code, status, events int, calls int64) {
		t.Helper()
		if code == status && events == published() && events > delivered {
			c.next(5 * time.Second) // delivered, so its order was fetched
			delivered++
		}
		if code != status || published() != events || s.Fake.OrderCalls.Load() != calls {
			t.Fatalf("%s: answered %d (want %d), %d events published (want %d), %d order calls (want %d)",
				what, code, status, published(), events, s.Fake.OrderCalls.Load(), calls)
		}
	}
	paid := storeEvent("channels_ec_order_pay", 7701, clk.Now().Unix())

	code, _ := pushSigned(t, s, wechattest.AppID, paid, clk.Now().Add(-wxpush.MaxAge-time.Second))
	expect("a push signed longer ago than WeChat retries", code, http.StatusUnauthorized, 0, 0)
	code, _ = pushSigned(t, s, wechattest.AppID, paid, clk.Now().Add(wxpush.MaxSkew+time.Second))
	expect("a push signed in the future", code, http.StatusUnauthorized, 0, 0)

	signed := clk.Now()
	code, _ = pushSigned(t, s, wechattest.AppID, paid, signed)
	expect("the genuine push", code, http.StatusOK, 1, 1)
	clk.Advance(3 * time.Hour)
	code, _ = pushSigned(t, s, wechattest.AppID, paid, signed)
	expect("its replay 3 h later, still fresh", code, http.StatusOK, 1, 1)

	// No CreateTime: the retry, ten minutes on and signed anew, is the same
	// event.
	shipped := `{"ToUserName":"gh_1","FromUserName":"o1","MsgType":"event","Event":"channels_ec_order_deliver","order_info":{"order_id":"7702","finish_delivery":1}}`
	code, _ = pushSigned(t, s, wechattest.AppID, shipped, clk.Now())
	expect("an event without CreateTime", code, http.StatusOK, 2, 2)
	clk.Advance(10 * time.Minute)
	code, _ = pushSigned(t, s, wechattest.AppID, shipped, clk.Now())
	expect("its retry", code, http.StatusOK, 2, 2)

	// A flood of forged pushes from one address: 401 until the limit, 429
	// after it (WeChat's own pushes from there wait a minute), one log
	// line for each, whatever the count.
	var refused, limited int
	for range 200 {
		q := url.Values{"timestamp": {strconv.FormatInt(clk.Now().Unix(), 10)}, "nonce": {"1"}, "msg_signature": {"0000"}}
		switch r := s.do(t, "POST", "/wechat/events?"+q.Encode(), "application/json", `{"Encrypt":"AAAA"}`, nil); r.Status {
		case http.StatusUnauthorized:
			refused++
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("a forged push answered %d", r.Status)
		}
	}
	if refused+limited != 200 || limited < 160 || published() != 2 || s.Fake.OrderCalls.Load() != 2 {
		t.Fatalf("200 forged pushes: %d refused, %d rate limited, %d events", refused, limited, published())
	}
	if n, m := strings.Count(s.logText(), "msg_signature does not match"), strings.Count(s.logText(), "push rate limited"); n != 1 || m != 1 {
		t.Fatalf("200 forged pushes logged %d refusal lines and %d rate limit lines:\n%s", n, m, s.logText())
	}
	created := storeEvent("channels_ec_order_new", 7702, clk.Now().Unix())
	code, _ = pushSigned(t, s, wechattest.AppID, created, clk.Now())
	expect("WeChat's push in the flooded minute", code, http.StatusTooManyRequests, 2, 2)
	clk.Advance(time.Minute)
	code, _ = pushSigned(t, s, wechattest.AppID, created, clk.Now())
	expect("WeChat's retry a minute later", code, http.StatusOK, 3, 3)
}
