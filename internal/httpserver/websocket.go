package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	coderws "github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/ordergraph/ordergraph/internal/auth"
	"github.com/ordergraph/ordergraph/internal/codes"
)

// Subscriptions over WebSocket, on /graphql: graphql-transport-ws (the
// graphql-ws library's protocol) and the legacy graphql-ws, both gqlgen's.
const (
	wsInitTimeout = 10 * time.Second
	// wsForbidden closes a connection whose connection_init credentials are
	// refused or have expired, as graphql-ws does.
	wsForbidden = 4403
)

// websocket is the WebSocket transport. Browsers cannot set headers on a
// WebSocket, so the credentials come in the connection_init payload
// (Authorization or X-API-Key, any case; X-Shop where it picks the shop)
// and are checked exactly like the HTTP headers; a connection whose upgrade carried a header may send none.
// When they expire the socket is closed with 4403. Origins are
// CORS_ORIGINS' plus the server's own.
func websocket(cfg Config) transport.Websocket {
	return transport.Websocket{
		Implementation: deadlineAccept{
			inner:   transport.CoderWebsocketImplementation{AcceptOptions: coderws.AcceptOptions{OriginPatterns: originPatterns(cfg.CORSOrigins)}},
			timeout: cfg.StreamWriteTimeout,
		},
		InitTimeout: wsInitTimeout,
		// graphql-transport-ws pings; legacy graphql-ws gets keep-alive
		// messages.
		PingPongInterval:      cfg.KeepAlive,
		KeepAlivePingInterval: cfg.KeepAlive,
		InitFunc: func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			p, err := initPrincipal(ctx, cfg.Auth, payload)
			if err != nil {
				cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "websocket refused", slog.String("reason", err.Error()))
				ctx = transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, wsForbidden), "Forbidden")
				return ctx, nil, err
			}
			if st := streamFrom(ctx); st != nil {
				st.expireAt(p.ValidUntil(), func() {
					st.closeSocket(wsForbidden, "token expired")
					st.cancel(auth.ErrExpired)
				})
			}
			return auth.WithPrincipal(ctx, p), nil, nil
		},
	}
}

// initPrincipal authenticates a connection_init payload; without
// credentials in it, the upgrade request's own stand.
func initPrincipal(ctx context.Context, a *auth.Authenticator, payload transport.InitPayload) (auth.Principal, error) {
	bearer, key, shop := payload.Authorization(), payloadValue(payload, "X-API-Key"), payloadValue(payload, auth.ShopHeader)
	if bearer == "" && key == "" && shop == "" {
		if p := auth.FromContext(ctx); p.Role != "" {
			return p, nil
		}
	}
	r, _ := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	r.Header.Set("Authorization", bearer)
	r.Header.Set("X-API-Key", key)
	r.Header.Set(auth.ShopHeader, shop)
	return a.Authenticate(r)
}

// payloadValue reads a string of the payload whatever the case of its key.
func payloadValue(p transport.InitPayload, key string) string {
	for k, v := range p {
		if s, ok := v.(string); ok && http.CanonicalHeaderKey(k) == http.CanonicalHeaderKey(key) {
			return s
		}
	}
	return ""
}

// originPatterns turns CORS origins (https://app.example.com, or *) into
// the host patterns the WebSocket library checks Origin against.
func originPatterns(origins []string) []string {
	var hosts []string
	for _, o := range origins {
		if o == "*" {
			return []string{"*"}
		}
		if u, err := url.Parse(o); err == nil && u.Host != "" {
			hosts = append(hosts, u.Host)
		}
	}
	return hosts
}

// Clock times the expiry of the credentials of open connections. Tests set
// one that moves when told, with auth.Config.Now.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// streams holds WebSocket and SSE connections to the rules of HTTP
// requests: it caps how many are open, per client and in all, and (with
// streamRules) rate limits each operation on a WebSocket in its client's
// HTTP bucket and caps the operations a connection runs at once.
type streams struct {
	cfg     Config
	limiter *rateLimiter // nil: no rate limit

	mu       sync.Mutex
	open     int
	byClient map[string]int
}

func newStreams(cfg Config, limiter *rateLimiter) *streams {
	return &streams{cfg: cfg, limiter: limiter, byClient: map[string]int{}}
}

