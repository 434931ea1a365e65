// Package app wires the configuration into a running server: it picks the
// upstream (the WeChat API or the built-in sandbox), the token policy, and
// serves HTTP until its context ends, then shuts down gracefully.
package app

import (
	"cmp"
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
	"sync/atomic"
	"time"

	"github.com/ordergraph/ordergraph/internal/actions"
	"github.com/ordergraph/ordergraph/internal/auth"
	"github.com/ordergraph/ordergraph/internal/config"
	"github.com/ordergraph/ordergraph/internal/family"
	"github.com/ordergraph/ordergraph/internal/httpserver"
	"github.com/ordergraph/ordergraph/internal/metrics"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/playground"
	"github.com/ordergraph/ordergraph/internal/quota"
	"github.com/ordergraph/ordergraph/internal/redisstore"
	"github.com/ordergraph/ordergraph/internal/sandbox"
	"github.com/ordergraph/ordergraph/internal/shops"
	"github.com/ordergraph/ordergraph/internal/tracing"
)

// Run runs the server until ctx ends and returns the process exit status:
// 2 for a configuration error, 1 for a failure to serve.
//
// "ordergraph healthcheck" checks a running server instead, and
// "ordergraph -version" prints the version.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	switch {
	case len(args) > 0 && args[0] == "healthcheck":
		return healthcheck(ctx, args[1:], getenv, stderr)
	case len(args) == 1 && (args[0] == "-version" || args[0] == "--version"):
		fmt.Fprintln(stdout, Version())
		return 0
	}
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
	shutdownTracing, err := tracing.Setup(ctx, getenv, tracing.WithLogger(log))
	if err != nil {
		fmt.Fprintf(stderr, "configuration error: %v\n", err)
		return 2
	}
	defer func() {
		// The spans of the last requests go out before the process does.
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdownTracing(sctx); err != nil {
			log.Warn("tracing: spans could not be flushed", slog.String("error", err.Error()))
		}
	}()
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("server stopped", slog.String("error", err.Error()))
		return 1
	}
	return 0
}

// Build assembles the server's handler for cfg. In sandbox mode it first
// starts the fake upstream; stop shuts down whatever Build started.
func Build(cfg config.Config, log *slog.Logger) (handler *Server, stop func(), err error) {
	if tracing.Enabled() {
		// Log lines written within a span name its trace.
		log = slog.New(tracing.LogHandler(log.Handler()))
	}
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
	var pf *sandbox.Platform
	switch {
	case mode == config.ModeSandbox && cfg.Provider():
		// The sandbox plays a third-party platform and its shops.
		pf = sandbox.NewPlatform(cfg.SandboxShops, 0, fam.Sandbox.Routes)
		base, stopSandbox, err := serveLoopback(pf)
		if err != nil {
			return fail(err)
		}
		closers = append(closers, stopSandbox)
		token, key := sandbox.PlatformKeys()
		cfg.Upstream.BaseURL, cfg.Component.AppID, cfg.Component.Secret, cfg.Component.Token, cfg.Component.AESKey = base, sandbox.ComponentAppID, sandbox.ComponentSecret, token, key
		log.Info("sandbox shops (pick one with the X-Shop header)", slog.Any("shops", pf.Shops()))
	case mode == config.ModeSandbox:
		sb = sandbox.New(0, fam.Sandbox.Routes)
		base, stopSandbox, err := serveLoopback(sb)
		if err != nil {
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
		// config has checked that one of these is set (the sandbox has its
		// app id by now).
		namespace := cmp.Or(cfg.RedisNamespace, cfg.AppID, cfg.Component.AppID)
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
	w := &wiring{cfg: cfg, store: store, m: m, log: log, records: actions.NewLocalRecords(), locks: actions.NewLocalLocks()}
	h := cfg.HTTP
	h.Family, h.EventBuffer = fam.Name, EventBuffer
	h.Limits.PagesLoadOrders, h.Limits.ListWindow = fam.PagesLoadOrders, fam.ListWindow
	h.Auth, h.PlaygroundQueries, h.Logger, h.Metrics = authn, playground.Queries(fam.Sandbox.ExampleOrderID, fam.Sandbox.ShippableOrderID), log, m
	if store != nil {
		h.APQCache = store.Queries(httpserver.NewAPQCache(), httpserver.MaxPersistedQueryBytes, httpserver.APQCacheBytes)
	}
	// The fan-out delivers from the moment it subscribes; the shops exist
	// once wired: an event before that has no subscriber here to reach.
	var registry atomic.Pointer[shops.Registry]
	if store != nil && w.eventsOn() {
		w.fanout = store.Events(func(shop string, ev order.Event) {
			if r := registry.Load(); r != nil {
				if s, ok := r.Held(shop); ok && s.Deliver != nil {
					s.Deliver(ev)
				}
			}
		}, log)
		closers = append(closers, w.fanout.Close)
	}
	if cfg.Provider() {
		err = w.provider(&h)
		if err == nil && pf != nil {
			// WeChat's ticket and the shops' authorizations first, then
			// each shop's orders move on and their events are pushed.
			closers = append(closers, pf.Start(h.Platform), pf.Play(sandboxPlayInterval, h.ShopPush))
			h.Console = pf.Console()
			h.PlaygroundHeaders = fmt.Sprintf(`{"%s": "%s"}`, auth.ShopHeader, pf.Shops()[0])
		}
	} else {
		err = w.single(&h, sb)
	}
	if err != nil {
		return fail(err)
	}
	closers = append(closers, w.shops.Close)
	registry.Store(w.shops)
	h.Shops = w.shops
	return &Server{Handler: httpserver.New(h), shops: w.shops, quota: w.quota}, stop, nil
}

// wrapListener is the server's listener as tests see it: theirs can give
// its connections small socket buffers, which a slow reader fills at once.
var wrapListener = func(ln net.Listener) net.Listener { return ln }

// sandboxPlayInterval is how often the sandbox moves an order on.
var sandboxPlayInterval = sandbox.PlayInterval

// EventBuffer is how many events a subscriber may fall behind before its
// subscription is ended: a burst of pushes (a batch shipment) fits.
const EventBuffer = 64

// Server is the server's handler, and what must happen when it shuts down.
type Server struct {
	http.Handler
	shops *shops.Registry
	quota *quota.Watcher // nil: quotas not watched
}

// Subscribers is how many orderEvents subscriptions are open.
func (s *Server) Subscribers() int {
	n := 0
	s.shops.Each(func(shop *shops.Shop) {
		if shop.Events != nil {
			n += shop.Events.Subscribers()
		}
	})
	return n
}

// EndSubscriptions completes every open subscription, so that clients see
// their streams end when the server begins to shut down: the HTTP drain
// does not wait for WebSocket connections.
func (s *Server) EndSubscriptions() {
	s.shops.Each(func(shop *shops.Shop) {
		if shop.Events != nil {
			shop.Events.Close()
		}
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
	ln = wrapListener(ln)
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

// serveLoopback serves the sandbox on a loopback port of its own, so the
// real HTTP client code runs against it.
func serveLoopback(sandbox http.Handler) (baseURL string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("sandbox: %w", err)
	}
	srv := &http.Server{Handler: sandbox, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
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
