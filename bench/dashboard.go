package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ordergraph/ordergraph/internal/families"
	"github.com/ordergraph/ordergraph/internal/sandbox"
	"github.com/ordergraph/ordergraph/internal/wxpush"
)

// The dashboard scenario: what the caches save a shop of WeChat quota, and
// what they cost it in freshness. Clients each ask for the page of the last
// 7 days every refresh and open two of its orders, while WeChat changes
// orders and tells the server: a push (WeChat Store) or the poller's next
// list (Mini Shop). It runs four times, each family with the caches off
// (ORDER_CACHE_TTL=0s) and on (the default), each on a fresh sandbox and
// server, and reports the WeChat calls per 1,000 GraphQL requests and how
// stale any answer was.

type dashboardConfig struct {
	clients      int
	refresh, run time.Duration
	changes      int // a minute
	poll         time.Duration
	latency      time.Duration
}

// The dashboard's page: 20 orders of the last 7 days (the default range),
// 10 fields each; and an order it opens.
const (
	dashboardPage = `query Dashboard { listOrders(first: 20) { totalCount edges { node {
		id status statusCode createTime updateTime openid orderType
		orderDetail { priceInfo { orderPrice freight productPrice } } } } } }`
	dashboardDetail = `query Order($id: ID!) { order(id: $id) {
		id status updateTime openid
		orderDetail { productInfos { title skuCnt salePrice } priceInfo { orderPrice } deliveryInfo { deliveryMethod } }
		extInfo { customerNotes } } }`
)

// dashboardNewest is how many of the sandbox's newest orders lie in the last
// 7 days: the ones the fake WeChat changes, where the dashboard sees them.
const dashboardNewest = int(7 * 24 * time.Hour / sandbox.CatalogueEvery)

// runSandbox serves the sandbox of every family, counting the calls that
// spend quota (not the token's), and two endpoints for the scenario:
// POST /bench/advance moves one of the newest orders on and answers the
// change; GET /bench/calls says how many calls it served.
func runSandbox(addr string, latency time.Duration) {
	var routes []sandbox.Routes
	for _, f := range families.All {
		routes = append(routes, f.Sandbox.Routes)
	}
	sb := sandbox.New(latency, routes...)
	var calls atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("POST /bench/advance", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("newest"))
		now := time.Now()
		id, event := sb.AdvanceNewest(n, now)
		_ = json.NewEncoder(w).Encode(change{ID: strconv.FormatUint(id, 10), Event: event, At: now})
	})
	mux.HandleFunc("GET /bench/calls", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = fmt.Fprint(w, calls.Load())
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "_token") {
			calls.Add(1)
		}
		sb.ServeHTTP(w, r)
	})
	serveUntilSignal(addr, mux)
}

// change is one order the fake WeChat changed: at At (its new update time,
// to the second), told of at Told (the push answered; for the Mini Shop,
// At: the poller finds it when it lists next).
type change struct {
	ID    string          `json:"id"`
	Event json.RawMessage `json:"event"`
	At    time.Time       `json:"at"`
	Told  time.Time       `json:"-"`
}

// seen is one order in one answer: which client, when it asked, and the
// update time the answer showed.
type seen struct {
	client  int
	asked   time.Time
	id      string
	updated time.Time
}

// dashboardRun is what one run measured.
type dashboardRun struct {
	family   string
	cache    bool
	requests int64
	failures int64
	calls    int64
	changes  []change
	seen     []seen
}

func (r dashboardRun) callsPer1000() float64 {
	return float64(r.calls) * 1000 / float64(max(r.requests, 1))
}

// shows says whether an order answered with update time updated shows
// change i of its order, or a later one. A change's update time is the
// second it was made; an order's first update time may be anything (the
// sandbox's newest lie ahead), so "shows" is equality, not order.
func shows(updated time.Time, changes []change, i int) bool {
	for _, c := range changes[i:] {
		if updated.Equal(c.At.Truncate(time.Second)) {
			return true
		}
	}
	return false
}

// byOrder is the changes of each order, oldest first.
func (r dashboardRun) byOrder() map[string][]change {
	out := map[string][]change{}
	for _, c := range r.changes {
		out[c.ID] = append(out[c.ID], c)
	}
	return out
}

