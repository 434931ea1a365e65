// Package httpserver assembles the public HTTP surface: the GraphQL endpoint
// (GET and POST per GraphQL-over-HTTP, subscriptions over WebSocket on it
// and over server-sent events on /graphql/stream), the WeChat Store's push
// endpoint, the GraphiQL playground, health and readiness probes and
// metrics, and the middleware requests pass through (request id, client
// address, trace span, structured request log, panic recovery, security
// headers; on /graphql also CORS, authentication, the per-client rate limit
// and the body limit).
package httpserver

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/ordergraph/ordergraph/graph"
	"github.com/ordergraph/ordergraph/internal/auth"
	"github.com/ordergraph/ordergraph/internal/budget"
	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/listing"
	"github.com/ordergraph/ordergraph/internal/loader"
	"github.com/ordergraph/ordergraph/internal/metrics"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/playground"
	"github.com/ordergraph/ordergraph/internal/shops"
	"github.com/ordergraph/ordergraph/internal/tracing"
)

// Config is what the HTTP surface needs. The settings come first; the rest
// is wiring that app.Build fills in.
type Config struct {
	// MaxIDs caps orders(ids:) (MAX_IDS_PER_QUERY).
	MaxIDs int
	// MaxBodyBytes caps a POST body; larger ones answer 413 (MAX_BODY_BYTES).
	MaxBodyBytes int64
	// Limits bound each document before execution (see graph.Limits).
	Limits graph.Limits
	// MaxTokens bounds the lexical tokens of a document (MAX_QUERY_TOKENS).
	MaxTokens int
	// Playground serves GraphiQL at /.
	Playground bool
	// Introspection answers __schema and __type queries.
	Introspection bool
	// RateLimit is requests per RateLimitWindow per client (0: off).
	RateLimit       int
	RateLimitWindow time.Duration
	// CORSOrigins may call from browsers; empty: no cross-origin access.
	CORSOrigins []string
	// TrustedProxies are CIDRs whose X-Forwarded-For names the client.
	TrustedProxies []string
	// TrustedDocuments, when set, are the only operations callers without
	// the merchant role may run (TRUSTED_DOCUMENTS); TrustedDocumentsOnly
	// holds merchants to them too.
	TrustedDocuments     *TrustedDocuments
	TrustedDocumentsOnly bool
	// Loader configures the per-operation dataloader.
	Loader loader.Config
	// MaxOperationsPerConnection caps the operations one WebSocket runs at
	// once (MAX_OPERATIONS_PER_CONNECTION).
	MaxOperationsPerConnection int
	// MaxConnectionsPerClient and MaxConnections cap the WebSocket and SSE
	// connections open for one client and in all (MAX_CONNECTIONS_PER_CLIENT,
	// MAX_CONNECTIONS).
	MaxConnectionsPerClient int
	MaxConnections          int
	// StreamWriteTimeout is how long a WebSocket or SSE client may take to
	// accept one write before it is disconnected. Not a setting: a client
	// that cannot take a message in 10 s is gone; tests shorten it.
	StreamWriteTimeout time.Duration
	// KeepAlive is how often idle WebSockets and SSE streams are pinged;
	// proxies must allow idle connections longer. Tests shorten it.
	KeepAlive time.Duration
	// Clock times the expiry of open connections' tokens; nil: the real one.
	Clock Clock

	// Shops finds the shop of each operation, from its caller's
	// credential; every order, list, action and event comes from it.
	Shops *shops.Registry
	// Family names the upstream family, which every list cursor is bound to.
	Family string
	// CursorSecret keys list cursors (CURSOR_SECRET); replicas that share
	// it take each other's cursors. Empty: a key of this process alone.
	CursorSecret string
	// APQCache remembers persisted queries; nil: NewAPQCache, in process
	// memory.
	APQCache graphql.Cache[string]
	// Auth verifies callers; nil accepts everyone as a merchant.
	Auth *auth.Authenticator
	// PlaygroundQueries are the queries GraphiQL opens with, a tab each,
	// with PlaygroundHeaders (JSON; "" for none) in their header editor.
	PlaygroundQueries []string
	PlaygroundHeaders string
	// Ready reports whether the server can serve orders; nil means always.
	Ready func(context.Context) error
	// Report adds informational lines to /readyz (such as Redis health).
	Report func(context.Context) []string
	// EventBuffer is how many events a subscriber may fall behind before
	// its subscription is ended.
	EventBuffer int
	// Push, when set, serves the WeChat Store's message push at
	// /wechat/events, outside client authentication and the client rate
	// limit: WeChat signs its calls instead, and the handler limits its
	// own rate.
	Push http.Handler
	// ShopPush, in provider mode, serves each shop's message push at
	// ShopPushPath, and Platform the third-party platform's authorization
	// events at PlatformPath: WeChat signs both.
	ShopPush, Platform http.Handler
	// Console, in the sandbox's provider mode, lets anyone revoke and
	// authorize its shops (under /sandbox/).
	Console http.Handler
	Logger  *slog.Logger
	Metrics *metrics.Metrics
}

