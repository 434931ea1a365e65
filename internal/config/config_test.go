package config

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/graph"
	"github.com/ordergraph/ordergraph/internal/doctest"
	"github.com/ordergraph/ordergraph/internal/loader"
	"github.com/ordergraph/ordergraph/internal/ordercache"
	"github.com/ordergraph/ordergraph/internal/wechat"
)

func load(args []string, env map[string]string) (Config, error) {
	return Load(args, func(k string) string { return env[k] }, io.Discard)
}

func TestDefaultsAreSandbox(t *testing.T) {
	c, err := load(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode() != ModeSandbox || c.Addr != ":8080" || c.Upstream.BaseURL != "https://api.weixin.qq.com" ||
		c.Upstream.Timeout != 5*time.Second || c.HTTP.Loader.Concurrency != 16 || c.HTTP.MaxIDs != 100 || !c.HTTP.Playground {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

func TestModes(t *testing.T) {
	c, _ := load(nil, map[string]string{"WECHAT_APP_ID": "wx1", "WECHAT_APP_SECRET": "s"})
	if c.Mode() != ModeAppSecret {
		t.Errorf("app id and secret: %s", c.Mode())
	}
	c, _ = load(nil, map[string]string{"WECHAT_ACCESS_TOKEN": "t"})
	if c.Mode() != ModeStaticToken {
		t.Errorf("static token: %s", c.Mode())
	}
}

func TestFlagsOverrideVariables(t *testing.T) {
	c, err := load([]string{"-addr", ":9999", "-upstream-timeout", "2s"}, map[string]string{"ADDR": ":7777", "UPSTREAM_TIMEOUT": "9s"})
	if err != nil || c.Addr != ":9999" || c.Upstream.Timeout != 2*time.Second {
		t.Fatalf("%+v %v", c, err)
	}
}

// A flag is its variable's name in lower case with dashes, so that knowing
// one is knowing the other.
func TestFlagsFollowTheVariables(t *testing.T) {
	for _, s := range Settings {
		if want := strings.ReplaceAll(strings.ToLower(s.Env()), "_", "-"); s.Flag() != "" && s.Flag() != want {
			t.Errorf("%s has flag -%s, want -%s", s.Env(), s.Flag(), want)
		}
	}
}

func TestInvalidValuesNameTheVariable(t *testing.T) {
	for env, bad := range map[string]string{
		"UPSTREAM_TIMEOUT": "soon", "UPSTREAM_CONCURRENCY": "0", "UPSTREAM_MAX_IN_FLIGHT": "-4", "MAX_IDS_PER_QUERY": "many",
		"PLAYGROUND": "maybe", "LOG_LEVEL": "loud", "WECHAT_API_BASE_URL": "ftp://x", "SHUTDOWN_TIMEOUT": "-1ms", "MAX_BODY_BYTES": "1e6",
		"UPSTREAM_RETRIES": "-1", "UPSTREAM_RETRY_BUDGET": "1.5", "UPSTREAM_BREAKER": "maybe",
	} {
		_, err := load(nil, map[string]string{env: bad})
		if err == nil || !strings.Contains(err.Error(), env) {
			t.Errorf("%s=%s: error %v does not name the variable", env, bad, err)
		}
	}
}

func TestAppIDNeedsSecret(t *testing.T) {
	_, err := load(nil, map[string]string{"WECHAT_APP_ID": "wx1"})
	if err == nil || !strings.Contains(err.Error(), "WECHAT_APP_SECRET") {
		t.Fatalf("got %v", err)
	}
}

func TestAuthSettings(t *testing.T) {
	creds := map[string]string{"WECHAT_APP_ID": "wx1", "WECHAT_APP_SECRET": "s"}
	with := func(extra map[string]string) map[string]string {
		env := map[string]string{}
		for k, v := range creds {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		return env
	}
	for name, tt := range map[string]struct {
		env  map[string]string
		want string // variable the error must name; "" for no error
	}{
		"real credentials without auth": {with(nil), "AUTH_MODE"},
		"explicit anonymous":            {with(map[string]string{"ALLOW_ANONYMOUS": "true"}), ""},
		"unknown mode":                  {with(map[string]string{"AUTH_MODE": "oauth"}), "AUTH_MODE"},
		"jwt without a key":             {with(map[string]string{"AUTH_MODE": "jwt"}), "JWT_SECRET"},
		"short secret":                  {with(map[string]string{"AUTH_MODE": "jwt", "JWT_SECRET": "short"}), "JWT_SECRET"},
		"secret and key file":           {with(map[string]string{"AUTH_MODE": "jwt", "JWT_SECRET": strings.Repeat("k", 32), "JWT_PUBLIC_KEY_FILE": "/x.pem"}), "JWT_SECRET"},
		"missing key file":              {with(map[string]string{"AUTH_MODE": "jwt", "JWT_PUBLIC_KEY_FILE": "/nonexistent.pem"}), "JWT_PUBLIC_KEY_FILE"},
		"apikey without keys":           {with(map[string]string{"AUTH_MODE": "apikey"}), "API_KEYS"},
		"buyer API key":                 {with(map[string]string{"AUTH_MODE": "apikey", "API_KEYS": "a:buyer:" + strings.Repeat("ab", 32)}), "API_KEYS"},
		"short hash":                    {with(map[string]string{"AUTH_MODE": "apikey", "API_KEYS": "a:merchant:abcd"}), "API_KEYS"},
		"good keys":                     {with(map[string]string{"AUTH_MODE": "jwt,apikey", "JWT_SECRET": strings.Repeat("k", 32), "API_KEYS": "a:merchant:" + strings.Repeat("ab", 32)}), ""},
		"short cursor secret":           {with(map[string]string{"ALLOW_ANONYMOUS": "true", "CURSOR_SECRET": "short"}), "CURSOR_SECRET"},
		"cursor secret":                 {with(map[string]string{"ALLOW_ANONYMOUS": "true", "CURSOR_SECRET": strings.Repeat("c", 32)}), ""},
		"bad proxy CIDR":                {with(map[string]string{"ALLOW_ANONYMOUS": "true", "TRUSTED_PROXIES": "10.0.0.0"}), "TRUSTED_PROXIES"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := load(nil, tt.env)
			if tt.want == "" && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("error %v does not name %s", err, tt.want)
			}
		})
	}
}

func TestProductionDefaults(t *testing.T) {
	c, err := load(nil, map[string]string{"WECHAT_APP_ID": "wx1", "WECHAT_APP_SECRET": "s", "ALLOW_ANONYMOUS": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Playground || c.HTTP.Introspection || len(c.HTTP.CORSOrigins) != 0 || c.HTTP.RateLimit == 0 {
		t.Fatalf("production defaults: playground %v, introspection %v, CORS %v, rate limit %d", c.HTTP.Playground, c.HTTP.Introspection, c.HTTP.CORSOrigins, c.HTTP.RateLimit)
	}
	s, _ := load(nil, nil)
	if !s.HTTP.Playground || !s.HTTP.Introspection || len(s.HTTP.CORSOrigins) != 1 || s.HTTP.CORSOrigins[0] != "*" {
		t.Fatalf("sandbox defaults: %+v", s)
	}
}

func TestRedisURL(t *testing.T) {
	c, err := load(nil, map[string]string{"REDIS_URL": "redis://127.0.0.1:6379/0"})
	if err != nil || c.RedisURL != "redis://127.0.0.1:6379/0" {
		t.Fatalf("%q %v", c.RedisURL, err)
	}
	if _, err := load(nil, map[string]string{"REDIS_URL": "http://x"}); err == nil || !strings.Contains(err.Error(), "REDIS_URL") {
		t.Fatalf("got %v", err)
	}
	// A cluster: several seeds, or one with REDIS_CLUSTER; never a socket.
	seeds := "redis://10.0.0.1:7000, rediss://10.0.0.2:7000"
	if c, err := load(nil, map[string]string{"REDIS_URL": seeds}); err != nil || c.RedisURL != seeds {
		t.Fatalf("%q %v", c.RedisURL, err)
	}
	if c, err := load([]string{"-redis-cluster=true"}, map[string]string{"REDIS_URL": "redis://10.0.0.1:7000"}); err != nil || !c.RedisCluster {
		t.Fatalf("%+v %v", c.RedisCluster, err)
	}
	for _, env := range []map[string]string{
		{"REDIS_URL": "redis://10.0.0.1:7000,http://x"},
		{"REDIS_URL": "redis://10.0.0.1:7000,unix:///run/redis.sock"},
		{"REDIS_URL": "unix:///run/redis.sock", "REDIS_CLUSTER": "true"},
		{"REDIS_URL": "redis://10.0.0.1:7000", "REDIS_CLUSTER": "maybe"},
	} {
		if _, err := load(nil, env); err == nil || !strings.Contains(err.Error(), "REDIS_") {
			t.Errorf("%v: got %v", env, err)
		}
	}
}

// The README's configuration table is the settings list: one row per
// setting, in the same order, each naming its flag and its default, and no
// row for a setting that does not exist.
func TestREADMEListsEverySetting(t *testing.T) {
	var rows [][]string
	for _, row := range doctest.Rows(t, "../../README.md", "Configuration") {
		if len(row) >= 4 && strings.ToUpper(row[0]) == row[0] {
			rows = append(rows, row)
		}
	}
	for i, s := range Settings {
		if i >= len(rows) {
			t.Errorf("README has no configuration row for %s", s.Env())
			continue
		}
		row := rows[i]
		if row[0] != "`"+s.Env()+"`" {
			t.Errorf("README row %d is %s, want `%s`", i+1, row[0], s.Env())
			continue
		}
		wantFlag := ""
		if s.Flag() != "" {
			wantFlag = "`-" + s.Flag() + "`"
		}
		if row[1] != wantFlag {
			t.Errorf("README row for %s names flag %q, want %q", s.Env(), row[1], wantFlag)
		}
		wantDefault := ""
		if d := s.Default(); d != "" {
			wantDefault = "`" + d + "`"
			if strings.Contains(d, " ") {
				wantDefault = d
			}
		}
		if row[2] != wantDefault {
			t.Errorf("README row for %s has default %q, want %q", s.Env(), row[2], wantDefault)
		}
	}
	for _, row := range rows[min(len(rows), len(Settings)):] {
		t.Errorf("README has a configuration row for %s, which is no setting", row[0])
	}
	if t.Failed() {
		var want strings.Builder
		for _, s := range Settings {
			flag, def := "", s.Default()
			if s.Flag() != "" {
				flag = "`-" + s.Flag() + "`"
			}
			if def != "" && !strings.Contains(def, " ") {
				def = "`" + def + "`"
			}
			fmt.Fprintf(&want, "| `%s` | %s | %s | %s |\n", s.Env(), flag, def, s.help)
		}
		t.Logf("the settings as a table, to start the README's from:\n%s", want.String())
	}
}

// Defaults come from the components that own them, once: the settings
// table shows what the components would use anyway.
func TestDefaultsAreTheComponents(t *testing.T) {
	d := Defaults()
	if d.HTTP.Loader.Concurrency != loader.DefaultConfig().Concurrency || d.Upstream.Timeout != wechat.DefaultTransportConfig().Timeout || d.Upstream.Retries != wechat.DefaultTransportConfig().Retries ||
		d.HTTP.Limits != graph.DefaultLimits() || d.OrderCache.Size != ordercache.DefaultConfig().Size {
		t.Fatalf("defaults differ from the components': %+v", d)
	}
}

func TestUpstreamFaultSettings(t *testing.T) {
	c, err := load(nil, map[string]string{"UPSTREAM_RETRIES": "0", "UPSTREAM_RETRY_BUDGET": "0.5", "UPSTREAM_BREAKER": "off"})
	if err != nil || c.Upstream.Retries != 0 || c.Upstream.RetryBudget != 0.5 || c.Upstream.Breaker {
		t.Fatalf("%+v %v", c.Upstream, err)
	}
	for _, on := range []string{"on", "ON", "true", "1"} {
		if c, err := load(nil, map[string]string{"UPSTREAM_BREAKER": on}); err != nil || !c.Upstream.Breaker {
			t.Errorf("UPSTREAM_BREAKER=%s: %v %v", on, c.Upstream.Breaker, err)
		}
	}
}

func TestUpstreamFamily(t *testing.T) {
	c, err := load(nil, nil)
	if err != nil || c.Family.Name != "minishop" {
		t.Fatalf("default family %q, %v", c.Family.Name, err)
	}
	if c, err := load([]string{"-upstream-family", "minishop"}, nil); err != nil || c.Family.Name != "minishop" {
		t.Fatalf("minishop: %q, %v", c.Family.Name, err)
	}
	for value, want := range map[string]string{"store": "", "bogus": "minishop, store", "": ""} {
		_, err := load(nil, map[string]string{"UPSTREAM_FAMILY": value})
		if want == "" {
			if err != nil {
				t.Errorf("%q: %v", value, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "UPSTREAM_FAMILY") || !strings.Contains(err.Error(), want) {
			t.Errorf("UPSTREAM_FAMILY=%s: error %v, want one naming the variable and %q", value, err, want)
		}
	}
}
