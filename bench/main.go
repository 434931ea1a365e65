// Command bench is the load benchmark: it measures the GraphQL server against
// two floors in one run on one machine, and reports every figure in absolute
// terms and as a ratio to the floors.
//
//	go run ./bench                     # defaults: 20 ms upstream, 3 rounds of 2 s per scenario
//	go run ./bench -latency 20ms -duration 2s -rounds 3 -clients 1,16,128,256
//	go run ./bench -scenario dashboard # WeChat calls and staleness of a dashboard, caches off and on
//
// Processes, each a child of this binary so that allocations, GC and RSS are
// each process's own: an upstream that costs almost nothing per call
// (pre-rendered sandbox orders with the id spliced in), the real server
// pointed at it, and two floors with no GraphQL at all. The "floor" uses the
// server's own WeChat client and decoder, so the server's ratio to it is the
// cost of GraphQL; the "pass" floor cuts the raw order object out of each
// reply and writes it back unmapped, so the ratio to it is everything the
// server adds. Every request asks for fresh random ids, so neither coalescing
// nor any cache flatters anyone; a separate run shows coalescing. Where a
// scenario asks for more upstream calls at once than the server's default
// UPSTREAM_MAX_IN_FLIGHT allows, a second server with a raised cap
// ("uncap", -raised-cap) runs it too, and the report gives the share of the
// server's p50 gap over the passthrough that the cap explains.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ordergraph/ordergraph/internal/gqltest"
	"github.com/ordergraph/ordergraph/internal/wechat"
)

func main() {
	role := flag.String("role", "", "internal: run as a child process (upstream, server, floor, pass)")
	addr := flag.String("addr", "", "internal: child listen address")
	upstream := flag.String("upstream", "", "internal: upstream base URL for server and floors")
	latency := flag.Duration("latency", 20*time.Millisecond, "upstream latency")
	duration := flag.Duration("duration", 2*time.Second, "measured time per round of a scenario (after a warm-up of a sixth of it)")
	rounds := flag.Int("rounds", 3, "rounds per scenario; figures are the medians")
	clientList := flag.String("clients", "1,16,128,256", "concurrent clients, comma-separated")
	hotLatency := flag.Duration("hot-latency", 50*time.Millisecond, "upstream latency of the coalescing run")
	scenario := flag.String("scenario", "load", "load (throughput against the floors) or dashboard (WeChat calls and staleness with the caches off and on)")
	serverEnv := flag.String("server-env", "", "internal: the server's settings, KEY=VALUE;KEY=VALUE")
	var dash dashboardConfig
	flag.IntVar(&dash.clients, "dashboard-clients", 50, "dashboard: clients, each refreshing its page and opening orders")
	flag.DurationVar(&dash.refresh, "refresh", 10*time.Second, "dashboard: how often each client asks for its page")
	flag.IntVar(&dash.changes, "changes", 30, "dashboard: orders WeChat changes a minute")
	flag.DurationVar(&dash.run, "dashboard-duration", time.Minute, "dashboard: how long each of the four runs lasts")
	flag.DurationVar(&dash.poll, "poll", 30*time.Second, "dashboard: the Mini Shop poller's interval (ORDER_POLL_INTERVAL)")
	raisedCap := flag.Int("raised-cap", 4096, "UPSTREAM_MAX_IN_FLIGHT of a second server (target \"uncap\") that the multi-order scenarios over the default cap also drive, for the cap's share of the gap to the passthrough; 0: none")
	flag.Parse()

	switch *role {
	case "upstream":
		runUpstream(*addr, *latency)
		return
	case "server":
		os.Exit(runServer(*addr, *upstream, *serverEnv))
	case "sandbox":
		runSandbox(*addr, *latency)
		return
	case "floor":
		runFloor(*addr, *upstream)
		return
	case "pass":
		runPassthrough(*addr, *upstream)
		return
	}
	clients, err := parseInts(*clientList)
	if err != nil {
		fail("-clients: %v", err)
	}
	if *rounds < 1 {
		fail("-rounds must be at least 1")
	}
	if *raisedCap < 0 {
		fail("-raised-cap must not be negative")
	}
	switch *scenario {
	case "dashboard":
		dash.latency = *latency
		err = runDashboard(dash)
	case "load":
		err = orchestrate(*latency, *hotLatency, *duration, *rounds, clients, *raisedCap)
	default:
		err = fmt.Errorf("-scenario %q: load or dashboard", *scenario)
	}
	if err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}

