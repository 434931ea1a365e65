package app_test

import (
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/ordergraph/ordergraph/internal/app"
	"github.com/ordergraph/ordergraph/internal/config"
	"github.com/ordergraph/ordergraph/internal/redistest"
	"github.com/ordergraph/ordergraph/internal/wechattest"
)

// The watch asks WeChat about each API the server called, the token's
// own endpoint included and quota/get itself not; the answers are gauges,
// a WARN line once past 80% and one more once back below.
func TestQuotaWatchExportsGaugesAndWarnsOnce(t *testing.T) {
	s := mustOpenServer(t, nil)
	s.Fake.SetOrder(1001, `{"order_id":1001}`)
	if r := s.post(t, `{ order(id: "1001") { id } }`, nil); len(r.Errors) > 0 {
		t.Fatalf("query failed: %s", r.Raw)
	}
	if !app.CheckQuota(s.App) {
		t.Fatal("the quota watch is off by default outside the sandbox")
	}
	asked := s.Fake.QuotaAsked()
	if !slices.Contains(asked, "/product/order/get") || !slices.Contains(asked, "/cgi-bin/stable_token") || slices.Contains(asked, "/cgi-bin/openapi/quota/get") {
		t.Fatalf("quota asked for %v; want the order call and the token's, never quota/get's own", asked)
	}
	metrics := string(s.do(t, "GET", "/metrics", "", "", nil).Raw)
	for _, want := range []string{
		`ordergraph_upstream_quota_limit{api="/product/order/get"} 10000`,
		`ordergraph_upstream_quota_used{api="/product/order/get"} 1`,
		`ordergraph_upstream_quota_remaining{api="/product/order/get"} 9999`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	for _, used := range []int64{8500, 9000, 100, 200} {
		s.Fake.SetQuota("/product/order/get", wechattest.Quota{Limit: 10000, Used: used})
		app.CheckQuota(s.App)
	}
	logs := s.logText()
	if n := strings.Count(logs, `"level":"WARN","msg":"upstream API past 80%`); n != 1 {
		t.Errorf("%d WARN lines past 80%%, want 1:\n%s", n, logs)
	}
	if n := strings.Count(logs, "back below 80%"); n != 1 {
		t.Errorf("%d recovery lines, want 1", n)
	}
	// assertNoSecrets checks, when the test ends, that no token was logged.
}

func TestQuotaWatchOff(t *testing.T) {
	s := mustOpenServer(t, map[string]string{"UPSTREAM_QUOTA_WATCH": "0s"})
	s.Fake.SetOrder(1001, `{"order_id":1001}`)
	s.post(t, `{ order(id: "1001") { id } }`, nil)
	if app.CheckQuota(s.App) || s.Fake.QuotaCalls.Load() != 0 {
		t.Fatalf("UPSTREAM_QUOTA_WATCH=0s: a watcher, %d quota calls", s.Fake.QuotaCalls.Load())
	}
	cfg, err := config.Load(nil, func(string) string { return "" }, io.Discard)
	if err != nil || cfg.QuotaWatch != 0 {
		t.Fatalf("sandbox mode watches every %v (%v), want off unless set", cfg.QuotaWatch, err)
	}
}

// Two replicas on one Redis: one of them asks at a time.
func TestQuotaWatchOneReplicaAtATime(t *testing.T) {
	redis := redistest.Start(t)
	fake := wechattest.New(t)
	fake.SetOrder(1001, `{"order_id":1001}`)
	var servers []*server
	for range 2 {
		s := &server{Fake: fake}
		vars := map[string]string{
			"WECHAT_APP_ID": wechattest.AppID, "WECHAT_APP_SECRET": wechattest.Secret, "WECHAT_API_BASE_URL": fake.URL,
			"ALLOW_ANONYMOUS": "true", "RATE_LIMIT": "0", "ORDER_POLL_INTERVAL": "0s", "REDIS_URL": redis.URL(),
		}
		cfg, err := config.Load(nil, func(k string) string { return vars[k] }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		s.start(t, cfg, wechattest.Secret)
		s.post(t, `{ order(id: "1001") { id } }`, nil)
		servers = append(servers, s)
	}
	for range 3 {
		for _, s := range servers {
			app.CheckQuota(s.App)
		}
	}
	// Each replica called the order API and the token's; the first to
	// check holds the lease for all three rounds.
	apis := len(fake.QuotaAsked()) / 3
	if n := fake.QuotaCalls.Load(); n != 6 || apis != 2 {
		t.Fatalf("%d quota calls over 3 rounds of 2 replicas, want 6 (2 APIs × 3 rounds, one replica): %v", n, fake.QuotaAsked())
	}
}
