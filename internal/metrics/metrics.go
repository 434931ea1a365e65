// Package metrics defines the server's Prometheus metrics in one registry and
// serves them. Every method is safe on a nil *Metrics, so components built
// without metrics (in tests) need no stubs.
package metrics

import (
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// maxOperationNames bounds the operation label: names come from clients, and
// an unbounded label would let any client grow the server's memory.
const maxOperationNames = 200

// Metrics holds every collector of the server.
type Metrics struct {
	registry         *prometheus.Registry
	httpRequests     *prometheus.CounterVec
	operationSeconds *prometheus.HistogramVec
	upstreamCalls    *prometheus.CounterVec
	upstreamSeconds  *prometheus.HistogramVec
	upstreamInFlight prometheus.Gauge
	batchSize        prometheus.Histogram
	coalesced        prometheus.Counter
	cacheHits        prometheus.Counter
	pageCacheHits    prometheus.Counter
	tokenRefreshes   *prometheus.CounterVec
	retries          *prometheus.CounterVec
	retriesRefused   prometheus.Counter
	breakerState     *prometheus.GaugeVec
	breakerChanges   *prometheus.CounterVec
	rateLimited      prometheus.Counter
	pushes           *prometheus.CounterVec
	deliveries       *prometheus.CounterVec
	subscribers      prometheus.Gauge
	actions          *prometheus.CounterVec
	quotaLimit       *prometheus.GaugeVec
	quotaUsed        *prometheus.GaugeVec
	quotaRemaining   *prometheus.GaugeVec

	mu         sync.Mutex
	operations map[string]bool
}

// New returns metrics registered on a fresh registry, with the Go runtime
// and process collectors.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ordergraph_http_requests_total", Help: "HTTP requests by status code.",
		}, []string{"code"}),
		operationSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ordergraph_graphql_operation_duration_seconds", Help: "GraphQL operation latency by operation name.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, []string{"operation"}),
		upstreamCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ordergraph_upstream_calls_total", Help: "Upstream calls by endpoint and result: the errcode, or http_<status>, network, timeout, malformed.",
		}, []string{"endpoint", "errcode"}),
		upstreamSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ordergraph_upstream_duration_seconds", Help: "Upstream call latency by endpoint.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, []string{"endpoint"}),
		upstreamInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ordergraph_upstream_in_flight", Help: "Upstream calls in flight.",
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ordergraph_loader_batch_size", Help: "Order ids per dataloader batch.",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100},
		}),
		coalesced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ordergraph_coalesced_fetches_total", Help: "Order fetches served by another request's in-flight upstream call.",
		}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ordergraph_order_cache_hits_total", Help: "Order fetches served by the order cache.",
		}),
		pageCacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ordergraph_page_cache_hits_total", Help: "Upstream list and search pages served by the page cache.",
		}),
		tokenRefreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ordergraph_token_refreshes_total", Help: "Access token fetches by mode (normal, force) and result (ok, error).",
		}, []string{"mode", "result"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ordergraph_upstream_retries_total", Help: "Upstream attempts retried, by why the attempt failed: busy (errcode -1), network, timeout, http_5xx, malformed.",
		}, []string{"reason"}),
		retriesRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ordergraph_upstream_retries_refused_total", Help: "Retries not made because the retry budget was spent.",
		}),
		breakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ordergraph_upstream_breaker_state", Help: "1 for the upstream circuit breaker's current state (closed, half-open, open, off), 0 for the others.",
		}, []string{"state"}),
		breakerChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ordergraph_upstream_breaker_transitions_total", Help: "Upstream circuit breaker transitions, by the state entered.",
		}, []string{"to"}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ordergraph_upstream_rate_limited_total", Help: "Upstream calls refused by this server's own rate limit (UPSTREAM_RATE_LIMIT), without calling the upstream.",
		}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ordergraph_push_events_total", Help: "WeChat Store pushes by result: published, duplicate, in_progress (another delivery is being published), ignored (not an order event), refused (signature, key, appid or timestamp), rate_limited, malformed.",
		}, []string{"result"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ordergraph_event_deliveries_total", Help: "Order events handed to subscribers, by result: delivered, or dropped (a slow subscriber ended).",
		}, []string{"result"}),
		subscribers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ordergraph_event_subscribers", Help: "orderEvents subscriptions open in this process.",
		}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ordergraph_order_actions_total", Help: "Order actions (mutations) by mutation and outcome: ok, replayed, error, unknown (whether WeChat applied it is not known), or the user error code.",
		}, []string{"mutation", "outcome"}),
		quotaLimit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ordergraph_upstream_quota_limit", Help: "WeChat's daily call quota of each API this server calls (UPSTREAM_QUOTA_WATCH).",
		}, []string{"api"}),
		quotaUsed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ordergraph_upstream_quota_used", Help: "Calls of each API counted against its WeChat daily quota today, by the whole app.",
		}, []string{"api"}),
		quotaRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ordergraph_upstream_quota_remaining", Help: "Calls of each API left in its WeChat daily quota today.",
		}, []string{"api"}),
		operations: map[string]bool{},
	}
	m.registry.MustRegister(
		// The CPU spent on garbage collection, against the CPU not idle,
		// is the GC share that GOGC and GOMEMLIMIT trade against memory.
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.GoRuntimeMetricsRule{
			Matcher: regexp.MustCompile(`^/cpu/classes/(gc/total|idle/total|total):cpu-seconds$`),
		})),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.operationSeconds, m.upstreamCalls, m.upstreamSeconds, m.upstreamInFlight,
		m.batchSize, m.coalesced, m.cacheHits, m.pageCacheHits, m.tokenRefreshes,
		m.retries, m.retriesRefused, m.breakerState, m.breakerChanges, m.rateLimited, m.pushes, m.deliveries, m.subscribers, m.actions,
		m.quotaLimit, m.quotaUsed, m.quotaRemaining,
	)
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// HTTPRequest counts a finished HTTP request.
func (m *Metrics) HTTPRequest(status int) {
	if m != nil {
		m.httpRequests.WithLabelValues(strconv.Itoa(status)).Inc()
	}
}

