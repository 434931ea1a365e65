package app_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/config"
	"github.com/ordergraph/ordergraph/internal/redistest"
	"github.com/ordergraph/ordergraph/internal/wechattest"
)

// fetchAll asks for each id in its own query, from workers at once, and
// returns how many answered with exactly the order asked for. Any answer
// with another order's id fails the test: retries must never cross wires.
func fetchAll(t *testing.T, s *server, ids []uint64, workers int) (ok int) {
	t.Helper()
	var good atomic.Int64
	next := make(chan uint64)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for id := range next {
				r := s.post(t, `query($id: ID!) { order(id: $id) { id } }`, map[string]any{"id": fmt.Sprint(id)})
				got := at(r.Data, "order.id")
				switch {
				case got == fmt.Sprint(id):
					good.Add(1)
				case got != nil:
					t.Errorf("asked for order %d, got %v", id, got)
				}
			}
		})
	}
	for _, id := range ids {
		next <- id
	}
	close(next)
	wg.Wait()
	return int(good.Load())
}

func ordersFrom(s *server, first uint64, n int) []uint64 {
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = first + uint64(i)
		s.Fake.SetOrder(ids[i], fmt.Sprintf(`{"order_id":%d}`, ids[i]))
	}
	return ids
}

// warm fetches the token, so that later counts are of order calls alone.
func warm(t *testing.T, s *server) int64 {
	s.Fake.SetOrder(1, `{"order_id":1}`)
	s.post(t, `{ order(id: "1") { id } }`, nil)
	return s.Fake.OrderCalls.Load()
}

// A fifth of first attempts fail with errcode -1, a fifth of those again,
// and so on: deterministic, so that the test cannot flake.
func fifths(id uint64, attempt int) wechattest.Fault {
	div := uint64(1)
	for range attempt {
		div *= 5
	}
	if id%div == 0 {
		return wechattest.Fault{Errcode: -1}
	}
	return wechattest.Fault{}
}

func TestTransientFailuresAreRetried(t *testing.T) {
	s := mustOpenServer(t, nil)
	before := warm(t, s)
	ids := ordersFrom(s, 1000, 400)
	s.Fake.SetFaults(fifths)
	ok := fetchAll(t, s, ids, 20)
	calls := s.Fake.OrderCalls.Load() - before
	t.Logf("20%% errcode -1: %d of %d queries answered, %d upstream calls", ok, len(ids), calls)
	if ok < 396 {
		t.Errorf("%d of 400 queries answered, want at least 99%%", ok)
	}
	if float64(calls) > 1.35*float64(len(ids)) {
		t.Errorf("%d upstream calls for %d queries, want at most 1.35 per query", calls, len(ids))
	}
	if body := s.do(t, "GET", "/metrics", "", "", nil).Raw; !strings.Contains(string(body), `ordergraph_upstream_retries_total{reason="busy"}`) {
		t.Error("/metrics has no retries by reason")
	}
}

// An answer that means something is asked for once: asking again would get
// the same answer and spend quota.
func TestDefiniteAnswersAreNotRetried(t *testing.T) {
	s := mustOpenServer(t, nil)
	for i, errcode := range []int64{100002, 48001, 9401020, 45009, 45011, 30000, 1400007, 61234} {
		id := uint64(2000 + i)
		s.Fake.SetErrcode(id, errcode)
		r := s.post(t, fmt.Sprintf(`{ order(id: "%d") { id } }`, id), nil)
		if len(r.Errors) != 1 {
			t.Errorf("errcode %d: %s", errcode, r.Raw)
		}
		if n := s.Fake.CallsFor(id); n != 1 {
			t.Errorf("errcode %d: %d calls, want 1", errcode, n)
		}
	}
}

// A 502 and a dropped connection are tried 1 + UPSTREAM_RETRIES times, then
// reach the client as UPSTREAM_UNAVAILABLE.
func TestBrokenAnswersAreRetriedThenUnavailable(t *testing.T) {
	s := mustOpenServer(t, nil)
	s.Fake.SetOrder(3001, `{"order_id":3001}`)
	s.Fake.SetOrder(3002, `{"order_id":3002}`)
	s.Fake.SetFaults(func(id uint64, _ int) wechattest.Fault {
		return map[uint64]wechattest.Fault{3001: {Status: http.StatusBadGateway}, 3002: {Drop: true}}[id]
	})
	for _, id := range []uint64{3001, 3002} {
		r := s.post(t, fmt.Sprintf(`{ order(id: "%d") { id } }`, id), nil)
		if c := r.code("order"); c != "UPSTREAM_UNAVAILABLE" {
			t.Errorf("order %d: %s", id, r.Raw)
		}
		if n := s.Fake.CallsFor(id); n != 3 {
			t.Errorf("order %d: %d calls, want 3", id, n)
		}
	}
}