// stalest is the oldest event behind any answer: of the answers that showed
// an order as it was before its last change that the server was told of
// before the answer was asked for, the longest from being told to asking,
// and how many such answers there were.
func (r dashboardRun) stalest() (time.Duration, int) {
	byID := r.byOrder()
	var worst time.Duration
	n := 0
	for _, s := range r.seen {
		changes := byID[s.id]
		last := -1
		for i, c := range changes {
			if c.Told.Before(s.asked) {
				last = i
			}
		}
		if last >= 0 && !shows(s.updated, changes, last) {
			n++
			worst = max(worst, s.asked.Sub(changes[last].Told))
		}
	}
	return worst, n
}

// visible is, over the changes some client saw, how long from the change
// until every client that showed the order showed it changed: the median
// and the longest. It is mostly the refresh: an answer shows a change only
// once a client asks again.
func (r dashboardRun) visible() (time.Duration, time.Duration, int) {
	byID := r.byOrder()
	var delays []time.Duration
	for id, changes := range byID {
		for i, c := range changes {
			first := map[int]time.Time{} // client → first answer that showed the change
			for _, s := range r.seen {
				if s.id != id || s.asked.Before(c.At) || !shows(s.updated, changes, i) {
					continue
				}
				if t, ok := first[s.client]; !ok || s.asked.Before(t) {
					first[s.client] = s.asked
				}
			}
			if len(first) == 0 {
				continue
			}
			var last time.Duration
			for _, t := range first {
				last = max(last, t.Sub(c.At))
			}
			delays = append(delays, last)
		}
	}
	if len(delays) == 0 {
		return 0, 0, 0
	}
	slices.Sort(delays)
	return delays[len(delays)/2], delays[len(delays)-1], len(delays)
}

