package config

import (
	"strings"
	"testing"
)

// component is provider mode's four settings, with credentials that name
// each caller's shop.
func component() map[string]string {
	return map[string]string{
		"WECHAT_COMPONENT_APP_ID": "wxcomponent0001", "WECHAT_COMPONENT_APP_SECRET": "secret",
		"WECHAT_COMPONENT_TOKEN": "msg-token", "WECHAT_COMPONENT_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
		"AUTH_MODE": "jwt", "JWT_SECRET": strings.Repeat("k", 32),
	}
}

func TestProviderMode(t *testing.T) {
	c, err := load(nil, component())
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode() != ModeProvider || !c.Provider() || !c.Auth.RequireShop || c.Auth.ShopHeader || c.MaxActiveShops != 1000 {
		t.Fatalf("mode %s, provider %v, require shop %v, header %v, max %d", c.Mode(), c.Provider(), c.Auth.RequireShop, c.Auth.ShopHeader, c.MaxActiveShops)
	}
}

// One of the four missing, or a single shop's credentials beside them,
// stops start-up naming the variables.
func TestProviderSettingsAreExclusiveAndComplete(t *testing.T) {
	for _, missing := range []string{"WECHAT_COMPONENT_APP_ID", "WECHAT_COMPONENT_APP_SECRET", "WECHAT_COMPONENT_TOKEN", "WECHAT_COMPONENT_AES_KEY"} {
		env := component()
		delete(env, missing)
		if _, err := load(nil, env); err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("without %s: %v", missing, err)
		}
	}
	for _, mixed := range []string{"WECHAT_APP_ID", "WECHAT_APP_SECRET", "WECHAT_ACCESS_TOKEN"} {
		env := component()
		env[mixed] = "x"
		if _, err := load(nil, env); err == nil || !strings.Contains(err.Error(), mixed) || !strings.Contains(err.Error(), "WECHAT_COMPONENT_") {
			t.Errorf("with %s: %v", mixed, err)
		}
	}
	env := component()
	env["WECHAT_COMPONENT_AES_KEY"] = "short"
	if _, err := load(nil, env); err == nil || !strings.Contains(err.Error(), "WECHAT_COMPONENT_AES_KEY") {
		t.Errorf("a bad key: %v", err)
	}
}

// The shop comes from the credential: provider mode without one is
// refused at start-up, not request by request.
func TestProviderModeNeedsCredentials(t *testing.T) {
	env := component()
	env["AUTH_MODE"], env["ALLOW_ANONYMOUS"] = "none", "true"
	if _, err := load(nil, env); err == nil || !strings.Contains(err.Error(), "AUTH_MODE") {
		t.Fatalf("got %v", err)
	}
}

func TestSandboxShops(t *testing.T) {
	c, err := load(nil, map[string]string{"SANDBOX_SHOPS": "3"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode() != ModeSandbox || !c.Provider() || !c.Auth.RequireShop || !c.Auth.ShopHeader {
		t.Fatalf("mode %s, provider %v, require %v, header %v", c.Mode(), c.Provider(), c.Auth.RequireShop, c.Auth.ShopHeader)
	}
	// With credentials, the header never picks the shop.
	c, err = load(nil, map[string]string{"SANDBOX_SHOPS": "3", "AUTH_MODE": "jwt", "JWT_SECRET": strings.Repeat("k", 32)})
	if err != nil || c.Auth.ShopHeader || !c.Auth.RequireShop {
		t.Fatalf("%v: header %v", err, c.Auth.ShopHeader)
	}
	for _, bad := range []map[string]string{{"SANDBOX_SHOPS": "1"}, {"SANDBOX_SHOPS": "2", "WECHAT_APP_ID": "wx1", "WECHAT_APP_SECRET": "s", "ALLOW_ANONYMOUS": "true"}} {
		if _, err := load(nil, bad); err == nil || !strings.Contains(err.Error(), "SANDBOX_SHOPS") {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

// In provider mode an API key that names no shop could never be used: it
// stops start-up instead.
func TestProviderKeysNameTheirShop(t *testing.T) {
	env := component()
	env["AUTH_MODE"], env["API_KEYS"] = "apikey", "erp:merchant:"+strings.Repeat("ab", 32)
	if _, err := load(nil, env); err == nil || !strings.Contains(err.Error(), "API_KEYS") || !strings.Contains(err.Error(), "erp") {
		t.Fatalf("got %v", err)
	}
	env["API_KEYS"] += ":shop=wxshopa"
	if _, err := load(nil, env); err != nil {
		t.Fatal(err)
	}
}
