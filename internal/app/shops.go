package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ordergraph/ordergraph/internal/actions"
	"github.com/ordergraph/ordergraph/internal/auth"
	"github.com/ordergraph/ordergraph/internal/coalesce"
	"github.com/ordergraph/ordergraph/internal/component"
	"github.com/ordergraph/ordergraph/internal/config"
	"github.com/ordergraph/ordergraph/internal/events"
	"github.com/ordergraph/ordergraph/internal/family"
	"github.com/ordergraph/ordergraph/internal/httpserver"
	"github.com/ordergraph/ordergraph/internal/metrics"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/ordercache"
	"github.com/ordergraph/ordergraph/internal/pagecache"
	"github.com/ordergraph/ordergraph/internal/poller"
	"github.com/ordergraph/ordergraph/internal/quota"
	"github.com/ordergraph/ordergraph/internal/redisstore"
	"github.com/ordergraph/ordergraph/internal/sandbox"
	"github.com/ordergraph/ordergraph/internal/shops"
	"github.com/ordergraph/ordergraph/internal/token"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wxpush"
)

// wiring is what every shop's pieces are built from.
type wiring struct {
	cfg   config.Config
	store *redisstore.Store // nil: process-local state
	m     *metrics.Metrics
	log   *slog.Logger
	// records and locks are the process's when there is no Redis, for
	// every shop (keyed by shop), so that forgetting a shop never forgets
	// an action in flight.
	records actions.Records
	locks   actions.Locks
	fanout  *redisstore.EventFanout // nil: events stay in this process
	shops   *shops.Registry
	quota   *quota.Watcher // nil: quotas not watched
}

// eventsOn says whether shops have order events: pushed, or polled.
func (w *wiring) eventsOn() bool {
	if w.cfg.Family.Changes == family.Polled {
		return w.cfg.Poll.Interval > 0
	}
	return w.cfg.Push.Token != "" || w.cfg.Provider()
}

// single wires the server of one shop: its own token, its push at
// /wechat/events.
func (w *wiring) single(h *httpserver.Config, sb *sandbox.Sandbox) error {
	transport := wechat.NewTransport(w.limited(w.store))
	tokens := w.tokenSource(transport)
	shop := w.shop("", tokens, transport, w.store)
	w.shops = shops.One(shop)
	h.Ready = func(ctx context.Context) error {
		_, err := tokens.Token(ctx)
		return err
	}
	h.Report = w.report(func() []string { return []string{"upstream breaker: " + transport.BreakerState()} })
	if w.cfg.QuotaWatch > 0 {
		w.quota = w.quotaWatcher(transport, tokens)
		shop.Close = chain(w.quota.Start(), shop.Close)
	}
	if w.cfg.Push.Token != "" {
		crypter, err := wxpush.NewCrypter(w.cfg.Push.Token, w.cfg.Push.AESKey, w.cfg.AppID)
		if err != nil {
			return fmt.Errorf("WECHAT_PUSH_AES_KEY %w", err)
		}
		push := wxpush.NewHandler(w.cfg.Push, crypter, shop.Publish, w.pushSeen(), w.log, w.m)
		h.Push = push
		if sb != nil {
			stop := sb.Play(sandboxPlayInterval, push)
			shop.Close = chain(stop, shop.Close)
		}
	} else if sb != nil && shop.Events != nil {
		stop := sb.Play(sandboxPlayInterval, nil)
		shop.Close = chain(stop, shop.Close)
	}
	return nil
}

// provider wires a third-party platform: its events and token chain, and
// a Shop per authorized shop, built on the shop's first request.
func (w *wiring) provider(h *httpserver.Config) error {
	root := wechat.NewTransport(w.cfg.Upstream)
	var shared component.Store
	if w.store != nil {
		shared = w.store.Component()
	}
	c := w.cfg.Component
	platform, err := component.New(component.Config{
		ComponentAppID: c.AppID, ComponentSecret: c.Secret, Token: c.Token, AESKey: c.AESKey,
		Transport: root, Store: shared, Logger: w.log,
	})
	if err != nil {
		return err
	}
	w.shops = shops.New(w.cfg.MaxActiveShops, func(id string) *shops.Shop {
		var store *redisstore.Store
		if w.store != nil {
			store = w.store.Shop(id)
		}
		shop := w.shop(id, platform.ShopTokens(id), root.ForShop(id, w.limiter(store)), store)
		// A shop forgotten here keeps no token in this process either.
		shop.Close = chain(shop.Close, func() { platform.Forget(id) })
		return shop
	})
	h.Platform = wxpush.Limited(w.cfg.Push, platform)
	h.Ready = func(context.Context) error { return platform.Ready() }
	h.Report = w.report(func() []string {
		return []string{fmt.Sprintf("shops held by this process: %d (MAX_ACTIVE_SHOPS %d)", w.shops.Active(), w.cfg.MaxActiveShops)}
	})
	crypter, err := wxpush.NewCrypter(c.Token, c.AESKey, c.AppID)
	if err != nil {
		return fmt.Errorf("WECHAT_COMPONENT_AES_KEY %w", err)
	}
	// Each shop's pushes come to its $APPID$ URL, signed with the
	// platform's keys; they go to that shop's subscribers alone. A push
	// sets up no shop: one this process does not hold has no subscriber
	// here, and reaches the replicas that hold it through Redis. A signed
	// message is taken once for the whole platform, so that posting it
	// again to another shop's URL changes nothing.
	seen := w.pushSeen()
	h.ShopPush = wxpush.NewRoutedHandler(w.cfg.Push, crypter, func(r *http.Request) (wxpush.Sink, bool) {
		id, _ := strings.CutPrefix(r.URL.Path, shopPushPrefix)
		switch shop, held := w.shops.Held(id); {
		case !auth.ValidShop(id):
			return wxpush.Sink{}, false
		case held && shop.Publish != nil:
			return wxpush.Sink{Publish: shop.Publish, Seen: seen}, true
		case w.fanout != nil:
			// The replicas that hold the shop forget when the fan-out
			// reaches them; what the shop keeps in Redis is forgotten
			// here first, so that a replica building the shop after the
			// push never reads it.
			var publisher events.Publisher = w.fanout.Publisher(id)
			if forget := w.redisForgetter(id); forget != nil {
				publisher = events.ForgetFirst{Forget: forget, Next: publisher}
			}
			return wxpush.Sink{Publish: publisher.Publish, Seen: seen}, true
		}
		return wxpush.Sink{Publish: func(order.Event) {}, Seen: seen}, true
	}, w.log, w.m)
	return nil
}