func parseInts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// child is a running child process of this binary.
type child struct {
	cmd  *exec.Cmd
	base string
}

// start runs this binary as role; args are more flags for the child.
func start(role string, latency time.Duration, upstream string, args ...string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, append([]string{"-role", role, "-addr", addr, "-latency", latency.String(), "-upstream", upstream}, args...)...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, base: "http://" + addr}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(c.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return c, nil
			}
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("%s did not come up on %s", role, addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *child) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// stats is what a child's /metrics says about its work so far.
type stats struct {
	mallocs, upstreamCalls float64
	// CPU seconds by the Go runtime's accounting: GC work, idle, and all.
	gcCPU, idleCPU, allCPU float64
}

func (c *child) stats() stats {
	resp, err := http.Get(c.base + "/metrics")
	if err != nil {
		return stats{}
	}
	defer resp.Body.Close()
	var s stats
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		v, _ := strconv.ParseFloat(value, 64)
		switch {
		case name == "go_memstats_mallocs_total":
			s.mallocs = v
		case name == "go_cpu_classes_gc_total_cpu_seconds_total":
			s.gcCPU = v
		case name == "go_cpu_classes_idle_total_cpu_seconds_total":
			s.idleCPU = v
		case name == "go_cpu_classes_total_cpu_seconds_total":
			s.allCPU = v
		case strings.HasPrefix(name, `ordergraph_upstream_calls_total{endpoint="/product/order/get`):
			s.upstreamCalls += v
		}
	}
	return s
}

// resetPeakRSS restarts the kernel's peak-RSS count of the child (Linux).
func (c *child) resetPeakRSS() {
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", c.cmd.Process.Pid), []byte("5"), 0)
}

func (c *child) peakRSSMiB() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// A query is one benchmark request shape: its ids (fresh and random per
// request) and how the server and the floor are asked for them.
type query struct {
	name     string
	distinct int
	ids      func(r *rand.Rand) []uint64
	graphql  func(ids []uint64) (query string, variables map[string]any)
}

func randomIDs(r *rand.Rand, n int) []uint64 {
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = 1_000_000 + r.Uint64N(1<<62)
	}
	return ids
}

// Queries use variables, as real clients do, so the server's parsed-query
// cache applies; only the ids change from request to request.
var queries = []query{
	{"one order, 3 scalar fields", 1,
		func(r *rand.Rand) []uint64 { return randomIDs(r, 1) },
		func(ids []uint64) (string, map[string]any) {
			return `query($id: ID!) { order(id: $id) { id status createTime } }`, map[string]any{"id": idString(ids[0])}
		}},
	{"one order, every field", 1,
		func(r *rand.Rand) []uint64 { return randomIDs(r, 1) },
		func(ids []uint64) (string, map[string]any) {
			return gqltest.EveryOrderQuery, map[string]any{"id": idString(ids[0])}
		}},
	{"orders(ids:) 20 ids (15 distinct), 17 fields", 15,
		func(r *rand.Rand) []uint64 { ids := randomIDs(r, 15); return append(ids, ids[:5]...) },
		func(ids []uint64) (string, map[string]any) {
			strs := make([]string, len(ids))
			for i, id := range ids {
				strs[i] = idString(id)
			}
			return gqltest.TwentyOrdersQuery, map[string]any{"ids": strs}
		}},
	{"10 aliased order fields", 10,
		func(r *rand.Rand) []uint64 { return randomIDs(r, 10) },
		func(ids []uint64) (string, map[string]any) { return aliasQuery, aliasVars(ids) }},
}

