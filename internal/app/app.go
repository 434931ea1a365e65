// Package app wires the configuration into a running server: it picks the
// upstream (the WeChat API or the built-in sandbox), the token policy, and
// serves HTTP until its context ends, then shuts down gracefully.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/ordergraph/ordergraph/internal/actions"
	"github.com/ordergraph/ordergraph/internal/auth"
	"github.com/ordergraph/ordergraph/internal/coalesce"
	"github.com/ordergraph/ordergraph/internal/config"
	"github.com/ordergraph/ordergraph/internal/events"
	"github.com/ordergraph/ordergraph/internal/family"
	"github.com/ordergraph/ordergraph/internal/httpserver"
	"github.com/ordergraph/ordergraph/internal/metrics"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/ordercache"
	"github.com/ordergraph/ordergraph/internal/playground"
	"github.com/ordergraph/ordergraph/internal/poller"
	"github.com/ordergraph/ordergraph/internal/redisstore"
	"github.com/ordergraph/ordergraph/internal/sandbox"
	"github.com/ordergraph/ordergraph/internal/token"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wxpush"
)

// Run runs the server until ctx ends and returns the process exit status:
// 2 for a configuration error, 1 for a failure to serve.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := config.Load(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0 // the flag package has printed the usage
	}
	if err != nil {
		fmt.Fprintf(stderr, "configuration error: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	stdlog.SetFlags(0)
	stdlog.SetOutput(httpserver.LibraryLog(log))
	tuneRuntime(log)
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("server stopped", slog.String("error", err.Error()))
		return 1
	}
	return 0
}

// Build assembles the server's handler for cfg. In sandbox mode it first
// starts the fake upstream; stop shuts down whatever Build started.
func Build(cfg config.Config, log *slog.Logger) (handler *Server, stop func(), err error) {
	mode := cfg.Mode()
	var closers []func()
	stop = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	fail := func(err error) (*Server, func(), error) { stop(); return nil, nil, err }

	fam := cfg.Family
	var sb *sandbox.Sandbox
	if mode == config.ModeSandbox {
		var base string
		var stopSandbox func()
		if sb, base, stopSandbox, err = startSandbox(fam.Sandbox.Routes); err != nil {
			return fail(err)
		}
		closers = append(closers, stopSandbox)
		cfg.Upstream.BaseURL, cfg.AppID, cfg.AppSecret = base, sandbox.AppID, sandbox.Secret
		if fam.Changes == family.Pushed && cfg.Push.Token == "" {
			// The sandbox pushes events as WeChat would (see Sandbox.Play).
			cfg.Push.Token, cfg.Push.AESKey = sandbox.PushKeys()
		}
	}
	var store *redisstore.Store
	if cfg.RedisURL != "" {
		// config has checked that one of the two is set (the sandbox has
		// its app id by now).
		namespace := cfg.RedisNamespace
		if namespace == "" {
			namespace = cfg.AppID
		}
		open := redisstore.Open
		if cfg.RedisCluster {
			open = redisstore.OpenCluster
		}
		if store, err = open(cfg.RedisURL, namespace); err != nil {
			return fail(fmt.Errorf("REDIS_URL: %w", err))
		}
		closers = append(closers, func() { _ = store.Close() })
	}
	// The sandbox's orders are made up: anyone may act on them.
	cfg.Auth.AnonymousWrites = mode == config.ModeSandbox
	authn, err := auth.New(cfg.Auth)
	if err != nil {
		return fail(err)
	}
	if !authn.Enabled() && mode != config.ModeSandbox {
		log.Warn("AUTH_MODE=none with ALLOW_ANONYMOUS=true: anyone who can reach this server reads every order")
	}
	if cfg.HTTP.CursorSecret == "" && mode != config.ModeSandbox {
		log.Warn("CURSOR_SECRET is not set: list cursors are keyed for this process alone, so they do not survive a restart or work on another replica")
	}

	m := metrics.New()
	cfg.Upstream.Logger, cfg.Upstream.Metrics = log, m
	if store != nil && cfg.Upstream.RateLimit > 0 {
		cfg.Upstream.Limiter = store.UpstreamLimiter(cfg.Upstream.RateLimit, log)
	}
	transport := wechat.NewTransport(cfg.Upstream)
	tokens := tokenSource(cfg, transport, store, m, log)
	upstream := fam.Build(wechat.NewClient(transport, tokens))
	h := cfg.HTTP
	source := orderSource(cfg.OrderCache, upstream.Orders, store, m, log)
	h.Source = source
	h.AfterSales, h.Lists, h.Family = upstream.AfterSales, upstream.Lists, fam.Name
	h.Actions = actionService(upstream, source, store, m, log)
	h.Limits.PagesLoadOrders, h.Limits.ListWindow = fam.PagesLoadOrders, fam.ListWindow
	h.Auth, h.PlaygroundQueries, h.Logger, h.Metrics = authn, playground.Queries(fam.Sandbox.ExampleOrderID, fam.Sandbox.ShippableOrderID), log, m
	h.Ready = func(ctx context.Context) error {
		_, err := tokens.Token(ctx)
		return err
	}
	h.Report = func(ctx context.Context) []string {
		lines := []string{"upstream breaker: " + transport.BreakerState()}
		if store == nil {
			return lines
		}
		if err := store.Ping(ctx); err != nil {
			return append(lines, "redis: unreachable; serving with process-local state")
		}
		return append(lines, "redis: ok")
	}
	if store != nil {
		h.APQCache = store.Queries(httpserver.NewAPQCache(), httpserver.MaxPersistedQueryBytes, httpserver.APQCacheBytes)
	}
	polling := fam.Changes == family.Polled && cfg.Poll.Interval > 0
	if cfg.Push.Token != "" || polling {
		ecfg := cfg.Events
		ecfg.Metrics, ecfg.Logger = m, log
		h.Events, h.EventBuffer = events.NewBus(h.Source, ecfg), EventBuffer
		closers = append(closers, h.Events.Close)
		var publisher events.Publisher = events.Local{Bus: h.Events, Forget: source, Logger: log}
		if store != nil {
			local := publisher // one shop: every event on the channel is its
			fanout := store.Events(func(_ string, ev order.Event) { local.Publish(ev) }, log)
			closers = append(closers, fanout.Close)
			publisher = fanout.Publisher("")
		}
		var push *wxpush.Handler
		if cfg.Push.Token != "" {
			if push, err = pushHandler(cfg, publisher, store, m, log); err != nil {
				return fail(err)
			}
			h.Push = push
		}
		if polling {
			closers = append(closers, startPoller(cfg, upstream.Lists, publisher, store, log))
		}
		if sb != nil {
			closers = append(closers, sb.Play(sandboxPlayInterval, push))
		}
	}
	return &Server{Handler: httpserver.New(h), events: h.Events}, stop, nil
}