// enter counts a connection of client in, unless it is over a cap.
func (s *streams) enter(client string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open >= s.cfg.MaxConnections || s.byClient[client] >= s.cfg.MaxConnectionsPerClient {
		return false
	}
	s.open++
	s.byClient[client]++
	return true
}

func (s *streams) leave(client string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.open--
	if s.byClient[client]--; s.byClient[client] == 0 {
		delete(s.byClient, client)
	}
}

// admit serves a WebSocket upgrade or an SSE stream as one connection,
// counted while next serves it; over a cap it answers 429. The connection's
// context ends with the connection, or earlier with a cause: its token
// expired (auth.ErrExpired) or its client stopped reading (errSlowClient).
func (s *streams) admit(ws bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := clientKey(r.Context())
		if !s.enter(client) {
			w.Header().Set("Retry-After", "1")
			writeGraphQLError(w, http.StatusTooManyRequests, codes.RateLimited, fmt.Sprintf(
				"too many open WebSocket and SSE connections: at most %d per client (MAX_CONNECTIONS_PER_CLIENT) and %d in all (MAX_CONNECTIONS); close one first",
				s.cfg.MaxConnectionsPerClient, s.cfg.MaxConnections))
			return
		}
		defer s.leave(client)
		ctx, cancel := context.WithCancelCause(r.Context())
		st := &stream{s: s, r: r, ws: ws, cancel: cancel, ops: make(chan struct{}, s.cfg.MaxOperationsPerConnection)}
		defer st.end()
		if !ws {
			// An SSE stream's credentials are its request's; a WebSocket's
			// come with connection_init.
			st.expireAt(auth.FromContext(ctx).ValidUntil(), func() { cancel(auth.ErrExpired) })
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, streamKey{}, st)))
	})
}

// errSlowClient ends a connection whose client did not take a write within
// the write timeout.
var errSlowClient = errors.New("the client did not take its data in time")

// stream is one open WebSocket or SSE connection.
type stream struct {
	s      *streams
	r      *http.Request
	ws     bool
	cancel context.CancelCauseFunc
	// ops holds a slot per operation running on the connection.
	ops chan struct{}

	mu         sync.Mutex
	socket     transport.WebsocketConn
	stopExpiry func() bool
}

type streamKey struct{}

func streamFrom(ctx context.Context) *stream {
	st, _ := ctx.Value(streamKey{}).(*stream)
	return st
}

// expireAt runs expire when the credentials stop being accepted (never for
// a zero time).
func (st *stream) expireAt(t time.Time, expire func()) {
	if t.IsZero() {
		return
	}
	stop := st.s.cfg.Clock.AfterFunc(t.Sub(st.s.cfg.Clock.Now()), expire)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.stopExpiry = stop
}

// closeSocket closes the WebSocket with code, before gqlgen closes it with
// its own 1000 as the connection's context ends.
func (st *stream) closeSocket(code int, reason string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.socket != nil {
		_ = st.socket.WriteClose(code, reason)
	}
}

// end releases what the connection held once its handler has returned.
func (st *stream) end() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.stopExpiry != nil {
		st.stopExpiry()
	}
	st.cancel(nil)
}

// streamRules is the gqlgen extension that applies the rules of HTTP to each
// operation of a WebSocket: its token must still be accepted, it counts
// against its client's rate limit, and a connection runs at most
// MaxOperationsPerConnection operations at once. A refused operation gets
// its error; the connection stays up. (An SSE stream is one HTTP request,
// already authenticated and counted.)
type streamRules struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
	graphql.OperationInterceptor
} = streamRules{}

func (streamRules) ExtensionName() string { return "StreamRules" }

func (streamRules) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationParameters checks the token and the rate limit before the
// document is parsed, as the HTTP middleware does for a request.
func (streamRules) MutateOperationParameters(ctx context.Context, _ *graphql.RawParams) *gqlerror.Error {
	st := streamFrom(ctx)
	if st == nil || !st.ws {
		return nil
	}
	if until := auth.FromContext(ctx).ValidUntil(); !until.IsZero() && !st.s.cfg.Clock.Now().Before(until) {
		return codedError(codes.Unauthenticated, "the token of this connection expired; connect again with a fresh one")
	}
	rl := st.s.limiter
	over, rate := rl.over(headerSink(http.Header{}), st.r.WithContext(ctx))
	if rl != nil {
		graphql.GetOperationContext(ctx).Stats.SetExtension(rateStatsKey, rate)
	}
	if over {
		return codedError(codes.RateLimited, rl.refusal("requests and WebSocket operations"))
	}
	return nil
}