// Operation records a GraphQL operation's latency.
func (m *Metrics) Operation(name string, d time.Duration) {
	if m == nil {
		return
	}
	if name == "" {
		name = "(anonymous)"
	}
	m.mu.Lock()
	if !m.operations[name] {
		if len(m.operations) >= maxOperationNames {
			name = "(other)"
		} else {
			m.operations[name] = true
		}
	}
	m.mu.Unlock()
	m.operationSeconds.WithLabelValues(name).Observe(d.Seconds())
}

// UpstreamStart counts a call going out; the returned func records its end.
func (m *Metrics) UpstreamStart(endpoint string) func(result string) {
	if m == nil {
		return func(string) {}
	}
	start := time.Now()
	m.upstreamInFlight.Inc()
	return func(result string) {
		m.upstreamInFlight.Dec()
		m.upstreamCalls.WithLabelValues(endpoint, result).Inc()
		m.upstreamSeconds.WithLabelValues(endpoint).Observe(time.Since(start).Seconds())
	}
}

// Batch records the size of a dataloader batch.
func (m *Metrics) Batch(size int) {
	if m != nil {
		m.batchSize.Observe(float64(size))
	}
}

// Coalesced counts a fetch that joined an in-flight call.
func (m *Metrics) Coalesced() {
	if m != nil {
		m.coalesced.Inc()
	}
}

// CacheHit counts a fetch served from the order cache.
func (m *Metrics) CacheHit() {
	if m != nil {
		m.cacheHits.Inc()
	}
}

// TokenRefresh counts an access-token fetch.
func (m *Metrics) TokenRefresh(force bool, err error) {
	if m == nil {
		return
	}
	mode, result := "normal", "ok"
	if force {
		mode = "force"
	}
	if err != nil {
		result = "error"
	}
	m.tokenRefreshes.WithLabelValues(mode, result).Inc()
}

// Retry counts an upstream attempt retried, by why it failed.
func (m *Metrics) Retry(reason string) {
	if m != nil {
		m.retries.WithLabelValues(reason).Inc()
	}
}

// RetryRefused counts a retry the budget did not allow.
func (m *Metrics) RetryRefused() {
	if m != nil {
		m.retriesRefused.Inc()
	}
}

// BreakerState records the circuit breaker's state.
func (m *Metrics) BreakerState(state string) {
	if m == nil {
		return
	}
	for _, s := range []string{"closed", "half-open", "open", "off"} {
		v := 0.0
		if s == state {
			v = 1
		}
		m.breakerState.WithLabelValues(s).Set(v)
	}
}

// BreakerTransition records the circuit breaker entering state.
func (m *Metrics) BreakerTransition(state string) {
	if m != nil {
		m.BreakerState(state)
		m.breakerChanges.WithLabelValues(state).Inc()
	}
}

// ShopBreakerTransition counts one shop's breaker entering state, in
// provider mode, where each shop has a breaker and no one state is the
// process's.
func (m *Metrics) ShopBreakerTransition(state string) {
	if m != nil {
		m.breakerChanges.WithLabelValues(state).Inc()
	}
}

// RateLimited counts a call refused by the server's own upstream rate limit.
func (m *Metrics) RateLimited() {
	if m != nil {
		m.rateLimited.Inc()
	}
}

// Push counts a WeChat Store push by its result.
func (m *Metrics) Push(result string) {
	if m != nil {
		m.pushes.WithLabelValues(result).Inc()
	}
}

// Published counts one event's deliveries and the slow subscribers it
// ended, and sets the subscriptions left open.
func (m *Metrics) Published(delivered, dropped, open int) {
	if m != nil {
		m.deliveries.WithLabelValues("delivered").Add(float64(delivered))
		m.deliveries.WithLabelValues("dropped").Add(float64(dropped))
		m.subscribers.Set(float64(open))
	}
}

// Action counts an order action by mutation and outcome. Both labels come
// from closed sets: the schema's mutations, the outcomes and user error
// codes.
func (m *Metrics) Action(mutation, outcome string) {
	if m != nil {
		m.actions.WithLabelValues(mutation, outcome).Inc()
	}
}

// Quota sets the daily quota gauges of api. The label is bounded: the
// API paths this server's code calls.
func (m *Metrics) Quota(api string, limit, used, remaining int64) {
	if m != nil {
		m.quotaLimit.WithLabelValues(api).Set(float64(limit))
		m.quotaUsed.WithLabelValues(api).Set(float64(used))
		m.quotaRemaining.WithLabelValues(api).Set(float64(remaining))
	}
}

// PageCacheHit counts an upstream list or search page served from the
// page cache.
func (m *Metrics) PageCacheHit() {
	if m != nil {
		m.pageCacheHits.Inc()
	}
}