// DefaultConfig holds the HTTP surface's settings unless told otherwise.
// The rate limit is on by default; a zero RateLimit switches it off.
func DefaultConfig() Config {
	return Config{
		MaxIDs:          100,
		MaxBodyBytes:    1 << 20,
		Limits:          graph.DefaultLimits(),
		MaxTokens:       2000,
		RateLimit:       600,
		RateLimitWindow: time.Minute,
		Loader:          loader.DefaultConfig(),

		MaxOperationsPerConnection: 16,
		MaxConnectionsPerClient:    16,
		MaxConnections:             10_000,
		StreamWriteTimeout:         10 * time.Second,
		KeepAlive:                  15 * time.Second,
	}
}

// New returns the server's root handler. Zero limits take their default.
func New(cfg Config) http.Handler {
	def := DefaultConfig()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = def.MaxBodyBytes
	}
	if cfg.MaxIDs <= 0 {
		cfg.MaxIDs = def.MaxIDs
	}
	if l := cfg.Limits; l.MaxCost == 0 && l.MaxDepth == 0 && l.MaxAliases == 0 {
		cfg.Limits = def.Limits
		cfg.Limits.PagesLoadOrders, cfg.Limits.ListWindow = l.PagesLoadOrders, l.ListWindow
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = def.MaxTokens
	}
	if cfg.Auth == nil {
		cfg.Auth, _ = auth.New(auth.Config{})
	}
	if cfg.MaxOperationsPerConnection <= 0 {
		cfg.MaxOperationsPerConnection = def.MaxOperationsPerConnection
	}
	if cfg.MaxConnectionsPerClient <= 0 {
		cfg.MaxConnectionsPerClient = def.MaxConnectionsPerClient
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = def.MaxConnections
	}
	if cfg.StreamWriteTimeout <= 0 {
		cfg.StreamWriteTimeout = def.StreamWriteTimeout
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = def.KeepAlive
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.APQCache == nil {
		cfg.APQCache = NewAPQCache()
	}
	cfg.Loader.Logger, cfg.Loader.Metrics = cfg.Logger, cfg.Metrics

	r := chi.NewRouter()
	r.Use(middleware.RequestID, clientIP(cfg.TrustedProxies), traced, requestLog(cfg.Logger, cfg.Metrics), recoverer(cfg.Logger), securityHeaders)
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { writeText(w, http.StatusOK, "ok") })
	r.Get("/readyz", readyz(cfg.Ready, cfg.Report))
	if cfg.Metrics != nil {
		r.Handle("/metrics", cfg.Metrics.Handler())
	}
	if cfg.Push != nil {
		r.Get(PushPath, cfg.Push.ServeHTTP)
		r.Post(PushPath, cfg.Push.ServeHTTP)
	}
	if cfg.ShopPush != nil {
		r.Get(ShopPushPath, cfg.ShopPush.ServeHTTP)
		r.Post(ShopPushPath, cfg.ShopPush.ServeHTTP)
	}
	if cfg.Platform != nil {
		r.Post(PlatformPath, cfg.Platform.ServeHTTP)
	}
	if cfg.Console != nil {
		r.Mount("/sandbox/", cfg.Console)
	}

	gql, stream := graphQL(cfg, transport.GET{}, post{}, websocket(cfg)), graphQL(cfg, transport.SSE{KeepAlivePingInterval: cfg.KeepAlive})
	lift := func(next http.Handler) http.Handler { return next }
	if cfg.TrustedDocuments != nil {
		lift = liftDocumentID
	}
	limiter := newRateLimiter(cfg.RateLimit, cfg.RateLimitWindow)
	open := newStreams(cfg, limiter)
	upgrade := open.admit(true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A WebSocket outlives the server's read and write timeouts, which
		// would otherwise close it after seconds; its writes have deadlines
		// of their own (deadlineConn).
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Time{})
		_ = rc.SetWriteDeadline(time.Time{})
		gql.ServeHTTP(w, r)
	}))
	r.Route("/graphql", func(r chi.Router) {
		r.Use(corsFor(cfg.CORSOrigins), authenticate(cfg.Auth, cfg.Logger), rateLimit(limiter), requireAuth)
		// graphql-sse's distinct-connections mode, on a path of its own: on
		// /graphql, urql's Accept header would send every query there. It
		// streams, so it bypasses specResponse's rewriting.
		r.With(limitBody(cfg.MaxBodyBytes), lift).Post("/stream", open.admit(false, sse(stream, cfg.StreamWriteTimeout)).ServeHTTP)
		r.Group(func(r chi.Router) {
			r.Use(specResponse)
			r.With(limitBody(cfg.MaxBodyBytes), lift).Post("/", gql.ServeHTTP)
			r.With(lift).Get("/", func(w http.ResponseWriter, r *http.Request) {
				if isUpgrade(r) {
					upgrade.ServeHTTP(w, r)
					return
				}
				gql.ServeHTTP(w, r)
			})
		})
	})
	if cfg.Playground {
		r.Handle("/", playground.Handler("Orders GraphQL", "/graphql", cfg.PlaygroundHeaders, cfg.PlaygroundQueries...))
		r.Handle(playground.AssetsPath+"*", playground.Assets())
	}
	return r
}