// When everything fails, the retry budget holds retries to a fifth of the
// first attempts plus its floor: total calls stay within 1.3 × queries.
func TestRetryBudgetUnderTotalFailure(t *testing.T) {
	clk := newClock()
	s := mustOpenServer(t, map[string]string{"UPSTREAM_BREAKER": "off"}, func(c *config.Config) { c.Upstream.Now = clk.Now })
	before := warm(t, s)
	ids := ordersFrom(s, 10_000, 1200)
	s.Fake.SetFaults(func(uint64, int) wechattest.Fault { return wechattest.Fault{Errcode: -1} })
	if ok := fetchAll(t, s, ids, 50); ok != 0 {
		t.Fatalf("%d queries answered while every call fails", ok)
	}
	calls := s.Fake.OrderCalls.Load() - before
	t.Logf("100%% failure: %d upstream calls for %d queries", calls, len(ids))
	if float64(calls) > 1.3*float64(len(ids)) {
		t.Errorf("%d upstream calls for %d queries, want at most 1.3 per query", calls, len(ids))
	}
	if body := s.do(t, "GET", "/metrics", "", "", nil).Raw; !strings.Contains(string(body), "ordergraph_upstream_retries_refused_total") {
		t.Error("/metrics does not count refused retries")
	}
}

// The breaker opens under failure, then fails fast without calling the
// upstream, and closes again once the upstream recovers. It stays open 1 s:
// the 50 requests made while it is open must fit, under the race detector
// on a busy machine.
func TestBreakerOpensFailsFastAndCloses(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"UPSTREAM_RETRIES": "0"}, func(c *config.Config) { c.Upstream.BreakerOpenFor = time.Second })
	warm(t, s)
	ids := ordersFrom(s, 20_000, 100)
	s.Fake.SetFaults(func(uint64, int) wechattest.Fault { return wechattest.Fault{Errcode: -1} })
	fetchAll(t, s, ids[:20], 1)
	if r := s.do(t, "GET", "/readyz", "", "", nil); r.Status != http.StatusOK || !strings.Contains(string(r.Raw), "upstream breaker: open") {
		t.Fatalf("after 20 failures /readyz says %d %s", r.Status, r.Raw)
	}

	before := s.Fake.OrderCalls.Load()
	var took []time.Duration
	for _, id := range ids[20:70] {
		start := time.Now()
		r := s.post(t, fmt.Sprintf(`{ order(id: "%d") { id } }`, id), nil)
		took = append(took, time.Since(start))
		if e := r.errorAt("order"); e == nil || e.Extensions["code"] != "UPSTREAM_UNAVAILABLE" || !strings.Contains(e.Message, "paused") {
			t.Fatalf("while open: %s", r.Raw)
		}
	}
	slices.Sort(took)
	if n := s.Fake.OrderCalls.Load() - before; n != 0 {
		t.Errorf("%d upstream calls while the breaker was open", n)
	}
	if p95 := took[len(took)*95/100]; p95 >= 20*time.Millisecond {
		t.Errorf("p95 %v while open, want < 20 ms", p95)
	}

	s.Fake.SetFaults(nil)
	deadline := time.Now().Add(10 * time.Second)
	for _, id := range ids[70:] {
		for at(s.post(t, fmt.Sprintf(`{ order(id: "%d") { id } }`, id), nil).Data, "order.id") == nil {
			if time.Now().After(deadline) {
				t.Fatal("the breaker did not let calls through after recovery")
			}
		}
		if strings.Contains(string(s.do(t, "GET", "/readyz", "", "", nil).Raw), "upstream breaker: closed") {
			break
		}
	}
	if r := s.do(t, "GET", "/readyz", "", "", nil); !strings.Contains(string(r.Raw), "upstream breaker: closed") {
		t.Fatalf("after recovery /readyz says %s", r.Raw)
	}
	metrics := string(s.do(t, "GET", "/metrics", "", "", nil).Raw)
	for _, want := range []string{`ordergraph_upstream_breaker_transitions_total{to="open"}`, `ordergraph_upstream_breaker_transitions_total{to="closed"}`, `ordergraph_upstream_breaker_state{state="closed"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	logs := s.logText()
	if !strings.Contains(logs, "upstream circuit breaker closed") || strings.Count(logs, `"msg":"upstream circuit breaker open"`) != 1 {
		t.Errorf("the breaker's transitions are not logged once each:\n%s", logs)
	}
	// 20 attempts in the window: the warm-up that succeeded and 19 failures.
	if !strings.Contains(logs, `"attempts":20,"failures":19`) {
		t.Error("the opening is logged without the counts that tripped it")
	}
}

// A slow upstream costs each query at most UPSTREAM_TIMEOUT per attempt plus
// the backoffs, and does not slow the probes.
func TestSlowUpstreamIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for three 1 s timeouts")
	}
	s := mustOpenServer(t, map[string]string{"UPSTREAM_TIMEOUT": "1s"})
	warm(t, s)
	s.Fake.SetOrder(4001, `{"order_id":4001}`)
	s.Fake.SetFaults(func(uint64, int) wechattest.Fault { return wechattest.Fault{Delay: 3 * time.Second} })
	done := make(chan time.Duration)
	go func() {
		start := time.Now()
		r := s.post(t, `{ order(id: "4001") { id } }`, nil)
		if c := r.code("order"); c != "UPSTREAM_UNAVAILABLE" {
			t.Errorf("slow upstream: %s", r.Raw)
		}
		done <- time.Since(start)
	}()
	start := time.Now()
	if r := s.do(t, "GET", "/healthz", "", "", nil); r.Status != http.StatusOK || time.Since(start) > 100*time.Millisecond {
		t.Errorf("/healthz took %v while the upstream was slow", time.Since(start))
	}
	// Three attempts of 1 s, and backoffs below 25 + 50 ms.
	if took := <-done; took > 3*time.Second+75*time.Millisecond+500*time.Millisecond {
		t.Errorf("the query took %v", took)
	}
	if n := s.Fake.CallsFor(4001); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
}

// rateLimitedAnswers fires one query per id from as many workers and
// returns how many got this server's own UPSTREAM_RATE_LIMITED, checking
// that such an error is told apart from WeChat's quota errcodes.
func rateLimitedAnswers(t *testing.T, servers []*server, ids []uint64) int {
	t.Helper()
	var limited atomic.Int64
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			r := servers[i%len(servers)].post(t, fmt.Sprintf(`{ order(id: "%d") { id } }`, id), nil)
			if e := r.errorAt("order"); e != nil {
				if e.Extensions["code"] != "UPSTREAM_RATE_LIMITED" || e.Extensions["upstreamErrcode"] != nil || !strings.Contains(e.Message, "UPSTREAM_RATE_LIMIT") {
					t.Errorf("over the rate: %s", r.Raw)
				}
				limited.Add(1)
			}
		})
	}
	wg.Wait()
	return int(limited.Load())
}

// Without Redis each process keeps to UPSTREAM_RATE_LIMIT itself; calls
// over it fail at once, without reaching the upstream.
func TestUpstreamRateLimitPerProcess(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"UPSTREAM_RATE_LIMIT": "10"})
	ids := ordersFrom(s, 30_000, 40)
	start := time.Now()
	limited := rateLimitedAnswers(t, []*server{s}, ids)
	calls := s.Fake.OrderCalls.Load()
	allowed := 10 + int64(10*time.Since(start).Seconds()) + 1
	t.Logf("40 queries at once, limit 10/s: %d upstream calls, %d refused", calls, limited)
	if calls > allowed || limited == 0 || int64(limited)+calls != 40 {
		t.Errorf("%d upstream calls (at most %d allowed), %d refused", calls, allowed, limited)
	}
	if !strings.Contains(string(s.do(t, "GET", "/metrics", "", "", nil).Raw), "ordergraph_upstream_rate_limited_total") {
		t.Error("/metrics does not count refused calls")
	}
}

// Replicas sharing Redis keep the whole fleet to UPSTREAM_RATE_LIMIT.
func TestUpstreamRateLimitAcrossReplicas(t *testing.T) {
	redis := redistest.Start(t)
	env := map[string]string{"UPSTREAM_RATE_LIMIT": "40", "REDIS_URL": redis.URL()}
	a := mustOpenServer(t, env)
	env["WECHAT_API_BASE_URL"] = a.Fake.URL // one upstream for the fleet
	servers := []*server{a, mustOpenServer(t, env), mustOpenServer(t, env)}
	for _, s := range servers {
		s.post(t, `{ order(id: "1") { id } }`, nil) // tokens, outside the count
	}
	before := a.Fake.OrderCalls.Load()
	ids := ordersFrom(a, 40_000, 300)
	start := time.Now()
	limited := 0
	for batch := range 3 { // three waves, a few hundred milliseconds apart
		limited += rateLimitedAnswers(t, servers, ids[batch*100:(batch+1)*100])
	}
	elapsed := time.Since(start)
	calls := a.Fake.OrderCalls.Load() - before
	allowed := 40 + int64(40*elapsed.Seconds()) + 2 // +2: Redis's clock and ours
	t.Logf("300 queries over 3 replicas in %v, limit 40/s: %d upstream calls, %d refused", elapsed, calls, limited)
	if calls > allowed {
		t.Errorf("%d upstream calls in %v, want at most %d", calls, elapsed, allowed)
	}
	if limited == 0 {
		t.Error("no query was refused over the rate")
	}
}
