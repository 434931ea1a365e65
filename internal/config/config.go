// Package config reads the server's settings from environment variables and
// command-line flags (a flag wins over its variable) into the configuration
// structs of the components that own them, and validates them, so that a bad
// value stops start-up with a message naming the variable. Each component
// defines its own defaults once (DefaultConfig and friends); this package
// starts from them and never restates them.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ordergraph/ordergraph/internal/auth"
	"github.com/ordergraph/ordergraph/internal/events"
	"github.com/ordergraph/ordergraph/internal/families"
	"github.com/ordergraph/ordergraph/internal/family"
	"github.com/ordergraph/ordergraph/internal/httpserver"
	"github.com/ordergraph/ordergraph/internal/ordercache"
	"github.com/ordergraph/ordergraph/internal/poller"
	"github.com/ordergraph/ordergraph/internal/token"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wxpush"
)

// Mode says where orders come from.
type Mode string

const (
	// ModeSandbox runs the built-in fake upstream: no credentials configured.
	ModeSandbox Mode = "sandbox"
	// ModeAppSecret fetches and refreshes access tokens with app id and secret.
	ModeAppSecret Mode = "app-secret"
	// ModeStaticToken uses WECHAT_ACCESS_TOKEN as given and never fetches one.
	ModeStaticToken Mode = "static-token"
	// ModeProvider serves the shops that authorized a WeChat third-party
	// platform (WECHAT_COMPONENT_*), each request the one shop its
	// credential names.
	ModeProvider Mode = "provider"
)

// Config is the validated configuration: the process's own settings, and
// each component's configuration struct.
type Config struct {
	Addr            string
	AdminAddr       string
	ShutdownTimeout time.Duration
	LogLevel        slog.Level
	RedisURL        string
	// RedisCluster says that a single REDIS_URL names a cluster node.
	RedisCluster bool
	// RedisNamespace prefixes this shop's keys in Redis; empty: the app id.
	RedisNamespace string

	// Family is the upstream API family (see package family).
	Family      family.Family
	AppID       string
	AppSecret   string
	AccessToken string
	// Component is the third-party platform's appid, appsecret and message
	// Token and EncodingAESKey: set, the server runs in provider mode.
	Component struct{ AppID, Secret, Token, AESKey string }
	// SandboxShops, 2 or more, runs the sandbox as a third-party platform
	// with that many shops; 0: the sandbox is one shop.
	SandboxShops int
	// MaxActiveShops bounds the shops a process holds at once in provider
	// mode (the least recently used are forgotten).
	MaxActiveShops int
	Upstream       wechat.TransportConfig
	// QuotaWatch is how often WeChat's daily quota of each API called is
	// checked (package quota); 0: never.
	QuotaWatch time.Duration
	Token      token.Config
	OrderCache ordercache.Config
	Events     events.Config
	Poll       poller.Config
	Push       wxpush.Config

	Auth           auth.Config
	AllowAnonymous bool
	HTTP           httpserver.Config

	// raw holds the text of settings whose parsing depends on others.
	raw struct {
		authMode, jwtSecret, jwtKeyFile, apiKeys string
		playground, introspection, cors          string
		family, trustedDocuments                 string
		quotaWatch, orderCacheTTL                string
	}
}

// Mode derives where orders come from.
func (c Config) Mode() Mode {
	switch {
	case c.Component.AppID != "" || c.Component.Secret != "" || c.Component.Token != "" || c.Component.AESKey != "":
		return ModeProvider
	case c.AccessToken != "":
		return ModeStaticToken
	case c.AppID != "":
		return ModeAppSecret
	}
	return ModeSandbox
}

// Provider reports whether the server serves many shops: as a third-party
// platform, or as the sandbox playing one (SANDBOX_SHOPS).
func (c Config) Provider() bool {
	return c.Mode() == ModeProvider || (c.Mode() == ModeSandbox && c.SandboxShops >= 2)
}

// Defaults is the configuration when nothing is set: the process's own
// defaults here, each component's from that component.
func Defaults() Config {
	c := Config{
		Addr:            ":8080",
		ShutdownTimeout: 15 * time.Second,
		LogLevel:        slog.LevelInfo,
		Upstream:        wechat.DefaultTransportConfig(),
		OrderCache:      ordercache.DefaultConfig(),
		Events:          events.DefaultConfig(),
		Poll:            poller.DefaultConfig(),
		Push:            wxpush.DefaultConfig(),
		HTTP:            httpserver.DefaultConfig(),
		MaxActiveShops:  1000,
	}
	c.raw.authMode = "none"
	c.raw.family = families.All.Default().Name
	return c
}

