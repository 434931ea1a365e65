package quota_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/metrics"
	"github.com/ordergraph/ordergraph/internal/quota"
	"github.com/ordergraph/ordergraph/internal/wechat"
)

// upstream answers each API's quota as scripted, counting the questions.
type upstream struct {
	mu     sync.Mutex
	quotas map[string]wechat.Quota
	asked  int
}

func (u *upstream) Called() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var apis []string
	for api := range u.quotas {
		apis = append(apis, api)
	}
	return apis
}

func (u *upstream) Quota(_ context.Context, api string) (wechat.Quota, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.asked++
	q, ok := u.quotas[api]
	if !ok {
		return q, errors.New("not scripted")
	}
	return q, nil
}

func (u *upstream) set(api string, limit, used int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.quotas[api] = wechat.Quota{DailyLimit: limit, Used: used, Remain: limit - used}
}

func TestWarnsOncePastTheShareAndOnceBack(t *testing.T) {
	up := &upstream{quotas: map[string]wechat.Quota{}}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	m := metrics.New()
	w := quota.New(up, nil, time.Minute, m, log)
	ctx := context.Background()

	const api = "/channels/ec/order/get"
	for _, used := range []int64{100, 800, 801, 900, 950, 700, 600, 850} {
		up.set(api, 1000, used)
		w.Check(ctx)
	}
	text := logs.String()
	if n := strings.Count(text, "past 80%"); n != 2 {
		t.Errorf("warned %d times, want twice (at 801, and at 850 after the recovery):\n%s", n, text)
	}
	if n := strings.Count(text, "back below 80%"); n != 1 {
		t.Errorf("logged the recovery %d times, want once:\n%s", n, text)
	}
	if !strings.Contains(text, "level=WARN msg=\"upstream API past 80%") {
		t.Errorf("the warning is not at WARN:\n%s", text)
	}

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		`ordergraph_upstream_quota_limit{api="/channels/ec/order/get"} 1000`,
		`ordergraph_upstream_quota_used{api="/channels/ec/order/get"} 850`,
		`ordergraph_upstream_quota_remaining{api="/channels/ec/order/get"} 150`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// lease is held by this replica when held says so.
type lease struct{ held bool }

func (l *lease) Hold(context.Context, time.Duration) bool { return l.held }

func TestAsksOnlyWhileHoldingTheLease(t *testing.T) {
	up := &upstream{quotas: map[string]wechat.Quota{}}
	up.set("/a", 10, 1)
	l := &lease{}
	w := quota.New(up, l, time.Minute, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.Check(context.Background())
	if up.asked != 0 {
		t.Fatalf("asked %d times without the lease", up.asked)
	}
	l.held = true
	w.Check(context.Background())
	if up.asked != 1 {
		t.Fatalf("asked %d times with the lease, want 1", up.asked)
	}
}

func TestRunChecksAtEachTick(t *testing.T) {
	up := &upstream{quotas: map[string]wechat.Quota{}}
	up.set("/a", 10, 1)
	w := quota.New(up, nil, time.Minute, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ticks := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx, ticks) }()
	// Run takes a tick only once the check of the last is done.
	for range 3 {
		ticks <- time.Now()
	}
	ticks <- time.Now()
	cancel()
	<-done
	if up.asked < 3 {
		t.Fatalf("asked %d times after 3 ticks were checked", up.asked)
	}
}

func TestAFailedCheckIsLoggedAndTheRestGoOn(t *testing.T) {
	up := &upstream{quotas: map[string]wechat.Quota{}}
	up.set("/b", 10, 9)
	var logs bytes.Buffer
	w := quota.New(&failing{up, "/a"}, nil, time.Minute, nil, slog.New(slog.NewTextHandler(&logs, nil)))
	w.Check(context.Background())
	if !strings.Contains(logs.String(), "upstream quota check failed") || !strings.Contains(logs.String(), "api=/b") {
		t.Fatalf("want the failure of /a logged and /b checked:\n%s", logs.String())
	}
}

// failing also lists api, whose quota it cannot tell.
type failing struct {
	*upstream
	api string
}

func (f *failing) Called() []string { return append([]string{f.api}, f.upstream.Called()...) }
