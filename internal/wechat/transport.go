package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/metrics"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/tracing"
	"github.com/ordergraph/ordergraph/internal/wechat/flex"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/trace"
)

// maxResponseBytes bounds what we read from the upstream; a real order is a
// few kilobytes, so anything near this is garbage.
const maxResponseBytes = 4 << 20

// Transport posts JSON to the WeChat API: one keep-alive client, a timeout
// per call and a process-wide cap on calls in flight.
type Transport struct {
	base     string
	client   *http.Client
	timeout  time.Duration
	inflight chan struct{}
	retries  int
	budget   *budget
	breaker  *gobreaker.CircuitBreaker[struct{}]
	limiter  Limiter
	log      *slog.Logger
	metrics  *metrics.Metrics
	cfg      TransportConfig // what ForShop builds from
	called   *calledPaths
}

// TransportConfig configures a Transport.
type TransportConfig struct {
	BaseURL     string        // e.g. https://api.weixin.qq.com
	Timeout     time.Duration // per call, including reading the body
	MaxInFlight int           // process-wide cap on concurrent upstream calls
	Client      *http.Client  // nil: a keep-alive client sized for MaxInFlight
	// Retries is how many more attempts a transiently failed call gets
	// (UPSTREAM_RETRIES); 0 is none.
	Retries int
	// RetryBudget is the share of first attempts that retries may add, over
	// 10 s, above a floor of 10 retries a second (UPSTREAM_RETRY_BUDGET).
	RetryBudget float64
	// Breaker stops calling an upstream that is broadly failing
	// (UPSTREAM_BREAKER).
	Breaker bool
	// BreakerOpenFor is how long an open breaker refuses calls before it
	// probes the upstream again.
	BreakerOpenFor time.Duration
	// RateLimit is upstream calls a second for the whole fleet
	// (UPSTREAM_RATE_LIMIT); 0 is no limit. Retries count, token calls not.
	RateLimit int
	// Limiter enforces RateLimit; nil with a RateLimit limits this process
	// alone. app.Build sets one shared through Redis when there is one.
	Limiter Limiter
	// Now is the retry budget's clock; nil is time.Now.
	Now     func() time.Time
	Logger  *slog.Logger
	Metrics *metrics.Metrics
}

// DefaultTransportConfig is the transport's configuration unless told
// otherwise (WECHAT_API_BASE_URL, UPSTREAM_TIMEOUT, UPSTREAM_MAX_IN_FLIGHT).
func DefaultTransportConfig() TransportConfig {
	return TransportConfig{
		BaseURL: "https://api.weixin.qq.com", Timeout: 5 * time.Second, MaxInFlight: 128,
		Retries: 2, RetryBudget: 0.2, Breaker: true, BreakerOpenFor: 5 * time.Second,
	}
}

// NewTransport returns a Transport for cfg; zero fields take their default.
func NewTransport(cfg TransportConfig) *Transport {
	def := DefaultTransportConfig()
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = def.MaxInFlight
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = def.Timeout
	}
	if cfg.Client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = cfg.MaxInFlight
		t.MaxIdleConns = cfg.MaxInFlight
		cfg.Client = &http.Client{Transport: t}
	}
	if cfg.BreakerOpenFor <= 0 {
		cfg.BreakerOpenFor = def.BreakerOpenFor
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	t := &Transport{
		base:     cfg.BaseURL,
		client:   cfg.Client,
		timeout:  cfg.Timeout,
		inflight: make(chan struct{}, cfg.MaxInFlight),
		retries:  cfg.Retries,
		budget:   newBudget(cfg.RetryBudget, cfg.Now),
		log:      cfg.Logger,
		metrics:  cfg.Metrics,
		cfg:      cfg,
		called:   &calledPaths{},
	}
	t.guard(cfg.Limiter, cfg.Metrics.BreakerTransition)
	cfg.Metrics.BreakerState(t.BreakerState())
	return t
}

// MaxInFlight is the process-wide cap on upstream calls in flight, which
// ForShop's transports share.
func (t *Transport) MaxInFlight() int { return cap(t.inflight) }

// guard gives t its own rate limit (enforced by limiter, or nil for one of
// this process alone) and its own breaker, as configured, whose
// transitions go to transition.
func (t *Transport) guard(limiter Limiter, transition func(state string)) {
	if t.cfg.RateLimit > 0 {
		t.limiter = limiter
		if t.limiter == nil {
			t.limiter = NewLocalLimiter(t.cfg.RateLimit)
		}
	}
	if t.cfg.Breaker {
		t.breaker = newBreaker(t.cfg.BreakerOpenFor, t.log, transition)
	}
}

// ForShop is t for the shop appid of a third-party platform: the shop's
// quotas are its own, so it gets its own rate limit (enforced by limiter,
// nil for this process alone), retry budget and breaker, and one shop's
// failing calls never pause another's. The connections and the cap on
// calls in flight stay the process's. Its log lines name the shop; its
// breaker's transitions are counted, and leave the process's breaker
// state gauge alone.
func (t *Transport) ForShop(appid string, limiter Limiter) *Transport {
	s := &Transport{
		base: t.base, client: t.client, timeout: t.timeout, inflight: t.inflight, retries: t.retries,
		budget: newBudget(t.cfg.RetryBudget, t.cfg.Now), log: t.log.With(slog.String("shop", appid)), metrics: t.metrics, cfg: t.cfg,
		called: &calledPaths{},
	}
	s.guard(limiter, t.metrics.ShopBreakerTransition)
	return s
}