// shopPushPrefix is ShopPushPath before its {appid}.
var shopPushPrefix = strings.TrimSuffix(httpserver.ShopPushPath, "{appid}")

// shop builds what serves one shop ("" on a server of one shop): its
// family's calls with its token over its transport, the order cache and
// coalescing, its actions, and its events, with store (nil: none) the
// shop's keys in Redis.
func (w *wiring) shop(id string, tokens wechat.TokenSource, transport *wechat.Transport, store *redisstore.Store) *shops.Shop {
	upstream := w.cfg.Family.Build(wechat.NewClient(transport, tokens))
	cache := w.cfg.OrderCache.For(w.eventsOn())
	// A gate per shop, as wide as the process's cap on calls in flight:
	// the fetches it admits may wait on the shop's own token, rate limit
	// or breaker, and one shop stalled there must not hold the others'.
	source := orderSource(cache, upstream.Orders, coalesce.NewGate(transport.MaxInFlight()), store, w.m, w.log)
	var orders order.Source = source
	lists, forget := upstream.Lists, order.Forgetters{source}
	var anchor func(context.Context, string, time.Time) time.Time
	// Pages only where events come: without them a kept page would hide a
	// new order for the TTL, which an order cache of ORDER_CACHE_TTL never
	// did (a missing order is asked again).
	if lists != nil && cache.TTL > 0 && w.eventsOn() {
		pages := pagecache.New(lists, w.pageBackend(cache, store), w.m)
		lists, anchor, forget = pages, pages.Anchor, append(forget, pages)
	}
	if id != "" {
		// A platform's shop that revoked it is served nothing more, not
		// even what the caches kept.
		orders = component.Authorized(tokens, source)
		if lists != nil {
			lists = component.AuthorizedLists(tokens, lists)
		}
	}
	records, locks := w.records, w.locks
	if store != nil {
		records, locks = store.ActionRecords(), store.ActionLocks()
	}
	s := &shops.Shop{
		ID: id, Orders: orders, AfterSales: upstream.AfterSales, Lists: lists, Anchor: anchor,
		Actions: actions.New(actions.DefaultConfig(), actions.Deps{
			Shop: id, Writer: upstream.Writes, Orders: upstream.Orders, AfterSales: upstream.AfterSales, Forget: forget,
			Records: records, Locks: locks, Logger: w.log, Metrics: w.m,
		}),
	}
	if !w.eventsOn() {
		return s
	}
	ecfg := w.cfg.Events
	ecfg.Metrics, ecfg.Logger = w.m, w.log
	s.Events = events.NewBus(orders, ecfg)
	local := events.Local{Bus: s.Events, Forget: forget, Logger: w.log}
	var publisher events.Publisher = local
	if w.fanout != nil {
		// Through Redis to every replica that holds the shop; each hands
		// it to its own Local (see Build).
		publisher = events.ForgetFirst{Forget: forget, Next: w.fanout.Publisher(id)}
	}
	s.Publish = publisher.Publish
	s.Deliver = local.Publish
	s.Close = s.Events.Close
	if w.cfg.Family.Changes == family.Polled && w.cfg.Poll.Interval > 0 {
		s.Close = chain(w.startPoller(upstream.Lists, publisher, forget, store), s.Close)
	}
	return s
}

// chain runs first, then then; either may be nil.
func chain(first, then func()) func() {
	return func() {
		for _, f := range []func(){first, then} {
			if f != nil {
				f()
			}
		}
	}
}

// limited is the upstream's configuration with its rate limit shared
// through store when there is one.
func (w *wiring) limited(store *redisstore.Store) wechat.TransportConfig {
	c := w.cfg.Upstream
	c.Limiter = w.limiter(store)
	return c
}