// Where WeChat posts: the WeChat Store console's push URL (PushPath); in
// provider mode the platform's message URL, with $APPID$ for {appid}
// (ShopPushPath), and its authorization event URL (PlatformPath).
const (
	PushPath     = "/wechat/events"
	ShopPushPath = "/wechat/events/{appid}"
	PlatformPath = "/wechat/component/events"
)

// graphQL builds a gqlgen handler with the given transports and the
// server's extensions.
func graphQL(cfg Config, transports ...graphql.Transport) *handler.Server {
	schema := graph.NewExecutableSchema(graph.Config{Resolvers: &graph.Resolver{MaxIDs: cfg.MaxIDs, Family: cfg.Family, Cursors: listing.NewCursors([]byte(cfg.CursorSecret)), PagesLoadOrders: cfg.Limits.PagesLoadOrders, EventBuffer: cfg.EventBuffer}})
	srv := handler.New(schema)
	for _, t := range transports {
		srv.AddTransport(t)
	}
	srv.SetQueryCache(smallOnly[*ast.QueryDocument]{lru.New[*ast.QueryDocument](1000)})
	srv.SetParserTokenLimit(cfg.MaxTokens)
	// First: a socket's operations are rate limited and their token checked
	// before anything else answers them, as HTTP's middleware does.
	srv.Use(streamRules{})
	srv.AroundResponses(limitExtensions)
	if tracing.Enabled() {
		// Only then: a field interceptor costs a call on every field
		// that is not plain (see cmd/graphgen).
		srv.Use(traceOperations{})
	}
	if cfg.TrustedDocuments != nil {
		// Before persistedQueries, whose parameters it may set.
		srv.Use(trustedOnly{docs: cfg.TrustedDocuments, all: cfg.TrustedDocumentsOnly})
	}
	srv.Use(graph.IntrospectionPolicy{Enabled: cfg.Introspection})
	srv.Use(graph.WritePolicy{})
	srv.Use(cfg.Limits)
	// Last: it remembers a document once everything above has passed it.
	srv.Use(persistedQueries{cache: cfg.APQCache})
	srv.SetErrorPresenter(graph.ErrorPresenter(cfg.Logger))
	srv.SetRecoverFunc(graph.Recover(cfg.Logger))
	srv.Use(graph.StreamErrors{})
	// Fresh loaders and a fresh budget for every response: a query's one,
	// and each event of a subscription, whose nested fields (an order's
	// after-sale orders) must not be answered from what an earlier event
	// loaded, and may spend what the subscription's cost charged per event.
	srv.AroundResponses(func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		if cost, aftersales, ok := graph.Cost(ctx); ok {
			ctx = budget.With(ctx, cost, aftersales)
		}
		shop := shops.From(ctx)
		if shop == nil {
			// A request refused before its operation began: nothing loads.
			return next(ctx)
		}
		return next(loader.With(ctx, loader.New(shop.Orders, shop.AfterSales, cfg.Loader)))
	})
	srv.AroundOperations(func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		// The caller's shop, from its credential alone (auth checked it).
		shop, err := cfg.Shops.Get(auth.FromContext(ctx).Shop)
		if err != nil {
			return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{codedError(codes.UpstreamUnavailable, err.Error())}})
		}
		ctx = shops.With(ctx, shop)
		start := time.Now()
		oc := graphql.GetOperationContext(ctx)
		name := oc.OperationName
		if name == "" && oc.Operation != nil {
			name = oc.Operation.Name
		}
		if info := infoFrom(ctx); info != nil {
			info.setOperation(name)
		}
		respond := next(ctx)
		return func(ctx context.Context) *graphql.Response {
			resp := respond(ctx)
			cfg.Metrics.Operation(name, time.Since(start))
			return resp
		}
	})
	return srv
}

func readyz(ready func(context.Context) error, report func(context.Context) []string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		status, text := http.StatusOK, "ready"
		if ready != nil {
			if err := ready(ctx); err != nil {
				status, text = http.StatusServiceUnavailable, "not ready: "+string(order.ErrorCode(err))
				if e := (*order.Error)(nil); errors.As(err, &e) {
					// Its message is written for clients: it holds no secret.
					text += ": " + e.Message
				}
			}
		}
		if report != nil {
			text = strings.Join(append([]string{text}, report(ctx)...), "\n")
		}
		writeText(w, status, text)
	}
}

func writeText(w http.ResponseWriter, status int, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(s + "\n"))
}
