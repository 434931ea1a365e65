// Package config reads the server's settings from environment variables and
// command-line flags (a flag wins over its variable) and validates them, so
// that a bad value stops start-up with a message naming the variable.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ordergraph/ordergraph/internal/auth"
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
)

// Config is the validated configuration.
type Config struct {
	Addr                string
	AppID               string
	AppSecret           string
	APIBaseURL          string
	AccessToken         string
	UpstreamTimeout     time.Duration
	UpstreamConcurrency int
	UpstreamMaxInFlight int
	MaxIDsPerQuery      int
	BatchWait           time.Duration
	MaxBodyBytes        int64
	Playground          bool
	Introspection       bool
	LogLevel            slog.Level
	SandboxLatency      time.Duration
	ShutdownTimeout     time.Duration
	MaxQueryCost        int
	OrderCacheTTL       time.Duration
	OrderCacheSize      int
	APQCacheSize        int
	AdminAddr           string
	MaxQueryDepth       int
	MaxAliases          int
	MaxQueryTokens      int
	// AuthJWT and AuthAPIKey are the enabled AUTH_MODE parts; neither: none.
	AuthJWT        bool
	AuthAPIKey     bool
	AllowAnonymous bool
	JWTSecret      []byte
	JWTPublicKey   any
	JWTIssuer      string
	JWTAudience    string
	APIKeys        []auth.APIKey
	// RateLimit is requests per RateLimitWindow per client; 0 is off.
	RateLimit       int
	RateLimitWindow time.Duration
	CORSOrigins     []string
	TrustedProxies  []string
	RedisURL        string
}

// Mode derives where orders come from.
func (c Config) Mode() Mode {
	switch {
	case c.AccessToken != "":
		return ModeStaticToken
	case c.AppID != "":
		return ModeAppSecret
	}
	return ModeSandbox
}

// setting is one variable: its name, flag, default and help text. Secrets
// have no flag: command lines are visible to every user of the machine.
type setting struct {
	env, flag, def, help string
}

// Settings lists every variable; the README's configuration table mirrors it.
var Settings = []setting{
	{"ADDR", "addr", ":8080", "listen address"},
	{"WECHAT_APP_ID", "", "", "mini program app id; unset (and no WECHAT_ACCESS_TOKEN) runs the sandbox"},
	{"WECHAT_APP_SECRET", "", "", "app secret; required with WECHAT_APP_ID"},
	{"WECHAT_API_BASE_URL", "api-base-url", "https://api.weixin.qq.com", "WeChat API base URL"},
	{"WECHAT_ACCESS_TOKEN", "", "", "static access token owned by another service; never fetched or refreshed here"},
	{"UPSTREAM_TIMEOUT", "upstream-timeout", "5s", "timeout of one upstream call"},
	{"UPSTREAM_CONCURRENCY", "upstream-concurrency", "16", "upstream calls in flight for one GraphQL request"},
	{"UPSTREAM_MAX_IN_FLIGHT", "upstream-max-in-flight", "128", "upstream calls in flight for the whole process"},
	{"MAX_IDS_PER_QUERY", "max-ids", "100", "most ids accepted by orders(ids:)"},
	{"BATCH_WAIT", "batch-wait", "10us", "how long the dataloader collects ids before fetching"},
	{"MAX_BODY_BYTES", "max-body-bytes", "1048576", "largest accepted request body, in bytes"},
	{"PLAYGROUND", "playground", "", "serve GraphiQL at / (default: true in sandbox mode, else false)"},
	{"INTROSPECTION", "introspection", "", "answer introspection queries (default: the value of PLAYGROUND)"},
	{"LOG_LEVEL", "log-level", "info", "debug, info, warn or error"},
	{"SANDBOX_LATENCY", "sandbox-latency", "0s", "added latency of each sandbox order call"},
	{"SHUTDOWN_TIMEOUT", "shutdown-timeout", "15s", "how long in-flight requests may finish on SIGINT/SIGTERM"},
	{"MAX_QUERY_COST", "max-query-cost", "100", "most upstream order fetches one operation may make"},
	{"ORDER_CACHE_TTL", "order-cache-ttl", "0s", "keep fetched orders this long (0: no cache)"},
	{"ORDER_CACHE_SIZE", "order-cache-size", "10000", "most orders the cache holds"},
	{"APQ_CACHE_SIZE", "apq-cache-size", "1000", "most automatic persisted queries remembered"},
	{"ADMIN_ADDR", "admin-addr", "", "address of the pprof admin listener (empty: off); never the public port"},
	{"AUTH_MODE", "auth-mode", "none", "none, jwt, apikey, or jwt,apikey"},
	{"ALLOW_ANONYMOUS", "allow-anonymous", "false", "let AUTH_MODE=none serve real orders (required with WeChat credentials)"},
	{"JWT_SECRET", "", "", "HS256 shared secret, at least 32 bytes"},
	{"JWT_PUBLIC_KEY_FILE", "jwt-public-key-file", "", "PEM public key for RS256 (RSA) or ES256 (ECDSA P-256)"},
	{"JWT_ISSUER", "jwt-issuer", "", "required iss claim (empty: not checked)"},
	{"JWT_AUDIENCE", "jwt-audience", "", "required aud claim (empty: not checked)"},
	{"API_KEYS", "", "", "name:merchant:sha256hex entries, comma-separated"},
	{"RATE_LIMIT", "rate-limit", "600", "requests per RATE_LIMIT_WINDOW per client (0: off)"},
	{"RATE_LIMIT_WINDOW", "rate-limit-window", "1m", "rate limit window"},
	{"CORS_ORIGINS", "cors-origins", "", "allowed browser origins, comma-separated (default: * in sandbox mode, none otherwise)"},
	{"TRUSTED_PROXIES", "trusted-proxies", "", "CIDRs of proxies whose X-Forwarded-For names the client (empty: use the peer address)"},
	{"MAX_QUERY_DEPTH", "max-query-depth", "10", "deepest field nesting accepted"},
	{"MAX_ALIASES", "max-aliases", "100", "most aliased fields in one document"},
	{"MAX_QUERY_TOKENS", "max-query-tokens", "2000", "most lexical tokens in one document"},
	{"REDIS_URL", "", "", "redis:// URL shared by replicas for the access token, persisted queries and the order cache (empty: process-local)"},
}

