package config

import (
	"io"
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