// aliasQuery asks for ten orders through aliased order(id:) fields.
var aliasQuery = func() string {
	var params, fields strings.Builder
	for i := range 10 {
		fmt.Fprintf(&params, "$a%d: ID!, ", i)
		fmt.Fprintf(&fields, " o%d: order(id: $a%d) { id status updateTime }", i, i)
	}
	return "query(" + strings.TrimSuffix(params.String(), ", ") + ") {" + fields.String() + " }"
}()

func aliasVars(ids []uint64) map[string]any {
	vars := make(map[string]any, len(ids))
	for i, id := range ids {
		vars[fmt.Sprintf("a%d", i)] = idString(id)
	}
	return vars
}

func idString(id uint64) string { return strconv.FormatUint(id, 10) }

// graphQL says whether target is a server (with the default cap or a
// raised one) rather than a floor.
func graphQL(target string) bool { return target == "server" || target == "uncap" }

// request builds one HTTP request for target: a server, or a floor.
func request(target, base string, q query, ids []uint64) *http.Request {
	if !graphQL(target) {
		parts := make([]string, len(ids))
		for i, id := range ids {
			parts[i] = idString(id)
		}
		req, _ := http.NewRequest("GET", base+"/orders?ids="+strings.Join(parts, ","), nil)
		return req
	}
	// Built by hand: the load generator shares the CPU with the processes it
	// measures, and its cost per request should be as small for the server
	// as for the floor.
	text, vars := q.graphql(ids)
	body := `{"query":` + quotedQueries.get(text) + `,"variables":` + varsJSON(vars) + `}`
	req, _ := http.NewRequest("POST", base+"/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

// quotedQueries memoizes each query text as a JSON string.
var quotedQueries = &quoteCache{m: map[string]string{}}

type quoteCache struct {
	mu sync.Mutex
	m  map[string]string
}

func (c *quoteCache) get(s string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	q, ok := c.m[s]
	if !ok {
		b, _ := json.Marshal(s)
		q = string(b)
		c.m[s] = q
	}
	return q
}

// varsJSON writes variables whose values are id strings or lists of them.
func varsJSON(vars map[string]any) string {
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for k, v := range vars {
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(`"` + k + `":`)
		switch v := v.(type) {
		case string:
			b.WriteString(`"` + v + `"`)
		case []string:
			b.WriteString(`["` + strings.Join(v, `","`) + `"]`)
		}
	}
	b.WriteByte('}')
	return b.String()
}

// result is one scenario's figures.
type result struct {
	reqs          int
	errors        int
	rps           float64
	p50, p90, p99 time.Duration
	callsPerReq   float64
	allocsPerReq  float64
	gcShare       float64 // GC CPU over the CPU not idle
	peakRSS       float64
}

// load drives clients concurrent clients at target for warm-up plus d.
func load(target string, c *child, q query, clients int, d time.Duration) result {
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxIdleConns: clients}, Timeout: 30 * time.Second}
	// Hang up when done: left open, each round's connections would idle in
	// the target (120 s on the server) and count in the RSS of the
	// scenarios after it, which have clients of their own.
	defer httpc.CloseIdleConnections()
	run := func(d time.Duration) ([]time.Duration, int) {
		var mu sync.Mutex
		var all []time.Duration
		errs := 0
		deadline := time.Now().Add(d)
		var wg sync.WaitGroup
		for w := range clients {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
				var mine []time.Duration
				bad := 0
				for time.Now().Before(deadline) {
					req := request(target, c.base, q, q.ids(r))
					start := time.Now()
					resp, err := httpc.Do(req)
					if err == nil {
						body, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						if resp.StatusCode != 200 || failed(target, body) {
							bad++
						}
					} else {
						bad++
					}
					mine = append(mine, time.Since(start))
				}
				mu.Lock()
				all = append(all, mine...)
				errs += bad
				mu.Unlock()
			})
		}
		wg.Wait()
		return all, errs
	}
	run(d / 6)
	before := c.stats()
	c.resetPeakRSS()
	start := time.Now()
	lat, errs := run(d)
	elapsed := time.Since(start)
	after := c.stats()
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))]
	}
	n := float64(max(len(lat), 1))
	gcShare := 0.0
	if busy := (after.allCPU - before.allCPU) - (after.idleCPU - before.idleCPU); busy > 0 {
		gcShare = (after.gcCPU - before.gcCPU) / busy
	}
	return result{
		reqs: len(lat), errors: errs, rps: float64(len(lat)) / elapsed.Seconds(),
		p50: pct(0.50), p90: pct(0.90), p99: pct(0.99),
		callsPerReq:  (after.upstreamCalls - before.upstreamCalls) / n,
		allocsPerReq: (after.mallocs - before.mallocs) / n,
		gcShare:      gcShare,
		peakRSS:      c.peakRSSMiB(),
	}
}