// Load reads settings from args (flags) over getenv (variables).
func Load(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("ordergraph", flag.ContinueOnError)
	fs.SetOutput(stderr)
	vals := make(map[string]*string, len(Settings))
	for _, s := range Settings {
		v := s.def
		if e := getenv(s.env); e != "" {
			v = e
		}
		vals[s.env] = &v
		if s.flag != "" {
			fs.StringVar(vals[s.env], s.flag, v, s.help+" ($"+s.env+")")
		}
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	p := parser{vals: vals}
	c := Config{
		Addr:                p.str("ADDR"),
		AppID:               p.str("WECHAT_APP_ID"),
		AppSecret:           p.str("WECHAT_APP_SECRET"),
		APIBaseURL:          strings.TrimRight(p.str("WECHAT_API_BASE_URL"), "/"),
		AccessToken:         p.str("WECHAT_ACCESS_TOKEN"),
		UpstreamTimeout:     p.duration("UPSTREAM_TIMEOUT"),
		UpstreamConcurrency: p.positive("UPSTREAM_CONCURRENCY"),
		UpstreamMaxInFlight: p.positive("UPSTREAM_MAX_IN_FLIGHT"),
		MaxIDsPerQuery:      p.positive("MAX_IDS_PER_QUERY"),
		BatchWait:           p.duration("BATCH_WAIT"),
		MaxBodyBytes:        int64(p.positive("MAX_BODY_BYTES")),
		LogLevel:            p.level("LOG_LEVEL"),
		SandboxLatency:      p.duration("SANDBOX_LATENCY"),
		ShutdownTimeout:     p.duration("SHUTDOWN_TIMEOUT"),
		MaxQueryCost:        p.positive("MAX_QUERY_COST"),
		OrderCacheTTL:       p.duration("ORDER_CACHE_TTL"),
		OrderCacheSize:      p.positive("ORDER_CACHE_SIZE"),
		APQCacheSize:        p.positive("APQ_CACHE_SIZE"),
		AdminAddr:           p.str("ADMIN_ADDR"),
		MaxQueryDepth:       p.positive("MAX_QUERY_DEPTH"),
		MaxAliases:          p.positive("MAX_ALIASES"),
		MaxQueryTokens:      p.positive("MAX_QUERY_TOKENS"),
		AllowAnonymous:      p.boolean("ALLOW_ANONYMOUS"),
		JWTIssuer:           p.str("JWT_ISSUER"),
		JWTAudience:         p.str("JWT_AUDIENCE"),
		RateLimit:           p.natural("RATE_LIMIT"),
		RateLimitWindow:     p.duration("RATE_LIMIT_WINDOW"),
		TrustedProxies:      p.list("TRUSTED_PROXIES"),
		RedisURL:            p.str("REDIS_URL"),
	}
	sandbox := c.Mode() == ModeSandbox
	c.Playground = p.optionalBool("PLAYGROUND", sandbox)
	c.Introspection = p.optionalBool("INTROSPECTION", c.Playground)
	c.CORSOrigins = p.list("CORS_ORIGINS")
	if len(c.CORSOrigins) == 0 && sandbox {
		c.CORSOrigins = []string{"*"}
	}
	p.auth(&c)
	if u, err := url.Parse(c.APIBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.fail("WECHAT_API_BASE_URL", "must be an http(s) URL")
	}
	if c.UpstreamTimeout <= 0 {
		p.fail("UPSTREAM_TIMEOUT", "must be positive")
	}
	if u, err := url.Parse(c.RedisURL); c.RedisURL != "" && (err != nil || (u.Scheme != "redis" && u.Scheme != "rediss")) {
		p.fail("REDIS_URL", "must be a redis:// or rediss:// URL")
	}
	if c.RateLimit > 0 && c.RateLimitWindow <= 0 {
		p.fail("RATE_LIMIT_WINDOW", "must be positive")
	}
	for _, cidr := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			p.fail("TRUSTED_PROXIES", fmt.Sprintf("%q is not a CIDR such as 10.0.0.0/8", cidr))
		}
	}
	if c.AdminAddr != "" && c.AdminAddr == c.Addr {
		p.fail("ADMIN_ADDR", "must differ from ADDR: pprof never goes on the public port")
	}
	if c.AppID != "" && c.AppSecret == "" && c.AccessToken == "" {
		p.fail("WECHAT_APP_SECRET", "is required when WECHAT_APP_ID is set")
	}
	if c.AppSecret != "" && c.AppID == "" {
		p.fail("WECHAT_APP_ID", "is required when WECHAT_APP_SECRET is set")
	}
	return c, errors.Join(p.errs...)
}

