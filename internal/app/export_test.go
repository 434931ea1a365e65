package app

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/order"
)

// SetSandboxEventInterval makes the Store sandbox push every d for the rest
// of the test.
func SetSandboxEventInterval(t *testing.T, d time.Duration) {
	was := sandboxPlayInterval
	sandboxPlayInterval = d
	t.Cleanup(func() { sandboxPlayInterval = was })
}

// PublishEvent publishes an event of the order id for s's shop, as a push
// or the poller would.
func PublishEvent(s *Server, id uint64) {
	shop, _ := s.shops.Get("")
	shop.Publish(order.Event{Kind: order.EventPaid, OrderID: id, At: time.Now(), Key: strconv.FormatUint(id, 10)})
}

// SetVersion stamps v as -ldflags -X would, for the rest of the test.
func SetVersion(t *testing.T, v string) {
	was := version
	version = v
	t.Cleanup(func() { version = was })
}

// CheckQuota makes s's quota watcher check now, as at a tick; false when
// s watches no quota.
func CheckQuota(s *Server) bool {
	if s.quota == nil {
		return false
	}
	s.quota.Check(context.Background())
	return true
}

// WrapListener makes the server Run serves on wrap its listener, for the
// rest of the test.
func WrapListener(t *testing.T, wrap func(net.Listener) net.Listener) {
	was := wrapListener
	wrapListener = wrap
	t.Cleanup(func() { wrapListener = was })
}