// setting is one variable: its name, its flag ("" for secrets, since command
// lines are visible to every user of the machine), the field it sets, its
// help text, and, for a default that depends on other settings, how to
// describe it.
type setting struct {
	env, flag string
	field     func(*Config) any
	help      string
	// shownDefault is the default as the README shows it, where the field's
	// own value would not say it (it depends on other settings, or reads
	// better as a word).
	shownDefault string
	// zeroIsOff lets an integer be 0, which switches its feature off.
	zeroIsOff bool
}

// Settings lists every variable; the README's configuration table mirrors
// it, and a test holds the two together.
var Settings = []setting{
	{env: "ADDR", flag: "addr", field: func(c *Config) any { return &c.Addr }, help: "listen address"},
	{env: "UPSTREAM_FAMILY", flag: "upstream-family", field: func(c *Config) any { return &c.raw.family }, help: "upstream API family: " + families.All.Describe()},
	{env: "WECHAT_APP_ID", field: func(c *Config) any { return &c.AppID }, help: "app id; unset (and no WECHAT_ACCESS_TOKEN) runs the sandbox"},
	{env: "WECHAT_APP_SECRET", field: func(c *Config) any { return &c.AppSecret }, help: "app secret; required with WECHAT_APP_ID"},
	{env: "WECHAT_API_BASE_URL", flag: "wechat-api-base-url", field: func(c *Config) any { return &c.Upstream.BaseURL }, help: "WeChat API base URL"},
	{env: "WECHAT_ACCESS_TOKEN", field: func(c *Config) any { return &c.AccessToken }, help: "static access token owned by another service; never fetched or refreshed here"},
	{env: "WECHAT_COMPONENT_APP_ID", field: func(c *Config) any { return &c.Component.AppID }, help: "provider mode: the third-party platform's appid; with the next three, serves every shop that authorized it (excludes WECHAT_APP_ID, WECHAT_APP_SECRET, WECHAT_ACCESS_TOKEN)"},
	{env: "WECHAT_COMPONENT_APP_SECRET", field: func(c *Config) any { return &c.Component.Secret }, help: "provider mode: the platform's appsecret"},
	{env: "WECHAT_COMPONENT_TOKEN", field: func(c *Config) any { return &c.Component.Token }, help: "provider mode: the platform's message Token, which signs /wechat/component/events and /wechat/events/{appid}"},
	{env: "WECHAT_COMPONENT_AES_KEY", field: func(c *Config) any { return &c.Component.AESKey }, help: "provider mode: the platform's EncodingAESKey, 43 characters"},
	{env: "MAX_ACTIVE_SHOPS", flag: "max-active-shops", field: func(c *Config) any { return &c.MaxActiveShops }, help: "provider mode: most shops one process holds at once; past it the least recently used are forgotten (and rebuilt from Redis on demand)"},
	{env: "SANDBOX_SHOPS", flag: "sandbox-shops", field: func(c *Config) any { return &c.SandboxShops }, help: "2 or more: the sandbox plays a third-party platform with that many shops, picked with the X-Shop header (0: one shop)", zeroIsOff: true},
	{env: "WECHAT_PUSH_TOKEN", field: func(c *Config) any { return &c.Push.Token }, help: "the Store console's message push Token; set, the server takes order events at /wechat/events (store only)"},
	{env: "WECHAT_PUSH_AES_KEY", field: func(c *Config) any { return &c.Push.AESKey }, help: "the console's EncodingAESKey, 43 characters; required with WECHAT_PUSH_TOKEN (safe mode)"},
	{env: "PUSH_RATE_LIMIT", flag: "push-rate-limit", field: func(c *Config) any { return &c.Push.RateLimit }, help: "requests a minute one address may make to /wechat/events, apart from RATE_LIMIT; over it, 429 (WeChat retries)", zeroIsOff: true},
	{env: "ORDER_POLL_INTERVAL", flag: "order-poll-interval", field: func(c *Config) any { return &c.Poll.Interval }, help: "with minishop, which pushes nothing: how often to list recently updated orders for orderEvents (0s: off)", zeroIsOff: true},
	{env: "MAX_SUBSCRIPTIONS_PER_CLIENT", flag: "max-subscriptions-per-client", field: func(c *Config) any { return &c.Events.MaxPerClient }, help: "most orderEvents subscriptions one client (token subject, API key or IP) holds open"},
	{env: "MAX_OPERATIONS_PER_CONNECTION", flag: "max-operations-per-connection", field: func(c *Config) any { return &c.HTTP.MaxOperationsPerConnection }, help: "most operations one WebSocket runs at once; each also counts against RATE_LIMIT"},
	{env: "MAX_CONNECTIONS_PER_CLIENT", flag: "max-connections-per-client", field: func(c *Config) any { return &c.HTTP.MaxConnectionsPerClient }, help: "most WebSocket and SSE connections one client (token subject, API key or IP at the upgrade) holds open"},
	{env: "MAX_CONNECTIONS", flag: "max-connections", field: func(c *Config) any { return &c.HTTP.MaxConnections }, help: "most WebSocket and SSE connections open in the process"},
	{env: "UPSTREAM_TIMEOUT", flag: "upstream-timeout", field: func(c *Config) any { return &c.Upstream.Timeout }, help: "timeout of one upstream call"},
	{env: "UPSTREAM_CONCURRENCY", flag: "upstream-concurrency", field: func(c *Config) any { return &c.HTTP.Loader.Concurrency }, help: "upstream calls in flight for one GraphQL request"},
	{env: "UPSTREAM_MAX_IN_FLIGHT", flag: "upstream-max-in-flight", field: func(c *Config) any { return &c.Upstream.MaxInFlight }, help: "upstream calls in flight for the whole process"},
	{env: "UPSTREAM_RETRIES", flag: "upstream-retries", field: func(c *Config) any { return &c.Upstream.Retries }, help: "more attempts for a call that failed transiently (errcode -1, network, timeout, 5xx, garbled); 0: none", zeroIsOff: true},
	{env: "UPSTREAM_RETRY_BUDGET", flag: "upstream-retry-budget", field: func(c *Config) any { return &c.Upstream.RetryBudget }, help: "share of first attempts that retries may add over 10 s, above 10 retries a second, 0..1"},
	{env: "UPSTREAM_RATE_LIMIT", flag: "upstream-rate-limit", field: func(c *Config) any { return &c.Upstream.RateLimit }, help: "upstream calls a second for the whole fleet, retries included, token calls not (0: off)", zeroIsOff: true},
	{env: "UPSTREAM_BREAKER", flag: "upstream-breaker", field: func(c *Config) any { return &c.Upstream.Breaker }, help: "on or off: stop calling an upstream whose attempts broadly fail", shownDefault: "on"},
	{env: "UPSTREAM_QUOTA_WATCH", flag: "upstream-quota-watch", field: func(c *Config) any { return &c.raw.quotaWatch }, help: "how often to ask WeChat for the daily quota of each API called, for metrics and a warning past 80% (0s: off)", shownDefault: "5m, off in sandbox mode"},
	{env: "MAX_IDS_PER_QUERY", flag: "max-ids-per-query", field: func(c *Config) any { return &c.HTTP.MaxIDs }, help: "most ids accepted by orders(ids:)"},
	{env: "MAX_BODY_BYTES", flag: "max-body-bytes", field: func(c *Config) any { return &c.HTTP.MaxBodyBytes }, help: "largest accepted request body, in bytes"},
	{env: "PLAYGROUND", flag: "playground", field: func(c *Config) any { return &c.raw.playground }, help: "serve GraphiQL at /", shownDefault: "true in sandbox mode, else false"},
	{env: "INTROSPECTION", flag: "introspection", field: func(c *Config) any { return &c.raw.introspection }, help: "answer introspection queries (merchants only)", shownDefault: "the value of PLAYGROUND"},
	{env: "LOG_LEVEL", flag: "log-level", field: func(c *Config) any { return &c.LogLevel }, help: "debug, info, warn or error"},
	{env: "SHUTDOWN_TIMEOUT", flag: "shutdown-timeout", field: func(c *Config) any { return &c.ShutdownTimeout }, help: "how long in-flight requests may finish on SIGINT/SIGTERM"},
	{env: "MAX_QUERY_COST", flag: "max-query-cost", field: func(c *Config) any { return &c.HTTP.Limits.MaxCost }, help: "most upstream calls one operation may make"},
	{env: "MAX_QUERY_DEPTH", flag: "max-query-depth", field: func(c *Config) any { return &c.HTTP.Limits.MaxDepth }, help: "deepest field nesting accepted (introspection exempt)"},
	{env: "MAX_ALIASES", flag: "max-aliases", field: func(c *Config) any { return &c.HTTP.Limits.MaxAliases }, help: "most aliased fields in one document"},
	{env: "MAX_QUERY_TOKENS", flag: "max-query-tokens", field: func(c *Config) any { return &c.HTTP.MaxTokens }, help: "most lexical tokens in one document"},
	{env: "ORDER_CACHE_TTL", flag: "order-cache-ttl", field: func(c *Config) any { return &c.raw.orderCacheTTL }, help: "keep fetched orders and list pages at most this long; an order event ends it sooner (0s: no cache)", shownDefault: "10m where order events come (a push or the poller), else 0s"},
	{env: "ORDER_CACHE_SIZE", flag: "order-cache-size", field: func(c *Config) any { return &c.OrderCache.Size }, help: "most orders the process-local cache holds per shop, about 5 KB each"},
	{env: "ADMIN_ADDR", flag: "admin-addr", field: func(c *Config) any { return &c.AdminAddr }, help: "address of the pprof admin listener (empty: off); never the public port"},
	{env: "AUTH_MODE", flag: "auth-mode", field: func(c *Config) any { return &c.raw.authMode }, help: "none, jwt, apikey, or jwt,apikey"},
	{env: "ALLOW_ANONYMOUS", flag: "allow-anonymous", field: func(c *Config) any { return &c.AllowAnonymous }, help: "let AUTH_MODE=none serve real orders (required with WeChat credentials)"},
	{env: "JWT_SECRET", field: func(c *Config) any { return &c.raw.jwtSecret }, help: "HS256 shared secret, at least 32 bytes"},
	{env: "JWT_PUBLIC_KEY_FILE", flag: "jwt-public-key-file", field: func(c *Config) any { return &c.raw.jwtKeyFile }, help: "PEM public key for RS256 (RSA) or ES256 (ECDSA P-256)"},
	{env: "JWT_ISSUER", flag: "jwt-issuer", field: func(c *Config) any { return &c.Auth.JWTIssuer }, help: "required iss claim (empty: not checked)"},
	{env: "JWT_AUDIENCE", flag: "jwt-audience", field: func(c *Config) any { return &c.Auth.JWTAudience }, help: "required aud claim (empty: not checked)"},
	{env: "API_KEYS", field: func(c *Config) any { return &c.raw.apiKeys }, help: "name:merchant:sha256hex entries, comma-separated"},
	{env: "TRUSTED_DOCUMENTS", flag: "trusted-documents", field: func(c *Config) any { return &c.raw.trustedDocuments }, help: "persisted-document manifest of the client apps' operations (GraphQL Codegen's or Apollo's); set, callers without the merchant role run only those"},
	{env: "TRUSTED_DOCUMENTS_ONLY", flag: "trusted-documents-only", field: func(c *Config) any { return &c.HTTP.TrustedDocumentsOnly }, help: "hold merchants to TRUSTED_DOCUMENTS too"},
	{env: "CURSOR_SECRET", field: func(c *Config) any { return &c.HTTP.CursorSecret }, help: "key of list cursors, at least 32 bytes, the same on every replica (empty: a key per process; cursors then die with it)"},
	{env: "RATE_LIMIT", flag: "rate-limit", field: func(c *Config) any { return &c.HTTP.RateLimit }, help: "requests per RATE_LIMIT_WINDOW per client (0: off)", zeroIsOff: true},
	{env: "RATE_LIMIT_WINDOW", flag: "rate-limit-window", field: func(c *Config) any { return &c.HTTP.RateLimitWindow }, help: "rate limit window"},
	{env: "CORS_ORIGINS", flag: "cors-origins", field: func(c *Config) any { return &c.raw.cors }, help: "allowed browser origins, comma-separated", shownDefault: "* in sandbox mode, else none"},
	{env: "TRUSTED_PROXIES", flag: "trusted-proxies", field: func(c *Config) any { return &c.HTTP.TrustedProxies }, help: "CIDRs of proxies whose X-Forwarded-For names the client (empty: use the peer address)"},
	{env: "REDIS_URL", field: func(c *Config) any { return &c.RedisURL }, help: "redis:// URL (or a Redis Cluster's comma-separated node URLs) shared by replicas for the access token, persisted queries, the order cache, the upstream rate limit and order events (empty: process-local)"},
	{env: "REDIS_CLUSTER", flag: "redis-cluster", field: func(c *Config) any { return &c.RedisCluster }, help: "REDIS_URL names a node of a Redis Cluster (several comma-separated URLs always do)"},
	{env: "REDIS_NAMESPACE", flag: "redis-namespace", field: func(c *Config) any { return &c.RedisNamespace }, help: "prefix of this shop's keys in Redis, up to 64 letters, digits, '.', '_' or '-'; required with a static token and no app id", shownDefault: "the app id"},
}

