package redisstore

import (
	"log/slog"
	"sync/atomic"
	"time"
)

// outage logs, once each, that Redis became unreachable for one use and
// that it came back, however many calls fail or succeed in between.
type outage struct {
	what, fallback string
	log            *slog.Logger
	down           atomic.Bool
}

// failed records a call that Redis did not answer.
func (o *outage) failed(err error) {
	if o.down.CompareAndSwap(false, true) {
		o.log.Warn(o.what+": Redis unreachable; "+o.fallback, slog.String("error", err.Error()))
	}
}

// answered records a call that Redis answered.
func (o *outage) answered() {
	if o.down.CompareAndSwap(true, false) {
		o.log.Info(o.what + ": Redis reachable again")
	}
}

// distrust is when a replica may read a cache in Redis again after a
// forget Redis did not take: what Redis holds may be stale until it has
// expired, a TTL after the failure.
type distrust struct {
	now   func() time.Time
	ttl   time.Duration
	until atomic.Int64 // Unix nano
}

func newDistrust(ttl time.Duration) distrust { return distrust{now: time.Now, ttl: ttl} }

// active says whether reads of the cache are refused now.
func (d *distrust) active() bool { return d.now().UnixNano() < d.until.Load() }

// missed records a forget that Redis did not take.
func (d *distrust) missed() { d.until.Store(d.now().Add(d.ttl).UnixNano()) }