// post sends body as JSON to path (with the access token in the query when
// token is not empty) and decodes the JSON answer into out. Every error it
// returns is an *order.Error whose text holds neither the token nor the URL's
// query.
func (t *Transport) post(ctx context.Context, path, token string, body any, out Reply) error {
	if path != QuotaPath {
		t.called.add(path)
	}
	return t.postAs(ctx, path, "access_token", token, body, out)
}

// PostComponent is post for the third-party platform's own endpoints
// (/cgi-bin/component/...), which take the platform's token as
// component_access_token (none when componentToken is empty). It leaves the
// answer's errcode to the caller, whose errcodes they are.
func (t *Transport) PostComponent(ctx context.Context, path, componentToken string, body any, out Reply) error {
	return t.postAs(ctx, path, "component_access_token", componentToken, body, out)
}

// postAs is post with the token under the query parameter param.
func (t *Transport) postAs(ctx context.Context, path, param, token string, body any, out Reply) error {
	select {
	case t.inflight <- struct{}{}:
	case <-ctx.Done():
		return order.Errorf(codes.UpstreamUnavailable, "request cancelled while waiting for an upstream slot", ctx.Err())
	}
	defer func() { <-t.inflight }()
	result := "network"
	done := t.metrics.UpstreamStart(path)
	defer func() { done(result) }()
	var status int
	var errcode *int64
	if tracing.Enabled() {
		var span trace.Span
		ctx, span = startCall(ctx, path)
		defer func() { endCall(span, status, errcode, result) }()
	}

	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()

	u := t.base + path
	if token != "" {
		u += "?" + param + "=" + url.QueryEscape(token)
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return order.Errorf(codes.Internal, "could not encode upstream request", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(payload))
	if err != nil {
		return order.Errorf(codes.Internal, "could not build upstream request", errors.New("bad WECHAT_API_BASE_URL"))
	}
	req.Header.Set("Content-Type", "application/json")

	start := time.Now()
	resp, err := t.client.Do(req)
	if err != nil {
		// *url.Error repeats the full URL, token included: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		t.log.LogAttrs(ctx, slog.LevelWarn, "upstream call failed", slog.String("url", redacted(t.base, path, param, token)), slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000), slog.String("error", err.Error()))
		msg := "upstream unreachable"
		if errors.Is(err, context.DeadlineExceeded) {
			msg, result = "upstream timed out", "timeout"
		}
		return order.Errorf(codes.UpstreamUnavailable, msg, &attemptFailed{result, fmt.Errorf("POST %s: %w", path, err)})
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	// The decoder keeps no reference to the bytes it reads, so the buffer
	// goes back to the pool for the next call.
	buf := replies.Get().(*bytes.Buffer)
	defer putReply(buf)
	buf.Reset()
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, maxResponseBytes))
	data := buf.Bytes()
	if t.log.Enabled(ctx, slog.LevelDebug) { // spare the hot path the URL string
		t.log.LogAttrs(ctx, slog.LevelDebug, "upstream call", slog.String("url", redacted(t.base, path, param, token)), slog.Int("status", resp.StatusCode), slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000))
	}
	if err != nil {
		return order.Errorf(codes.UpstreamUnavailable, "upstream response could not be read", &attemptFailed{"network", fmt.Errorf("POST %s: %w", path, err)})
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		result = "http_" + strconv.Itoa(resp.StatusCode)
		var cause error
		switch {
		case resp.StatusCode >= 500:
			cause = &attemptFailed{"http_5xx", errors.New(result)}
		case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == 499:
			// A proxy gave up on the upstream after the request went on:
			// it may have been handled (a write may have applied).
			cause = &attemptFailed{"timeout", errors.New(result)}
		}
		return order.Errorf(codes.UpstreamUnavailable, fmt.Sprintf("upstream answered HTTP %d", resp.StatusCode), cause)
	}
	if err := flex.Decode(data, out.ReadReply); err != nil {
		result = "malformed"
		return order.Errorf(codes.UpstreamUnavailable, "upstream sent a malformed response", &attemptFailed{"malformed", fmt.Errorf("POST %s: %w", path, err)})
	}
	errcode = &out.status().Errcode.V
	result = strconv.FormatInt(*errcode, 10)
	return nil
}

// replies are the buffers upstream answers are read into.
var replies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putReply returns buf to the pool unless an outsized answer grew it: a
// pool of 4 MiB buffers would hold memory that orders never need.
func putReply(buf *bytes.Buffer) {
	if buf.Cap() <= 64<<10 {
		replies.Put(buf)
	}
}

// redacted is the call's URL as logs may show it.
func redacted(base, path, param, token string) string {
	if token == "" {
		return base + path
	}
	return base + path + "?" + param + "=REDACTED"
}
