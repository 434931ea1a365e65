package wxpush

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"

	"github.com/ordergraph/ordergraph/internal/metrics"
	"github.com/ordergraph/ordergraph/internal/order"
)

// maxBody bounds a push: an encrypted event is a few hundred bytes.
const maxBody = 64 << 10

// How long a push is good for, and how long it is remembered.
const (
	// MaxSkew is how far ahead of this server's clock a push may be
	// signed: clocks drift, but a timestamp further ahead was made up.
	MaxSkew = 5 * time.Minute
	// MaxAge is how long after its signed timestamp a push is taken.
	// WeChat retries a push not answered "success" within 5 s after 0 s,
	// 0 s, 10 s, 1 min, 5 min, 30 min, 60 min, 60 min and 60 min: 10
	// deliveries, the last 3 h 36 min 10 s (and up to 10 × 5 s of waiting
	// for answers) after the first, and a retry may carry the first
	// delivery's timestamp. An older push is a replay.
	MaxAge = 4 * time.Hour
	// RetryWindow is how long a published push is remembered: longer than
	// any push is taken (MaxAge after a timestamp up to MaxSkew ahead), so
	// that a replay is never published twice.
	RetryWindow = 5 * time.Hour
	// ProcessingTimeout is how long a push taken by one replica keeps
	// others from taking it: publishing takes a second at most (the Redis
	// publish's timeout), and WeChat's third retry comes 10 s after the
	// first delivery, so a replica that crashed in between costs a retry,
	// not the event.
	ProcessingTimeout = 5 * time.Second
)

// refusalLogEvery is how often a refusal is logged: once per reason and
// interval, with the count of the others, however many forged requests
// arrive.
const refusalLogEvery = time.Minute

// Config is the push endpoint's configuration.
type Config struct {
	// Token and AESKey are the Store console's message push Token and
	// EncodingAESKey (WECHAT_PUSH_TOKEN, WECHAT_PUSH_AES_KEY); with them the
	// server takes events at httpserver.PushPath.
	Token, AESKey string
	// RateLimit is how many requests one address may make a minute
	// (PUSH_RATE_LIMIT); 0: off.
	RateLimit int
	// Now is the clock of timestamps, the rate limit and the refusal log;
	// nil means time.Now.
	Now func() time.Time
}

// DefaultConfig is the push endpoint's configuration unless told
// otherwise: 50 requests a second from one address, above what WeChat
// pushes for a busy shop (a push refused 429 is retried).
func DefaultConfig() Config { return Config{RateLimit: 3000} }

// Handler serves the push URL set in the Store console: the GET check and
// the POSTed events, which it verifies, decrypts, checks for freshness,
// dedupes and hands to publish, answering "success" at once. WeChat signs
// its calls instead of sending a bearer token, so this handler is its own
// authentication, and has its own rate limit.
type Handler struct {
	Crypter *Crypter

	route    func(*http.Request) (Sink, bool)
	log      *slog.Logger
	metrics  *metrics.Metrics
	now      func() time.Time
	limit    *limiter // nil: off
	refusals throttle
}

// NewHandler returns the push endpoint of cfg, which hands each new event
// to publish.
func NewHandler(cfg Config, crypter *Crypter, publish func(order.Event), seen Seen, log *slog.Logger, m *metrics.Metrics) *Handler {
	sink := Sink{Publish: publish, Seen: seen}
	return NewRoutedHandler(cfg, crypter, func(*http.Request) (Sink, bool) { return sink, true }, log, m)
}

// Sink is where one shop's events go: Publish hands an event on, Seen
// remembers the events taken.
type Sink struct {
	Publish func(order.Event)
	Seen    Seen
}