// failed reports whether a 200 answer still lost an order: a GraphQL error
// from the server, a null entry in a floor's list.
func failed(target string, body []byte) bool {
	if graphQL(target) {
		return bytes.Contains(body, []byte(`"errors"`))
	}
	return bytes.Contains(body, []byte("[null")) || bytes.Contains(body, []byte(",null"))
}

// median takes, figure by figure, the median of rounds (RSS: the peak).
func median(rounds []result) result {
	pick := func(f func(r result) float64) float64 {
		v := make([]float64, len(rounds))
		for i, r := range rounds {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	dur := func(f func(r result) time.Duration) time.Duration {
		return time.Duration(pick(func(r result) float64 { return float64(f(r)) }))
	}
	out := result{
		rps:          pick(func(r result) float64 { return r.rps }),
		p50:          dur(func(r result) time.Duration { return r.p50 }),
		p90:          dur(func(r result) time.Duration { return r.p90 }),
		p99:          dur(func(r result) time.Duration { return r.p99 }),
		callsPerReq:  pick(func(r result) float64 { return r.callsPerReq }),
		allocsPerReq: pick(func(r result) float64 { return r.allocsPerReq }),
		gcShare:      pick(func(r result) float64 { return r.gcShare }),
	}
	for _, r := range rounds {
		out.reqs += r.reqs
		out.errors += r.errors
		out.peakRSS = max(out.peakRSS, r.peakRSS)
	}
	return out
}

// targets, in the order each round drives them; "uncap", the server with a
// raised UPSTREAM_MAX_IN_FLIGHT, comes last where it runs (capped).
var targets = []string{"pass", "floor", "server"}

// defaultCap is the server's UPSTREAM_MAX_IN_FLIGHT unless told otherwise.
var defaultCap = wechat.DefaultTransportConfig().MaxInFlight

// capped says whether q at clients asks for more upstream calls at once
// than the default cap allows: only there can a raised cap change anything.
func capped(q query, clients int) bool { return q.distinct > 1 && q.distinct*clients > defaultCap }

func orchestrate(latency, hotLatency, d time.Duration, rounds int, clients []int, raisedCap int) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var children []*child
	defer func() {
		for _, c := range children {
			c.stop()
		}
	}()
	// setup starts an upstream with latency, and the server and the floors
	// pointed at it, and with raisedCap a server with that cap.
	setup := func(latency time.Duration, raisedCap int) (map[string]*child, error) {
		up, err := start("upstream", latency, "")
		if err != nil {
			return nil, err
		}
		children = append(children, up)
		started := map[string]*child{}
		for _, role := range targets {
			c, err := start(role, 0, up.base)
			if err != nil {
				return nil, err
			}
			children = append(children, c)
			started[role] = c
		}
		if raisedCap > 0 {
			c, err := start("server", 0, up.base, "-server-env", "UPSTREAM_MAX_IN_FLIGHT="+strconv.Itoa(raisedCap))
			if err != nil {
				return nil, err
			}
			children = append(children, c)
			started["uncap"] = c
		}
		return started, nil
	}
	procs, err := setup(latency, raisedCap)
	if err != nil {
		return err
	}

	fmt.Printf("ordergraph load benchmark: upstream latency %v, median of %d rounds of %v per scenario, %d CPUs, %s\n", latency, rounds, d, numCPU(), time.Now().Format(time.RFC3339))
	fmt.Println("pass = raw passthrough (no decoding, no GraphQL); floor = the server's own client and decoder, no GraphQL")
	fmt.Println("×pass, ×floor: the server's throughput as a share of each floor's; +pass: its p50 over the passthrough's")
	if raisedCap > 0 {
		fmt.Printf("uncap = the server with UPSTREAM_MAX_IN_FLIGHT=%d rather than %d, where a scenario asks for more calls at once than %d\n", raisedCap, defaultCap, defaultCap)
	}
	fmt.Println()
	fmt.Printf("%-42s %7s %6s %8s %9s %9s %9s %9s %10s %5s %7s %6s %6s %8s\n", "query", "clients", "target", "req/s", "p50", "p99", "calls/req", "allocs/req", "", "GC%", "RSS MiB", "×pass", "×floor", "+pass")
	type key struct {
		q       string
		clients int
	}
	results := map[key]map[string]result{}
	for _, q := range queries {
		for _, n := range clients {
			ts := targets
			if raisedCap > 0 && capped(q, n) {
				ts = append(slices.Clip(targets), "uncap")
			}
			perTarget := map[string][]result{}
			for range rounds {
				for _, t := range ts {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					perTarget[t] = append(perTarget[t], load(t, procs[t], q, n, d))
				}
			}
			res := map[string]result{}
			for _, t := range ts {
				res[t] = median(perTarget[t])
			}
			results[key{q.name, n}] = res
			for _, t := range ts {
				r := res[t]
				ratio := ""
				if graphQL(t) {
					ratio = fmt.Sprintf("%6.2f %6.2f %8s", r.rps/res["pass"].rps, r.rps/res["floor"].rps, "+"+ms(r.p50-res["pass"].p50))
				}
				errNote := ""
				if r.errors > 0 {
					errNote = fmt.Sprintf("  (%d requests failed)", r.errors)
				}
				fmt.Printf("%-42s %7d %6s %8.1f %9s %9s %9.2f %10.0f %10s %5.1f %7.1f %s%s\n", q.name, n, t, r.rps,
					ms(r.p50), ms(r.p99), r.callsPerReq, r.allocsPerReq, "", 100*r.gcShare, r.peakRSS, ratio, errNote)
			}
		}
	}

	fmt.Println()
	fmt.Println("targets (against the passthrough):")
	for _, q := range queries {
		if r, ok := results[key{q.name, 128}]; ok {
			verdict(fmt.Sprintf("%s, 128 clients: throughput %.2f× the passthrough's (>= 0.8)", q.name, r["server"].rps/r["pass"].rps), r["server"].rps >= 0.8*r["pass"].rps)
		}
	}
	for _, q := range queries {
		if r, ok := results[key{q.name, 16}]; ok {
			verdict(fmt.Sprintf("%s, 16 clients: p50 %s, within 3 ms of the passthrough's %s", q.name, ms(r["server"].p50), ms(r["pass"].p50)), r["server"].p50 <= r["pass"].p50+3*time.Millisecond)
		}
	}
	twenty := queries[2]
	if r, ok := results[key{twenty.name, 1}]; ok {
		verdict(fmt.Sprintf("%s, 1 client: p50 %s, within 1.5 ms of the passthrough's %s", twenty.name, ms(r["server"].p50), ms(r["pass"].p50)), r["server"].p50 <= r["pass"].p50+1500*time.Microsecond)
	}
	if r, ok := results[key{twenty.name, 256}]; ok {
		verdict(fmt.Sprintf("%s, 256 clients: peak RSS %.1f MiB (<= 100 MB)", twenty.name, r["server"].peakRSS), r["server"].peakRSS*(1<<20) <= 100e6)
	}
	for _, q := range queries {
		worst := 0.0
		for _, n := range clients {
			worst = max(worst, results[key{q.name, n}]["server"].callsPerReq)
		}
		verdict(fmt.Sprintf("%s: at most %.2f upstream calls per request, %d distinct ids", q.name, worst, q.distinct), worst <= float64(q.distinct)+0.01)
	}

	if raisedCap > 0 {
		fmt.Println()
		fmt.Printf("the in-flight cap's share of the p50 gap over the passthrough (UPSTREAM_MAX_IN_FLIGHT %d, then %d):\n", defaultCap, raisedCap)
		for _, q := range queries {
			for _, n := range clients {
				r := results[key{q.name, n}]
				if _, ok := r["uncap"]; !ok {
					continue
				}
				gap, raised := r["server"].p50-r["pass"].p50, r["uncap"].p50-r["pass"].p50
				share := "n/a: no gap"
				switch {
				case gap > 0 && raised < 0:
					// The passthrough asks 16 ids at a time per request:
					// past the cap the server outruns it.
					share = "all (with it raised the server is ahead of the passthrough)"
				case gap > 0:
					share = fmt.Sprintf("%.0f%%", 100*float64(gap-raised)/float64(gap))
				}
				fmt.Printf("  %-42s %4d clients: %+.2fms with %d, %+.2fms with %d; the cap explains %s of the gap\n", q.name, n, float64(gap.Microseconds())/1000, defaultCap, float64(raised.Microseconds())/1000, raisedCap, share)
			}
		}
	}

	fmt.Println()
	hotProcs, err := setup(hotLatency, 0)
	if err != nil {
		return err
	}
	sCalls, sLat := hot("server", hotProcs["server"])
	fCalls, fLat := hot("floor", hotProcs["floor"])
	fmt.Printf("coalescing: 200 concurrent requests for one order at %v upstream latency\n", hotLatency)
	fmt.Printf("  server: %.0f upstream calls, slowest request %s\n  floor:  %.0f upstream calls, slowest request %s\n", sCalls, ms(sLat), fCalls, ms(fLat))
	return nil
}

// hot fires 200 simultaneous requests for one fresh order and returns the
// upstream calls they caused and the slowest latency.
func hot(target string, c *child) (float64, time.Duration) {
	q := queries[0]
	ids := []uint64{5_000_000 + rand.Uint64N(1<<40)}
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200}}
	defer httpc.CloseIdleConnections()
	// Open the connections first, so the burst measures the upstream, not dialing.
	var warm sync.WaitGroup
	for range 200 {
		warm.Go(func() {
			if resp, err := httpc.Get(c.base + "/healthz"); err == nil {
				resp.Body.Close()
			}
		})
	}
	warm.Wait()
	before := c.stats()
	var slowest time.Duration
	var mu sync.Mutex
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for range 200 {
		wg.Go(func() {
			<-gate
			start := time.Now()
			if resp, err := httpc.Do(request(target, c.base, q, ids)); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			mu.Lock()
			slowest = max(slowest, time.Since(start))
			mu.Unlock()
		})
	}
	close(gate)
	wg.Wait()
	return c.stats().upstreamCalls - before.upstreamCalls, slowest
}

func verdict(what string, ok bool) {
	mark := "MET   "
	if !ok {
		mark = "MISSED"
	}
	fmt.Printf("  %s %s\n", mark, what)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }
