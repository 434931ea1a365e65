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
	"net/url"
	"strconv"
	"strings"
	"time"
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
	LogLevel            slog.Level
	SandboxLatency      time.Duration
	ShutdownTimeout     time.Duration
	MaxQueryCost        int
	OrderCacheTTL       time.Duration
	OrderCacheSize      int
	APQCacheSize        int
	AdminAddr           string
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
	{"PLAYGROUND", "playground", "true", "serve GraphiQL at / and allow introspection"},
	{"LOG_LEVEL", "log-level", "info", "debug, info, warn or error"},
	{"SANDBOX_LATENCY", "sandbox-latency", "0s", "added latency of each sandbox order call"},
	{"SHUTDOWN_TIMEOUT", "shutdown-timeout", "15s", "how long in-flight requests may finish on SIGINT/SIGTERM"},
	{"MAX_QUERY_COST", "max-query-cost", "100", "most upstream order fetches one operation may make"},
	{"ORDER_CACHE_TTL", "order-cache-ttl", "0s", "keep fetched orders this long (0: no cache)"},
	{"ORDER_CACHE_SIZE", "order-cache-size", "10000", "most orders the cache holds"},
	{"APQ_CACHE_SIZE", "apq-cache-size", "1000", "most automatic persisted queries remembered"},
	{"ADMIN_ADDR", "admin-addr", "", "address of the pprof admin listener (empty: off); never the public port"},
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
		Playground:          p.boolean("PLAYGROUND"),
		LogLevel:            p.level("LOG_LEVEL"),
		SandboxLatency:      p.duration("SANDBOX_LATENCY"),
		ShutdownTimeout:     p.duration("SHUTDOWN_TIMEOUT"),
		MaxQueryCost:        p.positive("MAX_QUERY_COST"),
		OrderCacheTTL:       p.duration("ORDER_CACHE_TTL"),
		OrderCacheSize:      p.positive("ORDER_CACHE_SIZE"),
		APQCacheSize:        p.positive("APQ_CACHE_SIZE"),
		AdminAddr:           p.str("ADMIN_ADDR"),
	}
	if u, err := url.Parse(c.APIBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.fail("WECHAT_API_BASE_URL", "must be an http(s) URL")
	}
	if c.UpstreamTimeout <= 0 {
		p.fail("UPSTREAM_TIMEOUT", "must be positive")
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

func (p *parser) positive(env string) int {
	n, err := strconv.Atoi(p.str(env))
	if err != nil || n <= 0 {
		p.fail(env, fmt.Sprintf("must be a positive integer, got %q", p.str(env)))
	}
	return n
}

func (p *parser) boolean(env string) bool {
	b, err := strconv.ParseBool(p.str(env))
	if err != nil {
		p.fail(env, fmt.Sprintf("must be true or false, got %q", p.str(env)))
	}
	return b
}

func (p *parser) level(env string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(p.str(env))); err != nil {
		p.fail(env, fmt.Sprintf("must be debug, info, warn or error, got %q", p.str(env)))
	}
	return l
}
