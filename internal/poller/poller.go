// Package poller finds Mini Shop order changes, which the Mini Shop does
// not push: every interval it lists the orders updated since the last poll
// (with overlap, since update_time has one-second precision) and makes one
// UPDATED event per order whose (update_time, status) changed. The first
// poll only sets the baseline: there is no backfill; nor is there after a
// pause (see Poll). Events go out paced, so that a poll that finds many
// changes does not hand subscribers all of them at once.
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

// Seen is what a poll remembers of an order.
type Seen struct {
	Updated time.Time
	Status  int64
}

// Memory is what polls remember: the end of the last poll's window, and
// each recently seen order. With Redis the fleet shares it, so that the
// replica taking the lease over carries on where the last one stopped.
type Memory interface {
	// Last is the end of the last poll's window; false before the first.
	Last(ctx context.Context) (time.Time, bool, error)
	SetLast(ctx context.Context, t time.Time) error
	// Seen returns what was remembered of ids, aligned with them.
	Seen(ctx context.Context, ids []uint64) ([]*Seen, error)
	// Remember keeps changed orders for keep: long enough that no later
	// window can show them unchanged (an order updated earlier comes back
	// only with a newer update_time, a change anyway).
	Remember(ctx context.Context, changed map[uint64]Seen, keep time.Duration) error
}

// Config tunes the poller.
type Config struct {
	// Interval between polls (ORDER_POLL_INTERVAL); 0: off.
	Interval time.Duration
	// Overlap is how far each poll's window reaches back before the last.
	Overlap time.Duration
	// PageSize is how many orders one list call asks for.
	PageSize int
	// Pace is the time between two events of a poll: 500 a second, which
	// a subscriber reading promptly keeps up with (its buffer holds a
	// 128 ms stall), and the most one poll finds (maxPages pages) go out
	// in 4 s.
	Pace time.Duration
}

// DefaultConfig is the poller's configuration unless told otherwise.
func DefaultConfig() Config {
	return Config{Interval: 30 * time.Second, Overlap: time.Minute, PageSize: 100, Pace: 2 * time.Millisecond}
}

// maxPages bounds one poll: a shop changing more orders than this in one
// interval is seen in part, and logged.
const maxPages = 20

// Poller polls a Lister for changes.
type Poller struct {
	cfg     Config
	lists   order.Lister
	lease   Lease
	memory  Memory
	publish func(order.Event)
	// missed is told when a poll passed over changes it will never tell of
	// (see OnMissed); nil: nobody is.
	missed func()
	log    *slog.Logger
	// wait holds the next event back for d, or less if ctx ends first.
	wait func(ctx context.Context, d time.Duration) error
}

// New returns a poller over lists, publishing each change. A nil lease
// means this process polls alone.
func New(cfg Config, lists order.Lister, lease Lease, memory Memory, publish func(order.Event), log *slog.Logger) *Poller {
	return &Poller{cfg: cfg, lists: lists, lease: lease, memory: memory, publish: publish, log: log, wait: sleep}
}

// OnMissed has the poller call missed whenever a poll passes over changes
// it will never tell of: it resumed after a pause with a new baseline, or
// more orders changed than one poll reads. What keeps orders until their
// event (the caches) must then forget them all. It returns p.
func (p *Poller) OnMissed(missed func()) *Poller {
	p.missed = missed
	return p
}

func (p *Poller) miss() {
	if p.missed != nil {
		p.missed()
	}
}

// sleep waits d, or less if ctx ends first, and then says so.
func sleep(ctx context.Context, d time.Duration) error {
	timer, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	<-timer.Done()
	return ctx.Err()
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

// Poll makes one poll at now, when this replica holds the lease. A failed
// poll leaves the memory as it was: the next one reaches back over its
// window. A poll more than 2 × Interval + Overlap after the last one (the
// fleet was stopped, or WeChat failed for that long) takes a new baseline
// instead of catching up: what changed meanwhile is old news, and
// replaying it would cost a burst of events and order fetches.
func (p *Poller) Poll(ctx context.Context, now time.Time) {
	// The lease outlives the longest poll: its list calls, and its events
	// paced out.
	if p.lease != nil && !p.lease.Hold(ctx, 2*p.cfg.Interval+maxPages*time.Duration(p.cfg.PageSize)*p.cfg.Pace) {
		return
	}
	if err := p.poll(ctx, now); err != nil {
		p.log.Warn("order poll failed; the next one covers its window", slog.String("code", string(order.ErrorCode(err))))
	}
}

func (p *Poller) poll(ctx context.Context, now time.Time) error {
	last, polled, err := p.memory.Last(ctx)
	if err != nil {
		return err
	}
	if gap := now.Sub(last); polled && gap > 2*p.cfg.Interval+p.cfg.Overlap {
		p.log.Info("order poll: resuming after a pause with a new baseline; changes made during it are not told", slog.Duration("pause", gap))
		polled = false
		p.miss()
	}
	from := last.Add(-p.cfg.Overlap)
	if !polled {
		from = now.Add(-p.cfg.Interval - p.cfg.Overlap)
	}
	keep := now.Sub(from) + p.cfg.Interval + p.cfg.Overlap
	q := order.ListQuery{Field: order.Updated, From: from, To: now.Add(time.Second), Limit: p.cfg.PageSize}
	published := 0
	for page := 0; ; page++ {
		if page == maxPages {
			p.log.Warn("order poll: more changed orders than one poll reads; some changes were missed", slog.Int("pages", maxPages))
			p.miss()
			break
		}
		q.Offset = page * p.cfg.PageSize
		got, err := p.lists.ListOrders(ctx, q)
		if err != nil {
			return err
		}
		events, err := p.see(ctx, got.Orders, polled, keep)
		if err != nil {
			return err
		}
		for _, ev := range events {
			if published > 0 {
				if err := p.wait(ctx, p.cfg.Pace); err != nil {
					return err
				}
			}
			p.publish(ev)
			published++
		}
		if len(got.Orders) < p.cfg.PageSize || q.Offset+len(got.Orders) >= got.Total {
			break
		}
	}
	return p.memory.SetLast(ctx, now)
}

// see remembers a page's orders and returns the events of the changed
// ones, none for the baseline.
func (p *Poller) see(ctx context.Context, orders []*order.Order, polled bool, keep time.Duration) ([]order.Event, error) {
	ids := make([]uint64, len(orders))
	for i, o := range orders {
		ids[i] = o.ID
	}
	before, err := p.memory.Seen(ctx, ids)
	if err != nil {
		return nil, err
	}
	changed := map[uint64]Seen{}
	var events []order.Event
	for i, o := range orders {
		if o.UpdateTime == nil {
			continue
		}
		now := Seen{Updated: *o.UpdateTime, Status: o.StatusCode}
		if b := before[i]; b != nil && (now.Updated.Before(b.Updated) || (now.Updated.Equal(b.Updated) && now.Status == b.Status)) {
			continue // unchanged, or an older view of a change already told
		}
		changed[o.ID] = now
		if polled {
			events = append(events, order.Event{Kind: order.EventUpdated, OrderID: o.ID, At: now.Updated,
				Key: "poll|" + strconv.FormatUint(o.ID, 10) + "|" + strconv.FormatInt(now.Updated.Unix(), 10) + "|" + strconv.FormatInt(now.Status, 10)})
		}
	}
	// Remembered before publishing: a poll that fails after this does not
	// tell the same change twice.
	if err := p.memory.Remember(ctx, changed, keep); err != nil {
		return nil, err
	}
	return events, nil
}