// sandboxPlayInterval is how often the sandbox moves an order on.
var sandboxPlayInterval = sandbox.PlayInterval

// EventBuffer is how many events a subscriber may fall behind before its
// subscription is ended: a burst of pushes (a batch shipment) fits.
const EventBuffer = 64

// Server is the server's handler, and what must happen when it shuts down.
type Server struct {
	http.Handler
	events *events.Bus
}

// Subscribers is how many orderEvents subscriptions are open.
func (s *Server) Subscribers() int {
	if s.events == nil {
		return 0
	}
	return s.events.Subscribers()
}

// EndSubscriptions completes every open subscription, so that clients see
// their streams end when the server begins to shut down: the HTTP drain
// does not wait for WebSocket connections.
func (s *Server) EndSubscriptions() {
	if s.events != nil {
		s.events.Close()
	}
}

// startPoller polls the Mini Shop for changes, one replica at a time when
// Redis is set, until stopped.
func startPoller(cfg config.Config, lists order.Lister, publisher events.Publisher, store *redisstore.Store, log *slog.Logger) (stop func()) {
	var lease poller.Lease
	var memory poller.Memory = poller.NewLocalMemory(time.Now)
	if store != nil {
		lease, memory = store.PollLease(log), store.PollMemory(log)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		poller.New(cfg.Poll, lists, lease, memory, publisher.Publish, log).Run(ctx)
	}()
	return func() { cancel(); <-done }
}

// pushHandler takes the WeChat Store's pushed events (config has checked
// the settings), deduped across the fleet when Redis is set, and hands
// each to publisher: this process's subscribers, or with Redis every
// replica's.
func pushHandler(cfg config.Config, publisher events.Publisher, store *redisstore.Store, m *metrics.Metrics, log *slog.Logger) (*wxpush.Handler, error) {
	crypter, err := wxpush.NewCrypter(cfg.Push.Token, cfg.Push.AESKey, cfg.AppID)
	if err != nil {
		return nil, fmt.Errorf("WECHAT_PUSH_AES_KEY %w", err)
	}
	var seen wxpush.Seen = wxpush.NewLocalSeen(wxpush.RetryWindow, wxpush.ProcessingTimeout, cfg.Push.Now)
	if store != nil {
		seen = store.PushSeen(wxpush.RetryWindow, wxpush.ProcessingTimeout, log)
	}
	return wxpush.NewHandler(cfg.Push, crypter, publisher.Publish, seen, log, m), nil
}