// InterceptOperation holds one of the connection's operation slots for as
// long as the operation runs.
func (streamRules) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	st := streamFrom(ctx)
	if st == nil {
		return next(ctx)
	}
	select {
	case st.ops <- struct{}{}:
	default:
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{codedError(codes.RateLimited, fmt.Sprintf(
			"too many operations at once on this connection: at most %d (MAX_OPERATIONS_PER_CONNECTION); complete one first", cap(st.ops)))}})
	}
	release := sync.OnceFunc(func() { <-st.ops })
	stop := context.AfterFunc(ctx, release)
	respond := next(ctx)
	return func(ctx context.Context) *graphql.Response {
		resp := respond(ctx)
		if resp == nil {
			stop()
			release()
		}
		return resp
	}
}

func codedError(code codes.Code, msg string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": string(code)}}
}

// headerSink takes the rate limiter's response headers for an operation on
// a WebSocket, which has no HTTP response of its own.
type headerSink http.Header

func (h headerSink) Header() http.Header { return http.Header(h) }

func (headerSink) Write(b []byte) (int, error) { return len(b), nil }

func (headerSink) WriteHeader(int) {}

// deadlineAccept accepts WebSockets whose writes have a deadline: gqlgen's
// adapter writes without one, so a client that stops reading would hold
// its connection, goroutines and subscriptions for ever.
type deadlineAccept struct {
	inner   transport.WebsocketImplementation
	timeout time.Duration
}

func (a deadlineAccept) Accept(w http.ResponseWriter, r *http.Request, options transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	conn, err := a.inner.Accept(w, r, options)
	if err != nil {
		return nil, err
	}
	dc := deadlineConn{WebsocketConn: conn, timeout: a.timeout}
	if st := streamFrom(r.Context()); st != nil {
		st.mu.Lock()
		st.socket = dc
		st.mu.Unlock()
	}
	return dc, nil
}

// deadlineConn is a WebSocket whose every write ends within the timeout:
// one that does not closes the connection, which fails the write, ends the
// read loop and with it every operation on the connection.
type deadlineConn struct {
	transport.WebsocketConn
	timeout time.Duration
}

var _ interface {
	transport.WebsocketReadLimiter
	transport.WebsocketReadDeadliner
} = deadlineConn{}

func (c deadlineConn) WriteJSON(v any) error {
	t := time.AfterFunc(c.timeout, func() { _ = c.Close() })
	defer t.Stop()
	return c.WebsocketConn.WriteJSON(v)
}

func (c deadlineConn) SetReadLimit(limit int64) {
	if l, ok := c.WebsocketConn.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(limit)
	}
}

func (c deadlineConn) SetReadDeadline(t time.Time) error {
	if d, ok := c.WebsocketConn.(transport.WebsocketReadDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return nil
}

// sseWriter is an SSE stream's response. Each write has the write timeout
// as its deadline, and one that fails or takes that long ends the stream.
// Nothing is written once the handler has returned: gqlgen's keep-alive
// goroutine outlives it, and flushing a finished response panics in
// net/http, taking the process down.
type sseWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	fail    func()

	mu   sync.Mutex
	done bool
}

func (s *sseWriter) Write(p []byte) (n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return 0, errStreamEnded
	}
	s.timed(func() error {
		n, err = s.ResponseWriter.Write(p)
		return err
	})
	return n, err
}

func (s *sseWriter) Flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done {
		s.timed(s.rc.Flush)
	}
}

// timed runs write under the deadline. The flush of chi's writer reports no
// error, so a write that took the whole timeout counts as failed.
func (s *sseWriter) timed(write func() error) {
	start := time.Now()
	_ = s.rc.SetWriteDeadline(start.Add(s.timeout))
	if err := write(); err != nil || time.Since(start) >= s.timeout {
		s.fail()
	}
}

// end stops all writing, waiting for one in progress.
func (s *sseWriter) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
}

// Unwrap lets http.ResponseController reach the connection underneath.
func (s *sseWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

var errStreamEnded = errors.New("the stream has ended")

// sse serves an SSE stream through an sseWriter.
func sse(next http.Handler, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := streamFrom(r.Context())
		sw := &sseWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: timeout, fail: func() { st.cancel(errSlowClient) }}
		defer sw.end()
		next.ServeHTTP(sw, r)
	})
}