// Env is the setting's variable.
func (s setting) Env() string { return s.env }

// Flag is the setting's flag without its dash; "" for a secret.
func (s setting) Flag() string { return s.flag }

// Default is the setting's default as the README shows it.
func (s setting) Default() string {
	if s.shownDefault != "" {
		return s.shownDefault
	}
	d := Defaults()
	return format(s.field(&d))
}

// Load reads settings from args (flags) over getenv (variables), for the
// families this build serves.
func Load(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	return LoadWith(families.All, args, getenv, stderr)
}

// LoadWith is Load for the families known.
func LoadWith(known family.Set, args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("ordergraph", flag.ContinueOnError)
	fs.SetOutput(stderr)
	texts := make([]string, len(Settings))
	for i, s := range Settings {
		texts[i] = getenv(s.env)
		if s.flag != "" {
			help := s.help + " ($" + s.env + ")"
			if def := s.Default(); def != "" {
				help += " (default " + def + ")"
			}
			fs.StringVar(&texts[i], s.flag, texts[i], help)
		}
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c := Defaults()
	var errs []error
	for i, s := range Settings {
		if text := strings.TrimSpace(texts[i]); text != "" {
			if err := parse(s.field(&c), text, s.zeroIsOff); err != nil {
				errs = append(errs, fmt.Errorf("%s %s", s.env, err))
			}
		}
	}
	v := validator{errs: errs}
	v.check(&c, known)
	return c, errors.Join(v.errs...)
}

// parse sets the field at ptr from text.
func parse(ptr any, text string, zeroIsOff bool) error {
	least, want := 1, "a positive integer"
	if zeroIsOff {
		least, want = 0, "0 or a positive integer"
	}
	switch p := ptr.(type) {
	case *string:
		*p = text
	case *int:
		n, err := strconv.Atoi(text)
		if err != nil || n < least {
			return fmt.Errorf("must be %s, got %q", want, text)
		}
		*p = n
	case *int64:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil || n < int64(least) {
			return fmt.Errorf("must be %s, got %q", want, text)
		}
		*p = n
	case *time.Duration:
		d, err := time.ParseDuration(text)
		if err != nil || d < 0 {
			return fmt.Errorf("must be a duration such as 5s or 250ms, got %q", text)
		}
		*p = d
	case *bool:
		switch strings.ToLower(text) {
		case "on":
			*p = true
		case "off":
			*p = false
		default:
			b, err := strconv.ParseBool(text)
			if err != nil {
				return fmt.Errorf("must be true or false (or on, off), got %q", text)
			}
			*p = b
		}
	case *float64:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || f < 0 || f > 1 {
			return fmt.Errorf("must be a number from 0 to 1, got %q", text)
		}
		*p = f
	case *[]string:
		*p = list(text)
	case *slog.Level:
		if err := p.UnmarshalText([]byte(text)); err != nil {
			return fmt.Errorf("must be debug, info, warn or error, got %q", text)
		}
	default:
		panic(fmt.Sprintf("config: no parser for %T", ptr))
	}
	return nil
}

// format renders a default as a variable would spell it.
func format(ptr any) string {
	switch p := ptr.(type) {
	case *string:
		return *p
	case *int:
		return strconv.Itoa(*p)
	case *int64:
		return strconv.FormatInt(*p, 10)
	case *time.Duration:
		s := p.String()
		if strings.HasSuffix(s, "m0s") {
			s = strings.TrimSuffix(s, "0s")
		}
		return s
	case *bool:
		return strconv.FormatBool(*p)
	case *float64:
		return strconv.FormatFloat(*p, 'g', -1, 64)
	case *[]string:
		return strings.Join(*p, ",")
	case *slog.Level:
		return strings.ToLower(p.String())
	}
	panic(fmt.Sprintf("config: no format for %T", ptr))
}

func list(text string) []string {
	var out []string
	for item := range strings.SplitSeq(text, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

type validator struct{ errs []error }

func (v *validator) fail(env, why string) {
	v.errs = append(v.errs, fmt.Errorf("%s %s", env, why))
}

// push checks the message push settings: the Store's only, in safe mode,
// checked against the shop's appid.
func (v *validator) push(c *Config, known family.Set) {
	switch {
	case c.Push.Token == "" && c.Push.AESKey == "":
	case c.Push.Token == "":
		v.fail("WECHAT_PUSH_TOKEN", "is required with WECHAT_PUSH_AES_KEY")
	case c.Family.Changes != family.Pushed:
		v.fail("WECHAT_PUSH_TOKEN", fmt.Sprintf("needs UPSTREAM_FAMILY=%s, a family that pushes order events: %s pushes none", strings.Join(known.Pushing(), " or "), c.Family.Name))
	case c.AppID == "" && c.Mode() != ModeSandbox: // the sandbox's appid stands in
		v.fail("WECHAT_APP_ID", "is required with WECHAT_PUSH_TOKEN: each event is checked against it")
	case c.Push.AESKey == "":
		v.fail("WECHAT_PUSH_AES_KEY", "is required with WECHAT_PUSH_TOKEN: the Store pushes in safe mode only")
	default:
		if _, err := wxpush.NewCrypter(c.Push.Token, c.Push.AESKey, c.AppID); err != nil {
			v.fail("WECHAT_PUSH_AES_KEY", err.Error())
		}
	}
}

// check derives the settings that depend on others and validates the
// combination.
func (v *validator) check(c *Config, known family.Set) {
	c.Upstream.BaseURL = strings.TrimRight(c.Upstream.BaseURL, "/")
	sandbox := c.Mode() == ModeSandbox
	c.HTTP.Playground = v.optionalBool("PLAYGROUND", c.raw.playground, sandbox)
	c.HTTP.Introspection = v.optionalBool("INTROSPECTION", c.raw.introspection, c.HTTP.Playground)
	c.HTTP.CORSOrigins = list(c.raw.cors)
	// The sandbox's quotas are made up: watching them is for trying it.
	c.QuotaWatch = 5 * time.Minute
	if sandbox {
		c.QuotaWatch = 0
	}
	if c.raw.quotaWatch != "" {
		if err := parse(&c.QuotaWatch, c.raw.quotaWatch, true); err != nil {
			v.fail("UPSTREAM_QUOTA_WATCH", err.Error())
		}
	}
	// Where events come, they keep the caches fresh and the TTL only
	// bounds them; elsewhere a cache is stale until its TTL, so it is on
	// only when asked for.
	c.OrderCache.TTL, c.OrderCache.FollowEvents = ordercache.EventTTL, true
	if c.raw.orderCacheTTL != "" {
		c.OrderCache.FollowEvents = false
		if err := parse(&c.OrderCache.TTL, c.raw.orderCacheTTL, true); err != nil {
			v.fail("ORDER_CACHE_TTL", err.Error())
		}
	}
	if len(c.HTTP.CORSOrigins) == 0 && sandbox {
		c.HTTP.CORSOrigins = []string{"*"}
	}
	v.auth(c)
	if s := c.HTTP.CursorSecret; s != "" && len(s) < 32 {
		v.fail("CURSOR_SECRET", "must be at least 32 bytes")
	}
	fam, err := known.Lookup(c.raw.family)
	if err != nil {
		v.fail("UPSTREAM_FAMILY", err.Error())
	}
	c.Family = fam
	if u, err := url.Parse(c.Upstream.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.fail("WECHAT_API_BASE_URL", "must be an http(s) URL")
	}
	if c.Upstream.Timeout <= 0 {
		v.fail("UPSTREAM_TIMEOUT", "must be positive")
	}
	v.redisURL(c)
	v.redisNamespace(c)
	v.trustedDocuments(c)
	if c.HTTP.RateLimit > 0 && c.HTTP.RateLimitWindow <= 0 {
		v.fail("RATE_LIMIT_WINDOW", "must be positive")
	}
	for _, cidr := range c.HTTP.TrustedProxies {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			v.fail("TRUSTED_PROXIES", fmt.Sprintf("%q is not a CIDR such as 10.0.0.0/8", cidr))
		}
	}
	if c.AdminAddr != "" && c.AdminAddr == c.Addr && !ephemeral(c.Addr) {
		v.fail("ADMIN_ADDR", "must differ from ADDR: pprof never goes on the public port")
	}
	if c.Family.Name != "" { // an unknown family has failed already
		v.push(c, known)
	}
	v.provider(c)
	if c.AppID != "" && c.AppSecret == "" && c.AccessToken == "" {
		v.fail("WECHAT_APP_SECRET", "is required when WECHAT_APP_ID is set")
	}
	if c.AppSecret != "" && c.AppID == "" {
		v.fail("WECHAT_APP_ID", "is required when WECHAT_APP_SECRET is set")
	}
}

// provider checks provider mode's settings: all four of the platform's,
// none of a single shop's, and credentials that name each caller's shop.
func (v *validator) provider(c *Config) {
	if c.SandboxShops == 1 {
		v.fail("SANDBOX_SHOPS", "must be 0 (one shop) or at least 2 (a platform of that many shops)")
	}
	if c.SandboxShops > 0 && c.Mode() != ModeSandbox {
		v.fail("SANDBOX_SHOPS", "is for the sandbox; unset it with WeChat credentials")
	}
	c.Auth.RequireShop = c.Provider()
	// Only the sandbox's made-up shops may be picked by a header.
	c.Auth.ShopHeader = c.Provider() && c.Mode() == ModeSandbox && !c.Auth.JWT && len(c.Auth.APIKeys) == 0
	if c.Mode() != ModeProvider {
		return
	}
	var missing, mixed []string
	for _, s := range []struct{ env, value string }{
		{"WECHAT_COMPONENT_APP_ID", c.Component.AppID}, {"WECHAT_COMPONENT_APP_SECRET", c.Component.Secret},
		{"WECHAT_COMPONENT_TOKEN", c.Component.Token}, {"WECHAT_COMPONENT_AES_KEY", c.Component.AESKey},
	} {
		if s.value == "" {
			missing = append(missing, s.env)
		}
	}
	for _, s := range []struct{ env, value string }{
		{"WECHAT_APP_ID", c.AppID}, {"WECHAT_APP_SECRET", c.AppSecret}, {"WECHAT_ACCESS_TOKEN", c.AccessToken}, {"WECHAT_PUSH_TOKEN", c.Push.Token},
	} {
		if s.value != "" {
			mixed = append(mixed, s.env)
		}
	}
	if len(missing) > 0 {
		v.fail(strings.Join(missing, ", "), "required in provider mode (WECHAT_COMPONENT_* are set)")
	}
	if len(mixed) > 0 {
		v.fail(strings.Join(mixed, ", "), "cannot be set with WECHAT_COMPONENT_*: in provider mode each shop's token comes from the platform, and its pushes are signed with the platform's keys")
	}
	if len(missing) == 0 {
		if _, err := wxpush.NewCrypter(c.Component.Token, c.Component.AESKey, c.Component.AppID); err != nil {
			v.fail("WECHAT_COMPONENT_AES_KEY", err.Error())
		}
	}
	if !c.Auth.JWT && len(c.Auth.APIKeys) == 0 {
		v.fail("AUTH_MODE", "must be jwt and/or apikey in provider mode: each request's shop comes from its credential (the JWT's shop claim, the API key's shop=)")
	}
	for _, k := range c.Auth.APIKeys {
		if k.Shop == "" {
			v.fail("API_KEYS", fmt.Sprintf("key %q has no shop: in provider mode each key acts for one shop (name:merchant:sha256hex:shop=<appid>)", k.Name))
		}
	}
}

// trustedDocuments reads the manifest of TRUSTED_DOCUMENTS.
func (v *validator) trustedDocuments(c *Config) {
	path := c.raw.trustedDocuments
	if path == "" {
		if c.HTTP.TrustedDocumentsOnly {
			v.fail("TRUSTED_DOCUMENTS_ONLY", "needs TRUSTED_DOCUMENTS, the manifest of the documents to hold callers to")
		}
		return
	}
	data, err := os.ReadFile(path)
	if err == nil {
		c.HTTP.TrustedDocuments, err = httpserver.ParseTrustedDocuments(data)
	}
	if err != nil {
		v.fail("TRUSTED_DOCUMENTS", err.Error())
	}
}

// redisURL checks REDIS_URL: one redis://, rediss:// or unix:// URL, or the
// comma-separated redis:// or rediss:// seeds of a cluster; a Unix socket
// names one node, never a cluster.
func (v *validator) redisURL(c *Config) {
	if c.RedisURL == "" {
		return
	}
	seeds := strings.Split(c.RedisURL, ",")
	for _, seed := range seeds {
		u, err := url.Parse(strings.TrimSpace(seed))
		switch {
		case err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix"):
			v.fail("REDIS_URL", "must be a redis://, rediss:// or unix:// URL, or comma-separated redis:// or rediss:// URLs of a cluster's nodes")
			return
		case u.Scheme == "unix" && (len(seeds) > 1 || c.RedisCluster):
			v.fail("REDIS_URL", "is a unix:// URL, which names a single Redis, not a cluster")
			return
		}
	}
}

// namespacePattern keeps a namespace free of ':', the separator of the
// keys, so that no namespace's keys can be another's.
var namespacePattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// redisNamespace checks that the replicas of one shop share their keys in
// Redis with nobody else: by default the keys are the app id's, and a
// static token without an app id names no shop, so two such deployments on
// one Redis would read each other's tokens, persisted queries and cached
// orders.
func (v *validator) redisNamespace(c *Config) {
	switch {
	case c.RedisNamespace != "" && !namespacePattern.MatchString(c.RedisNamespace):
		v.fail("REDIS_NAMESPACE", fmt.Sprintf("%q: want 1 to 64 letters, digits, '.', '_' or '-'", c.RedisNamespace))
	case c.RedisURL != "" && c.RedisNamespace == "" && c.AppID == "" && c.Mode() == ModeStaticToken:
		v.fail("REDIS_NAMESPACE", "is required with REDIS_URL and a WECHAT_ACCESS_TOKEN without WECHAT_APP_ID: the keys would otherwise be shared with every such deployment on that Redis")
	}
}

// ephemeral reports whether addr asks for any free port: two such listeners
// never share one.
func ephemeral(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	return err == nil && (port == "0" || port == "")
}

// optionalBool is a boolean whose default depends on other settings.
func (v *validator) optionalBool(env, text string, def bool) bool {
	if text == "" {
		return def
	}
	b := def
	if err := parse(&b, text, false); err != nil {
		v.fail(env, err.Error())
	}
	return b
}

// auth reads AUTH_MODE and the credentials it needs, and refuses to serve
// real orders to anyone who can reach the port unless told so explicitly.
func (v *validator) auth(c *Config) {
	apiKeys := false
	for _, m := range list(c.raw.authMode) {
		switch m {
		case "none":
		case "jwt":
			c.Auth.JWT = true
		case "apikey":
			apiKeys = true
		default:
			v.fail("AUTH_MODE", fmt.Sprintf("has %q; want none, jwt, apikey or jwt,apikey", m))
		}
	}
	if c.Auth.JWT {
		secret, keyFile := c.raw.jwtSecret, c.raw.jwtKeyFile
		switch {
		case secret != "" && keyFile != "":
			v.fail("JWT_SECRET", "and JWT_PUBLIC_KEY_FILE are exclusive: one algorithm only")
		case secret != "":
			if len(secret) < 32 {
				v.fail("JWT_SECRET", "must be at least 32 bytes")
			}
			c.Auth.JWTSecret = []byte(secret)
		case keyFile != "":
			pemBytes, err := os.ReadFile(keyFile)
			if err == nil {
				c.Auth.JWTPublicKey, err = auth.ParsePublicKey(pemBytes)
			}
			if err != nil {
				v.fail("JWT_PUBLIC_KEY_FILE", err.Error())
			}
		default:
			v.fail("JWT_SECRET", "or JWT_PUBLIC_KEY_FILE is required with AUTH_MODE=jwt")
		}
	}
	if apiKeys {
		keys, err := auth.ParseAPIKeys(c.raw.apiKeys)
		if err != nil {
			v.fail("API_KEYS", err.Error()+" (required with AUTH_MODE=apikey)")
		}
		c.Auth.APIKeys = keys
	}
	if !c.Auth.JWT && !apiKeys && c.Mode() != ModeSandbox && c.Mode() != ModeProvider && !c.AllowAnonymous {
		v.fail("AUTH_MODE", "is none while real WeChat credentials are configured: anyone who reaches the port would read every order; set AUTH_MODE, or ALLOW_ANONYMOUS=true to accept that")
	}
}