// tokenSource is the configured token policy: a static token as given, or
// tokens fetched with the app's credentials, shared through Redis if set.
func tokenSource(cfg config.Config, transport *wechat.Transport, store *redisstore.Store, m *metrics.Metrics, log *slog.Logger) wechat.TokenSource {
	if cfg.AccessToken != "" {
		return token.Static(cfg.AccessToken)
	}
	tcfg := cfg.Token
	tcfg.Metrics, tcfg.Logger = m, log
	if store != nil {
		tcfg.Shared = store.Tokens()
	}
	appID, secret := cfg.AppID, cfg.AppSecret
	return token.NewManager(func(ctx context.Context, force bool) (string, time.Duration, error) {
		return transport.StableToken(ctx, appID, secret, force)
	}, tcfg)
}

// orderSource stacks what sits between the per-request loader and the
// upstream: the optional order cache (in Redis if set), then coalescing.
// Order events make it forget their orders.
func orderSource(cache ordercache.Config, upstream order.Source, store *redisstore.Store, m *metrics.Metrics, log *slog.Logger) interface {
	order.Source
	order.Forgetter
} {
	src := coalesce.New(upstream, m, log)
	if cache.TTL <= 0 {
		return src
	}
	var backend ordercache.Backend = ordercache.NewLocal(cache)
	if store != nil {
		backend = store.Orders(cache.TTL)
	}
	return ordercache.New(src, backend, m)
}

// actionService runs order actions: writes through the family, read-backs
// straight from it (never the cache or a shared fetch), and the cache told
// to forget what was written; idempotency records and order locks in Redis
// when it is set, so that the fleet agrees.
func actionService(upstream family.Upstream, cache order.Forgetter, store *redisstore.Store, m *metrics.Metrics, log *slog.Logger) *actions.Service {
	var records actions.Records = actions.NewLocalRecords()
	var locks actions.Locks = actions.NewLocalLocks()
	if store != nil {
		records, locks = store.ActionRecords(), store.ActionLocks()
	}
	return actions.New(actions.DefaultConfig(), actions.Deps{
		Writer: upstream.Writes, Orders: upstream.Orders, AfterSales: upstream.AfterSales, Forget: cache,
		Records: records, Locks: locks, Logger: log, Metrics: m,
	})
}

func serve(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	handler, stop, err := Build(cfg, log)
	if err != nil {
		return err
	}
	defer stop()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("ADDR %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		// Long enough for a call with all its attempts, twice (a refused
		// token is refreshed and the call made again), and the token fetches.
		WriteTimeout: time.Duration(2*(1+cfg.Upstream.Retries))*cfg.Upstream.Timeout + 30*time.Second,
		IdleTimeout:  120 * time.Second,
		// Requests carry a few short headers; a client-chosen X-Request-Id
		// ends up in the logs, so keep headers small.
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if cfg.AdminAddr != "" {
		stopAdmin, err := startAdmin(cfg.AdminAddr, log)
		if err != nil {
			return err
		}
		defer stopAdmin()
	}
	// Last: "listening on" tells whoever waits for it that all is up.
	announce(log, cfg.Mode(), cfg.Family.Name, cfg.HTTP.Playground, ln.Addr())

	srv.RegisterOnShutdown(handler.EndSubscriptions)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", slog.String("grace", cfg.ShutdownTimeout.String()))
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		if !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("graceful shutdown: %w", err)
		}
		// What is still open is a client that does not take its data: the
		// streams were completed at once, and every other request had
		// SHUTDOWN_TIMEOUT. It is not the server's failure.
		log.Warn("connections still open after SHUTDOWN_TIMEOUT are closed", slog.String("grace", cfg.ShutdownTimeout.String()))
		_ = srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// startSandbox serves the fake upstream on a loopback port of its own, so
// the real HTTP client code runs against it.
func startSandbox(routes sandbox.Routes) (sb *sandbox.Sandbox, baseURL string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, fmt.Errorf("sandbox: %w", err)
	}
	sb = sandbox.New(0, routes)
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return sb, "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// startAdmin serves pprof on its own listener, so profiling is reachable
// only where the operator bound it (typically loopback), never on ADDR.
func startAdmin(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ADMIN_ADDR %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("pprof admin listener on http://"+ln.Addr().String()+"/debug/pprof/", slog.String("admin_addr", ln.Addr().String()))
	return func() { _ = srv.Close() }, nil
}

func announce(log *slog.Logger, mode config.Mode, family string, playground bool, addr net.Addr) {
	host, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	base := "http://" + net.JoinHostPort(host, port)
	attrs := []any{slog.String("mode", string(mode)), slog.String("family", family), slog.String("graphql", base+"/graphql")}
	if playground {
		attrs = append(attrs, slog.String("playground", base+"/"))
	}
	if mode == config.ModeSandbox {
		log.Warn("SANDBOX MODE: serving made-up orders from the built-in fake upstream; set WECHAT_APP_ID and WECHAT_APP_SECRET for real orders", attrs...)
	}
	log.Info("listening on "+base, attrs...)
}
