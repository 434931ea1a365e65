package app_test

import (
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/ordergraph/ordergraph/internal/app"
	"github.com/ordergraph/ordergraph/internal/config"
	"github.com/ordergraph/ordergraph/internal/redistest"
	"github.com/ordergraph/ordergraph/internal/wechattest"
)

// A replica that starts while the fleet's events flow through Redis takes
// them from its first moment: an event that comes before its shops are
// wired reaches nobody, and breaks nothing. (It once dereferenced the
// shops before they existed.)
func TestStartingWhileEventsFlow(t *testing.T) {
	redis := redistest.Start(t)
	fake := wechattest.New(t)
	vars := map[string]string{
		"WECHAT_APP_ID": wechattest.AppID, "WECHAT_APP_SECRET": wechattest.Secret, "WECHAT_API_BASE_URL": fake.URL,
		"ALLOW_ANONYMOUS": "true", "ORDER_POLL_INTERVAL": "1h", "REDIS_URL": redis.URL(),
	}
	cfg, err := config.Load(nil, func(k string) string { return vars[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// Another replica publishes events without pause.
	publisher, stopPublisher, err := app.Build(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for id := uint64(1); ; id++ {
			select {
			case <-done:
				return
			default:
				app.PublishEvent(publisher, id)
			}
		}
	})
	for range 50 {
		_, stop, err := app.Build(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		stop()
	}
	close(done)
	wg.Wait()
	stopPublisher()
}
