// Package poller finds Mini Shop order changes, which the Mini Shop does
// not push: every interval it lists the orders updated since the last poll
// (with overlap, since update_time has one-second precision) and makes one
// UPDATED event per order whose (update_time, status) changed. The first
// poll only sets the baseline: there is no backfill.
package poller

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/ordergraph/ordergraph/internal/order"
)

// Lease lets one replica of a fleet poll at a time.
type Lease interface {
	// Hold reports whether this replica holds the lease for ttl from now,
	// taking or renewing it.
	Hold(ctx context.Context, ttl time.Duration) bool
}

// Config tunes the poller.
type Config struct {
	// Interval between polls (ORDER_POLL_INTERVAL); 0: off.
	Interval time.Duration
	// Overlap is how far each poll's window reaches back before the last.
	Overlap time.Duration
	// PageSize is how many orders one list call asks for.
	PageSize int
}

// DefaultConfig is the poller's configuration unless told otherwise.
func DefaultConfig() Config {
	return Config{Interval: 30 * time.Second, Overlap: time.Minute, PageSize: 100}
}

// maxPages bounds one poll: a shop changing more orders than this in one
// interval is seen in part, and logged.
const maxPages = 20

type seen struct {
	updated time.Time
	status  int64
}

// Poller polls a Lister for changes.
type Poller struct {
	cfg     Config
	lists   order.Lister
	lease   Lease
	publish func(order.Event)
	log     *slog.Logger

	last  time.Time // the end of the last poll's window; zero before the first
	known map[uint64]seen
}

// New returns a poller over lists, publishing each change.
func New(cfg Config, lists order.Lister, lease Lease, publish func(order.Event), log *slog.Logger) *Poller {
	return &Poller{cfg: cfg, lists: lists, lease: lease, publish: publish, log: log, known: map[uint64]seen{}}
}

// Run polls every interval until ctx ends.
func (p *Poller) Run(ctx context.Context) {
	tick := time.NewTicker(p.cfg.Interval)
	defer tick.Stop()
	for {
		p.Poll(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Poll makes one poll at now, when this replica holds the lease. Another
// replica's polls leave this one's memory behind, so after a hand-over it
// starts with a fresh baseline.
func (p *Poller) Poll(ctx context.Context, now time.Time) {
	if p.lease != nil && !p.lease.Hold(ctx, 2*p.cfg.Interval) {
		p.last, p.known = time.Time{}, map[uint64]seen{}
		return
	}
	baseline := p.last.IsZero()
	from := p.last.Add(-p.cfg.Overlap)
	if baseline {
		from = now.Add(-p.cfg.Interval - p.cfg.Overlap)
	}
	q := order.ListQuery{Field: order.Updated, From: from, To: now.Add(time.Second), Limit: p.cfg.PageSize}
	for page := 0; page < maxPages; page++ {
		q.Offset = page * p.cfg.PageSize
		got, err := p.lists.ListOrders(ctx, q)
		if err != nil {
			p.log.Warn("order poll failed; the next one covers its window", slog.String("code", string(order.ErrorCode(err))))
			return // p.last stays: the next poll reaches back over this window
		}
		for _, o := range got.Orders {
			p.see(o, baseline)
		}
		if len(got.Orders) < p.cfg.PageSize || q.Offset+len(got.Orders) >= got.Total {
			p.last = now
			p.forget(from)
			return
		}
	}
	p.log.Warn("order poll: more changed orders than one poll reads; some changes were missed", slog.Int("pages", maxPages))
	p.last = now
	p.forget(from)
}

func (p *Poller) see(o *order.Order, baseline bool) {
	if o.UpdateTime == nil {
		return
	}
	now := seen{updated: *o.UpdateTime, status: o.StatusCode}
	before, known := p.known[o.ID]
	if known && !now.updated.After(before.updated) && now.status == before.status {
		return
	}
	if known && now.updated.Before(before.updated) {
		return // an older view of a change already told
	}
	p.known[o.ID] = now
	if baseline && !known {
		return
	}
	p.publish(order.Event{Kind: order.EventUpdated, OrderID: o.ID, At: now.updated,
		Key: "poll|" + strconv.FormatUint(o.ID, 10) + "|" + strconv.FormatInt(now.updated.Unix(), 10) + "|" + strconv.FormatInt(now.status, 10)})
}

// forget drops what no later window can show unchanged: an order updated
// before from comes back only with a newer update_time, a change anyway.
func (p *Poller) forget(from time.Time) {
	for id, s := range p.known {
		if s.updated.Before(from) {
			delete(p.known, id)
		}
	}
}