func runDashboard(cfg dashboardConfig) error {
	fmt.Printf("ordergraph dashboard benchmark: %d clients, a page of 20 orders every %v and 2 orders opened, %d changes a minute, runs of %v, %v upstream, Mini Shop polled every %v, %s\n",
		cfg.clients, cfg.refresh, cfg.changes, cfg.run, cfg.latency, cfg.poll, time.Now().Format(time.RFC3339))
	var runs []dashboardRun
	for _, family := range []string{"store", "minishop"} {
		for _, cache := range []bool{false, true} {
			r, err := dashboardOnce(cfg, family, cache)
			if err != nil {
				return err
			}
			runs = append(runs, r)
			worst, n := r.stalest()
			p50, slowest, changes := r.visible()
			fmt.Printf("%-8s cache %-3s: %5d requests (%d failed), %5d WeChat calls, %7.1f per 1,000 requests; %d changes, %d seen; stalest answer %v after its event (%d stale answers); every client's next answer showed a change after %v (median) / %v (longest)\n",
				family, onOff(cache), r.requests, r.failures, r.calls, r.callsPer1000(), len(r.changes), changes, worst.Round(time.Millisecond), n, p50.Round(time.Second), slowest.Round(time.Second))
		}
	}
	fmt.Println()
	fmt.Println("| family | WeChat calls per 1,000 requests, caches off → on | fewer | stalest answer after its event | target |")
	fmt.Println("|---|---|---|---|---|")
	for i := 0; i < len(runs); i += 2 {
		off, on := runs[i], runs[i+1]
		saved := 1 - on.callsPer1000()/off.callsPer1000()
		worst, _ := on.stalest()
		want, bound := 0.90, time.Second
		if on.family == "minishop" {
			want, bound = 0.70, cfg.poll
		}
		fmt.Printf("| %s | %.1f → %.1f | %.1f%% | %v | ≥ %.0f%% fewer, ≤ %v |\n", on.family, off.callsPer1000(), on.callsPer1000(), saved*100, worst.Round(time.Millisecond), want*100, bound)
		verdict(fmt.Sprintf("%s: ≥ %.0f%% fewer WeChat calls with the caches on", on.family, want*100), saved >= want)
		verdict(fmt.Sprintf("%s: no answer shows an order as it was more than %v after its event", on.family, bound), worst <= bound)
		verdict(fmt.Sprintf("%s: no request failed", on.family), off.failures+on.failures == 0)
	}
	return nil
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// dashboardOnce runs the scenario once on a fresh sandbox and server.
func dashboardOnce(cfg dashboardConfig, family string, cache bool) (dashboardRun, error) {
	run := dashboardRun{family: family, cache: cache}
	sb, err := start("sandbox", cfg.latency, "")
	if err != nil {
		return run, err
	}
	defer sb.stop()
	env := []string{"WECHAT_APP_ID=" + sandbox.AppID, "WECHAT_APP_SECRET=" + sandbox.Secret, "UPSTREAM_FAMILY=" + family,
		"UPSTREAM_QUOTA_WATCH=0s", "PUSH_RATE_LIMIT=0"}
	var crypter *wxpush.Crypter
	if family == "store" {
		token, key := sandbox.PushKeys()
		if crypter, err = wxpush.NewCrypter(token, key, sandbox.AppID); err != nil {
			return run, err
		}
		env = append(env, "WECHAT_PUSH_TOKEN="+token, "WECHAT_PUSH_AES_KEY="+key)
	} else {
		env = append(env, "ORDER_POLL_INTERVAL="+cfg.poll.String())
	}
	if !cache {
		env = append(env, "ORDER_CACHE_TTL=0s")
	}
	srv, err := start("server", cfg.latency, sb.base, "-server-env", strings.Join(env, ";"))
	if err != nil {
		return run, err
	}
	defer srv.stop()
	target, _ := url.Parse(srv.base)
	toServer := httputil.NewSingleHostReverseProxy(target)

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.clients}}
	callsBefore := sb.calls()
	begin := time.Now()
	end := begin.Add(cfg.run)
	var mu sync.Mutex
	var requests, failures atomic.Int64
	var wg sync.WaitGroup
	ask := func(n int, query string, vars map[string]any) []seen {
		asked := time.Now()
		requests.Add(1)
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		resp, err := client.Post(srv.base+"/graphql", "application/json", bytes.NewReader(body))
		if err != nil {
			failures.Add(1)
			return nil
		}
		defer resp.Body.Close()
		var answer struct {
			Data struct {
				ListOrders struct {
					Edges []struct{ Node order } `json:"edges"`
				} `json:"listOrders"`
				Order *order `json:"order"`
			} `json:"data"`
			Errors []json.RawMessage `json:"errors"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || len(answer.Errors) > 0 || resp.StatusCode != http.StatusOK {
			failures.Add(1)
			return nil
		}
		var out []seen
		for _, e := range answer.Data.ListOrders.Edges {
			out = append(out, seen{client: n, asked: asked, id: e.Node.ID, updated: e.Node.UpdateTime})
		}
		if o := answer.Data.Order; o != nil {
			out = append(out, seen{client: n, asked: asked, id: o.ID, updated: o.UpdateTime})
		}
		return out
	}
	for n := range cfg.clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(n), 7))
			// Clients refresh evenly spread over the refresh period.
			next := begin.Add(cfg.refresh * time.Duration(n) / time.Duration(cfg.clients))
			var mine []seen
			for next.Before(end) {
				time.Sleep(time.Until(next))
				page := ask(n, dashboardPage, nil)
				mine = append(mine, page...)
				for range min(2, len(page)) {
					id := page[rng.IntN(len(page))].id
					mine = append(mine, ask(n, dashboardDetail, map[string]any{"id": id})...)
				}
				next = next.Add(cfg.refresh)
			}
			mu.Lock()
			run.seen = append(run.seen, mine...)
			mu.Unlock()
		})
	}
	every := time.Minute / time.Duration(max(cfg.changes, 1))
	for at := begin.Add(every); at.Before(end); at = at.Add(every) {
		time.Sleep(time.Until(at))
		c, err := sb.advance()
		if err != nil {
			return run, err
		}
		c.Told = c.At
		if crypter != nil {
			if err := sandbox.PushStoreEvent(crypter, toServer, "/wechat/events", c.Event, time.Now()); err != nil {
				return run, fmt.Errorf("push: %w", err)
			}
			c.Told = time.Now()
		}
		run.changes = append(run.changes, c)
	}
	wg.Wait()
	run.requests, run.failures = requests.Load(), failures.Load()
	run.calls = sb.calls() - callsBefore
	return run, nil
}

// order is the part of an answered order the scenario reads.
type order struct {
	ID         string    `json:"id"`
	UpdateTime time.Time `json:"updateTime"`
}

func (c *child) calls() int64 {
	resp, err := http.Get(c.base + "/bench/calls")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	n, _ := strconv.ParseInt(string(b), 10, 64)
	return n
}

func (c *child) advance() (change, error) {
	resp, err := http.Post(c.base+"/bench/advance?newest="+strconv.Itoa(dashboardNewest), "", nil)
	if err != nil {
		return change{}, err
	}
	defer resp.Body.Close()
	var ch change
	if err := json.NewDecoder(resp.Body).Decode(&ch); err != nil || ch.ID == "0" {
		return change{}, fmt.Errorf("the sandbox moved no order on: %v", err)
	}
	return ch, nil
}