// limiter is the fleet's rate limit kept in store (a shop's keys: its
// quota is its own), or nil for this process's.
func (w *wiring) limiter(store *redisstore.Store) wechat.Limiter {
	if store == nil || w.cfg.Upstream.RateLimit <= 0 {
		return nil
	}
	return store.UpstreamLimiter(w.cfg.Upstream.RateLimit, w.log)
}

// pushSeen remembers the pushes taken: across the fleet with Redis.
func (w *wiring) pushSeen() wxpush.Seen {
	if w.store == nil {
		return wxpush.NewLocalSeen(wxpush.RetryWindow, wxpush.ProcessingTimeout, w.cfg.Push.Now)
	}
	return w.store.PushSeen(wxpush.RetryWindow, wxpush.ProcessingTimeout, w.log)
}

// report is /readyz's informational lines: lines, then Redis's health.
func (w *wiring) report(lines func() []string) func(context.Context) []string {
	return func(ctx context.Context) []string {
		out := lines()
		if w.store == nil {
			return out
		}
		if err := w.store.Ping(ctx); err != nil {
			return append(out, "redis: unreachable; serving with process-local state")
		}
		return append(out, "redis: ok")
	}
}

// startPoller polls a Mini Shop for changes, one replica at a time when
// Redis is set, until stopped. A poll that passed over changes makes the
// shop forget all it keeps (with Redis, for every replica).
func (w *wiring) startPoller(lists order.Lister, publisher events.Publisher, forget order.Forgetters, store *redisstore.Store) (stop func()) {
	var lease poller.Lease
	var memory poller.Memory = poller.NewLocalMemory(time.Now)
	if store != nil {
		lease, memory = store.PollLease(w.log), store.PollMemory(w.log)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		poller.New(w.cfg.Poll, lists, lease, memory, publisher.Publish, w.log).OnMissed(func() { forget.ForgetAll(ctx) }).Run(ctx)
	}()
	return func() { cancel(); <-done }
}

// quotaWatcher watches WeChat's quotas of the APIs called over transport,
// one replica at a time when Redis is set. Provider mode does not watch:
// each shop's quotas are its own, asked with its own token.
func (w *wiring) quotaWatcher(transport *wechat.Transport, tokens wechat.TokenSource) *quota.Watcher {
	var lease quota.Lease
	if w.store != nil {
		lease = w.store.QuotaLease(w.log)
	}
	up := struct {
		*wechat.Transport
		*wechat.Client
	}{transport, wechat.NewClient(transport, tokens)}
	return quota.New(up, lease, w.cfg.QuotaWatch, w.m, w.log)
}

// tokenSource is a single shop's token policy: a static token as given,
// or tokens fetched with the app's credentials, shared through Redis if
// set.
func (w *wiring) tokenSource(transport *wechat.Transport) wechat.TokenSource {
	if w.cfg.AccessToken != "" {
		return token.Static(w.cfg.AccessToken)
	}
	tcfg := w.cfg.Token
	tcfg.Metrics, tcfg.Logger = w.m, w.log
	if w.store != nil {
		tcfg.Shared = w.store.Tokens()
	}
	appID, secret := w.cfg.AppID, w.cfg.AppSecret
	return token.NewManager(func(ctx context.Context, force bool) (string, time.Duration, error) {
		return transport.StableToken(ctx, appID, secret, force)
	}, tcfg)
}

// redisForgetter forgets an order event's order, and the pages, that
// shop id keeps in Redis; nil when it keeps none there.
func (w *wiring) redisForgetter(id string) order.Forgetter {
	cache := w.cfg.OrderCache.For(w.eventsOn())
	if w.store == nil || cache.TTL <= 0 {
		return nil
	}
	store := w.store.Shop(id)
	return order.Forgetters{store.Orders(cache.TTL), pagecache.Forgetter(store.Pages(cache.TTL))}
}

// pageBackend keeps a shop's list pages: in Redis if set.
func (w *wiring) pageBackend(cache ordercache.Config, store *redisstore.Store) pagecache.Backend {
	if store != nil {
		return store.Pages(cache.TTL)
	}
	return pagecache.NewLocal(pageCacheSize, cache.TTL, cache.Now)
}

// pageCacheSize bounds the pages a process keeps per shop when there is no
// Redis: a dashboard's few pages, per filter and buyer, with room to spare.
const pageCacheSize = 200

// orderSource stacks what sits between the per-request loader and the
// upstream: the order cache when on (in Redis if set), then coalescing.
// Order events make it forget their orders.
func orderSource(cache ordercache.Config, upstream order.Source, gate *coalesce.Gate, store *redisstore.Store, m *metrics.Metrics, log *slog.Logger) interface {
	order.Source
	order.Forgetter
} {
	src := coalesce.New(upstream, gate, m, log)
	if cache.TTL <= 0 {
		return src
	}
	if store != nil {
		return ordercache.New(src, store.Orders(cache.TTL), m)
	}
	return ordercache.NewStarting(src, ordercache.NewLocal(cache), m)
}