// NewRoutedHandler is NewHandler for the pushes of many shops, which
// share crypter (a third-party platform's): route names the sink of a
// verified request (by its path), or answers false for no shop it knows.
// It is asked only once the request's signature holds, so nobody else
// makes the server set up a shop.
func NewRoutedHandler(cfg Config, crypter *Crypter, route func(*http.Request) (Sink, bool), log *slog.Logger, m *metrics.Metrics) *Handler {
	h := &Handler{Crypter: crypter, route: route, log: log, metrics: m, now: cfg.Now}
	if h.now == nil {
		h.now = time.Now
	}
	if cfg.RateLimit > 0 {
		h.limit = &limiter{limit: cfg.RateLimit, counts: map[string]int{}}
	}
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := h.now()
	if h.limit != nil {
		if retry, ok := h.limit.allow(clientAddr(r), now); !ok {
			h.metrics.Push("rate_limited")
			h.logRefusal(now, "push rate limited (PUSH_RATE_LIMIT a minute from one address)")
			w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds()+1)))
			http.Error(w, "too many requests", http.StatusTooManyRequests)
			return
		}
	}
	q := r.URL.Query()
	if r.Method == http.MethodGet {
		if !h.Crypter.VerifyURL(q.Get("signature"), q.Get("timestamp"), q.Get("nonce")) {
			h.refuse(w, now, "push URL check with a bad signature")
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, q.Get("echostr"))
		return
	}
	var envelope struct {
		Encrypt string `json:"Encrypt"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&envelope); err != nil || envelope.Encrypt == "" {
		h.metrics.Push("malformed")
		http.Error(w, "not a WeChat push envelope", http.StatusBadRequest)
		return
	}
	message, err := h.Crypter.Decrypt(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), envelope.Encrypt)
	if err != nil {
		h.refuse(w, now, "push refused: "+reason(err))
		return
	}
	if stale := staleness(q.Get("timestamp"), now); stale != "" {
		h.refuse(w, now, "push refused: "+stale)
		return
	}
	ev, ok, err := ParseEvent(message, now)
	if err != nil {
		h.metrics.Push("malformed")
		http.Error(w, "the event is not JSON", http.StatusBadRequest)
		return
	}
	if !ok {
		h.metrics.Push("ignored")
		_, _ = io.WriteString(w, "success")
		return
	}
	sink, ok := h.route(r)
	if !ok {
		h.metrics.Push("malformed")
		http.Error(w, "no such shop", http.StatusNotFound)
		return
	}
	// Detached: a mark made must be finished, and Redis must not look
	// away because WeChat hung up.
	ctx := context.WithoutCancel(r.Context())
	switch sink.Seen.Claim(ctx, ev.Key) {
	case Done:
		h.metrics.Push("duplicate")
	case Processing:
		// Another delivery of it is being published, or its replica
		// crashed: not "success", so that WeChat retries it.
		h.metrics.Push("in_progress")
		http.Error(w, "this event is being processed; retry", http.StatusServiceUnavailable)
		return
	default:
		sink.Publish(ev)
		sink.Seen.Done(ctx, ev.Key)
		h.metrics.Push("published")
	}
	_, _ = io.WriteString(w, "success")
}

// staleness says why a push signed at timestamp (Unix seconds) is not
// taken at now, or "" when it is.
func staleness(timestamp string, now time.Time) string {
	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return "the timestamp is not Unix seconds"
	}
	switch at := time.Unix(secs, 0); {
	case at.After(now.Add(MaxSkew)):
		return "signed more than " + MaxSkew.String() + " in the future (check this server's clock)"
	case now.Sub(at) > MaxAge:
		return "signed more than " + MaxAge.String() + " ago, longer than WeChat retries: a replay"
	}
	return ""
}

func (h *Handler) refuse(w http.ResponseWriter, now time.Time, msg string) {
	h.metrics.Push("refused")
	h.logRefusal(now, msg)
	http.Error(w, "push refused: its signature, appid or timestamp does not check out", http.StatusUnauthorized)
}

// logRefusal logs msg unless it was logged less than refusalLogEvery ago,
// and then with the count of the refusals left unlogged since.
func (h *Handler) logRefusal(now time.Time, msg string) {
	if n, ok := h.refusals.allow(msg, now); ok {
		h.log.Warn(msg, slog.Int("refused_since_last_line", n))
	}
}

// reason names what failed, never with the key, token or message.
func reason(err error) string {
	switch {
	case errors.Is(err, ErrSignature):
		return "msg_signature does not match (check WECHAT_PUSH_TOKEN)"
	case errors.Is(err, ErrAppID):
		return "the event is for another appid (check WECHAT_APP_ID)"
	}
	return "the message does not decrypt (check WECHAT_PUSH_AES_KEY)"
}

// throttle lets each message through once an interval, counting the
// times it held it back.
type throttle struct {
	mu    sync.Mutex
	lines map[string]*throttled
}

type throttled struct {
	next time.Time
	held int
}

func (t *throttle) allow(msg string, now time.Time) (held int, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.lines == nil {
		t.lines = map[string]*throttled{}
	}
	l := t.lines[msg]
	if l == nil {
		l = &throttled{}
		t.lines[msg] = l // messages are this file's constants: a few
	}
	if now.Before(l.next) {
		l.held++
		return 0, false
	}
	held, l.held, l.next = l.held, 0, now.Add(refusalLogEvery)
	return held, true
}

// maxAddresses bounds the rate limit's memory: in a minute with more
// addresses than this, the rest share one count.
const maxAddresses = 10000

// Limited is next under cfg's rate limit per address (none when it is 0):
// for a third-party platform's authorization events, which WeChat signs
// as it signs pushes, and which a flood must not make the server decrypt
// without end.
func Limited(cfg Config, next http.Handler) http.Handler {
	if cfg.RateLimit <= 0 {
		return next
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	l := &limiter{limit: cfg.RateLimit, counts: map[string]int{}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if retry, ok := l.allow(clientAddr(r), now()); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds()+1)))
			http.Error(w, "too many requests", http.StatusTooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limiter allows each address limit requests in each minute-long window.
type limiter struct {
	limit int

	mu     sync.Mutex
	window time.Time
	counts map[string]int
}

// allow counts a request from addr at now; when it is over the limit it
// says how long until the window ends.
func (l *limiter) allow(addr string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.window) >= time.Minute || now.Before(l.window) {
		l.window = now
		clear(l.counts)
	}
	if _, known := l.counts[addr]; !known && len(l.counts) >= maxAddresses {
		addr = ""
	}
	if l.counts[addr] >= l.limit {
		return l.window.Add(time.Minute).Sub(now), false
	}
	l.counts[addr]++
	return 0, true
}

// clientAddr is the request's client address as the server's middleware
// found it (behind TRUSTED_PROXIES, the one they name), else the peer's;
// an IPv6 address counts by its /64.
func clientAddr(r *http.Request) string {
	addr := middleware.GetClientIP(r.Context())
	if addr == "" {
		addr, _, _ = net.SplitHostPort(r.RemoteAddr)
	}
	return httprate.CanonicalizeIP(addr)
}
