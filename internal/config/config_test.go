package config

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func load(args []string, env map[string]string) (Config, error) {
	return Load(args, func(k string) string { return env[k] }, io.Discard)
}

func TestDefaultsAreSandbox(t *testing.T) {
	c, err := load(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode() != ModeSandbox || c.Addr != ":8080" || c.APIBaseURL != "https://api.weixin.qq.com" ||
		c.UpstreamTimeout != 5*time.Second || c.UpstreamConcurrency != 16 || c.MaxIDsPerQuery != 100 || !c.Playground {
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
	if err != nil || c.Addr != ":9999" || c.UpstreamTimeout != 2*time.Second {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestInvalidValuesNameTheVariable(t *testing.T) {
	for env, bad := range map[string]string{
		"UPSTREAM_TIMEOUT": "soon", "UPSTREAM_CONCURRENCY": "0", "UPSTREAM_MAX_IN_FLIGHT": "-4", "MAX_IDS_PER_QUERY": "many",
		"PLAYGROUND": "maybe", "LOG_LEVEL": "loud", "WECHAT_API_BASE_URL": "ftp://x", "BATCH_WAIT": "-1ms", "MAX_BODY_BYTES": "1e6",
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
	if c.Playground || c.Introspection || len(c.CORSOrigins) != 0 || c.RateLimit == 0 {
		t.Fatalf("production defaults: playground %v, introspection %v, CORS %v, rate limit %d", c.Playground, c.Introspection, c.CORSOrigins, c.RateLimit)
	}
	s, _ := load(nil, nil)
	if !s.Playground || !s.Introspection || len(s.CORSOrigins) != 1 || s.CORSOrigins[0] != "*" {
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
}

// Every setting is in the README's configuration table, with its flag.
func TestREADMEListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Settings {
		row := "| `" + s.env + "` |"
		i := strings.Index(string(readme), row)
		if i < 0 {
			t.Errorf("README has no configuration row for %s", s.env)
			continue
		}
		line, _, _ := strings.Cut(string(readme)[i:], "\n")
		if s.flag != "" && !strings.Contains(line, "`-"+s.flag+"`") {
			t.Errorf("README row for %s does not name its flag -%s: %s", s.env, s.flag, line)
		}
	}
}