type parser struct {
	vals map[string]*string
	errs []error
}

func (p *parser) str(env string) string { return strings.TrimSpace(*p.vals[env]) }

func (p *parser) fail(env, why string) {
	p.errs = append(p.errs, fmt.Errorf("%s %s", env, why))
}

func (p *parser) duration(env string) time.Duration {
	d, err := time.ParseDuration(p.str(env))
	if err != nil || d < 0 {
		p.fail(env, fmt.Sprintf("must be a duration such as 5s or 250ms, got %q", p.str(env)))
	}
	return d
}

func (p *parser) positive(env string) int { return p.integer(env, 1, "a positive integer") }

func (p *parser) boolean(env string) bool {
	b, err := strconv.ParseBool(p.str(env))
	if err != nil {
		p.fail(env, fmt.Sprintf("must be true or false, got %q", p.str(env)))
	}
	return b
}

// natural is a non-negative integer (0 switches the feature off).
func (p *parser) natural(env string) int { return p.integer(env, 0, "0 or a positive integer") }

func (p *parser) integer(env string, least int, want string) int {
	n, err := strconv.Atoi(p.str(env))
	if err != nil || n < least {
		p.fail(env, fmt.Sprintf("must be %s, got %q", want, p.str(env)))
	}
	return n
}

// optionalBool is a boolean whose default depends on other settings.
func (p *parser) optionalBool(env string, def bool) bool {
	if p.str(env) == "" {
		return def
	}
	return p.boolean(env)
}

func (p *parser) list(env string) []string {
	var out []string
	for item := range strings.SplitSeq(p.str(env), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// auth reads AUTH_MODE and the credentials it needs, and refuses to serve
// real orders to anyone who can reach the port unless told so explicitly.
func (p *parser) auth(c *Config) {
	for _, m := range p.list("AUTH_MODE") {
		switch m {
		case "none":
		case "jwt":
			c.AuthJWT = true
		case "apikey":
			c.AuthAPIKey = true
		default:
			p.fail("AUTH_MODE", fmt.Sprintf("has %q; want none, jwt, apikey or jwt,apikey", m))
		}
	}
	if c.AuthJWT {
		secret, keyFile := p.str("JWT_SECRET"), p.str("JWT_PUBLIC_KEY_FILE")
		switch {
		case secret != "" && keyFile != "":
			p.fail("JWT_SECRET", "and JWT_PUBLIC_KEY_FILE are exclusive: one algorithm only")
		case secret != "":
			if len(secret) < 32 {
				p.fail("JWT_SECRET", "must be at least 32 bytes")
			}
			c.JWTSecret = []byte(secret)
		case keyFile != "":
			pemBytes, err := os.ReadFile(keyFile)
			if err == nil {
				c.JWTPublicKey, err = auth.ParsePublicKey(pemBytes)
			}
			if err != nil {
				p.fail("JWT_PUBLIC_KEY_FILE", err.Error())
			}
		default:
			p.fail("JWT_SECRET", "or JWT_PUBLIC_KEY_FILE is required with AUTH_MODE=jwt")
		}
	}
	if c.AuthAPIKey {
		keys, err := auth.ParseAPIKeys(p.str("API_KEYS"))
		if err != nil {
			p.fail("API_KEYS", err.Error()+" (required with AUTH_MODE=apikey)")
		}
		c.APIKeys = keys
	}
	if !c.AuthJWT && !c.AuthAPIKey && c.Mode() != ModeSandbox && !c.AllowAnonymous {
		p.fail("AUTH_MODE", "is none while real WeChat credentials are configured: anyone who reaches the port would read every order; set AUTH_MODE, or ALLOW_ANONYMOUS=true to accept that")
	}
}

func (p *parser) level(env string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(p.str(env))); err != nil {
		p.fail(env, fmt.Sprintf("must be debug, info, warn or error, got %q", p.str(env)))
	}
	return l
}
