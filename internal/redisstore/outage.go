package redisstore

import (
	"log/slog"
	"sync/atomic"
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
