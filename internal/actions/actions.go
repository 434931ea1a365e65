// Package actions runs order actions (the contract's mutations) so that a
// client on a bad network can retry any of them safely:
//
//   - idempotency: an action is keyed by the caller, the mutation and the
//     client's idempotencyKey; the same key and input within KeyTTL
//     answers the stored result (replayed), another input is refused, and
//     a second request with the key while the first runs waits for it;
//   - one write per order at a time: a lock per order (an after-sale
//     order's writes count for its order), fleet-wide with Redis;
//   - no write sent twice: a write that may have reached WeChat (a
//     timeout, a dropped connection, -1) is resolved by reading the order
//     back; only a read-back that shows the write missing allows one more
//     attempt, and one that cannot tell answers outcome UNKNOWN, which a
//     retry with the same key resolves by reading back before writing (the
//     baseline it reads against is stored before the write leaves);
//   - read-back: the payload's order is read from WeChat after the write,
//     never from the cache, and every cached copy of it is forgotten.
//
// The family's calls are an order.Writer; this package knows no wire format.
package actions

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/ordergraph/ordergraph/internal/auth"
	"github.com/ordergraph/ordergraph/internal/budget"
	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/metrics"
	"github.com/ordergraph/ordergraph/internal/order"
)

// Config tunes the service.
type Config struct {
	// KeyTTL is how long an idempotency key answers its first result.
	KeyTTL time.Duration
	// LockTTL bounds one action: how long it may hold its order, and so
	// its deadline; a lock whose holder died lapses after it.
	LockTTL time.Duration
}

// DefaultConfig is 24 hours of idempotency, and 30 seconds of lock and
// claim, of which an action gets 25 (leaseMargin).
func DefaultConfig() Config { return Config{KeyTTL: 24 * time.Hour, LockTTL: 30 * time.Second} }

// MaxCalls bounds the upstream calls of one action: the after-sale order
// (to learn its order), a read before the write, at most two writes and a
// read-back after each.
const MaxCalls = 6

// Service runs actions against a family's writer.
type Service struct {
	cfg  Config
	shop string
	// writer nil: the family has no actions.
	writer     order.Writer
	orders     order.Source
	afterSales order.AfterSaleSource
	forget     order.Forgetter
	records    Records
	locks      Locks
	log        *slog.Logger
	metrics    *metrics.Metrics
	now        func() time.Time
}

// Deps are what the service acts through. Orders and AfterSales must read
// WeChat directly (no cache, no coalescing): a read-back must see the
// write. Forget drops an order from every cache of the fleet.
type Deps struct {
	// Shop is the shop's authorizer appid in provider mode: records and
	// locks kept with other shops' are keyed by it too.
	Shop       string
	Writer     order.Writer
	Orders     order.Source
	AfterSales order.AfterSaleSource
	Forget     order.Forgetter
	Records    Records
	Locks      Locks
	Logger     *slog.Logger
	Metrics    *metrics.Metrics
	Now        func() time.Time
}

// New returns a service.
func New(cfg Config, d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{cfg: cfg, shop: d.Shop, writer: d.Writer, orders: d.Orders, afterSales: d.AfterSales, forget: d.Forget,
		records: d.Records, locks: d.Locks, log: d.Logger, metrics: d.Metrics, now: d.Now}
}

// verdict is what a read-back tells of a write.
type verdict int

const (
	notApplied verdict = iota
	applied
	cannotTell
)

// plan is one action on a target read from WeChat (an order or an
// after-sale order).
type plan[T any] struct {
	mutation string
	key      string
	input    any // fingerprinted: the domain value, so that equivalent inputs agree
	// orderID is the order whose lock the action takes; target the id it
	// reads back (the order's, or the after-sale order's).
	orderID, target uint64
	// resolve, when set, learns orderID (an after-sale order's order)
	// once the key is claimed.
	resolve func(ctx context.Context) (uint64, error)
	read    func(ctx context.Context, id uint64) (T, error)
	// prepare checks the input against the target read before the write,
	// and may complete it (a whole parcel's items); nil: no read before.
	prepare func(before T) []*order.Refusal
	write   func(ctx context.Context) error
	// check tells from before and after whether the write applied.
	check func(before, after T) verdict
	// pending: WeChat's success means "asked" (the Store's address
	// change); a read-back that shows the change means it is done.
	pending bool
}

// result is what an action answers, and what its key stores.
type result[T any] struct {
	Target     T
	Pending    bool
	Replayed   bool
	UserErrors []UserError
}

// run runs p with its key.
func run[T any](ctx context.Context, s *Service, p plan[T]) (res result[T], err error) {
	start := s.now()
	outcome, errcode := "ok", int64(0)
	defer func() {
		switch {
		case err != nil:
			outcome = "error"
			var oe *order.Error
			if errors.As(err, &oe) && oe.Outcome != "" {
				outcome = "unknown"
			}
		case res.Replayed:
			outcome = "replayed"
		case len(res.UserErrors) > 0:
			outcome = string(res.UserErrors[0].Code)
			if e := res.UserErrors[0].UpstreamErrcode; e != nil {
				errcode = *e
			}
		}
		s.audit(ctx, p.mutation, p.key, p.orderID, p.target, outcome, errcode, s.now().Sub(start))
	}()
	if s.writer == nil {
		return result[T]{UserErrors: userErrors([]*order.Refusal{order.Refuse(codes.NotSupported, "the upstream family has no order actions")})}, nil
	}
	key := recordKey(s.shop, auth.FromContext(ctx).Subject, p.mutation, p.key)
	hash := fingerprint(p.mutation, p.input)
	owner := newOwner()
	found, until, err := s.claim(ctx, key, hash, owner)
	if err != nil {
		return res, err
	}
	switch {
	case found.State == Done && found.Hash == hash:
		if err := json.Unmarshal(found.Payload, &res); err != nil {
			return res, order.Errorf(codes.Internal, "a stored action result could not be read", err)
		}
		res.Replayed = true
		return res, nil
	case found.Hash != "" && found.Hash != hash:
		return result[T]{UserErrors: userErrors([]*order.Refusal{order.Refuse(codes.IdempotencyKeyReused, "this idempotencyKey was used with another input in the last 24 hours", "input", "idempotencyKey")})}, nil
	}

	// The action runs to its end even if the client goes away, so that its
	// outcome is recorded for the retry. Its deadline ends well before its
	// claim's lease and its order's lock, so that no other request takes
	// either while it may still write. What it records, and the lock's
	// release, run on contexts of their own: a deadline reached during a
	// write must not keep the outcome from being stored.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.LockTTL-leaseMargin)
	defer cancel()
	ctx = budget.With(ctx, MaxCalls, 0)
	detached := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), bookkeeping)
	}

	// sent says a write may have applied whose outcome is not recorded:
	// the key then must not be released, whatever happens, so that a retry
	// reads back rather than writes. settled says the outcome is recorded.
	sent, settled := false, false
	defer func() {
		if !settled && !sent {
			dctx, done := detached()
			_ = s.records.Release(dctx, key, owner)
			done()
		}
	}()
	store := func(r Record) bool {
		dctx, done := detached()
		defer done()
		r.Hash, r.Owner = hash, owner
		return s.records.Settle(dctx, key, owner, r, s.cfg.KeyTTL) == nil
	}
	settle := func(r result[T]) (result[T], error) {
		if b, jerr := json.Marshal(r); jerr == nil {
			settled = store(Record{State: Done, Payload: b})
		}
		return r, nil
	}
	unknown := func(before T, cause error) (result[T], error) {
		b, _ := json.Marshal(before)
		settled = store(Record{State: Unknown, Baseline: b})
		e := &order.Error{Code: order.ErrorCode(cause), Message: "it is not known whether WeChat applied the action; retry with the same idempotencyKey, which reads the order back before writing", Outcome: "UNKNOWN", Cause: cause}
		var oe *order.Error
		if errors.As(cause, &oe) {
			e.Errcode = oe.Errcode
		}
		return res, e
	}
	forget := func() {
		dctx, done := detached()
		s.forget.Forget(dctx, p.orderID)
		done()
	}

	// An earlier attempt with this key recorded what it read before it
	// wrote (the baseline, stored before any write is sent): once the
	// target is read back, the baseline tells whether that write applied.
	// A key taken over without one saw no write sent.
	var baseline T
	earlier := found.State != "" && len(found.Baseline) > 0
	if earlier {
		_ = json.Unmarshal(found.Baseline, &baseline)
		sent = true // until the read-back tells
	}
	if p.resolve != nil {
		if p.orderID, err = p.resolve(ctx); err != nil {
			if r := refusalOf(err); r != nil && !earlier {
				return settle(result[T]{UserErrors: userErrors([]*order.Refusal{r})})
			}
			if earlier {
				return unknown(baseline, err)
			}
			return res, err
		}
	}
	// Half the action's time at most goes to waiting for the order.
	lockCtx, stopWaiting := context.WithTimeout(ctx, s.cfg.LockTTL/2)
	unlock, err := s.locks.Lock(lockCtx, lockKey(s.shop, p.orderID), s.cfg.LockTTL)
	stopWaiting()
	switch {
	case err != nil && earlier:
		return unknown(baseline, order.Errorf(codes.UpstreamUnavailable, "the order could not be locked to read it back", err))
	case err != nil && lockCtx.Err() == nil:
		return res, order.Errorf(codes.UpstreamUnavailable, "the store of order locks is unreachable; the action was not sent", err)
	case err != nil:
		return result[T]{UserErrors: userErrors([]*order.Refusal{order.Refuse(codes.ConcurrentUpdate, "other actions on this order kept it busy; try again")})}, nil
	}
	defer func() {
		dctx, done := detached()
		defer done()
		unlock(dctx)
	}()

	var before T
	if p.prepare != nil || earlier {
		if before, err = p.read(ctx, p.target); err != nil {
			if earlier {
				return unknown(baseline, err) // still unknown: keep the record for the next retry
			}
			if r := refusalOf(err); r != nil {
				return settle(result[T]{UserErrors: userErrors([]*order.Refusal{r})})
			}
			return res, err
		}
	}
	if earlier {
		switch p.check(baseline, before) {
		case applied:
			// The earlier attempt wrote: this call writes nothing, as a
			// replay does.
			sent = false
			r, err := settle(result[T]{Target: before, Pending: false})
			r.Replayed = true
			return r, err
		case cannotTell:
			return unknown(baseline, order.Errorf(codes.UpstreamUnavailable, "an earlier attempt's outcome still cannot be told", nil))
		}
		sent = false // it did not apply
	}
	if p.prepare != nil {
		if refusals := p.prepare(before); len(refusals) > 0 {
			return settle(result[T]{Target: before, UserErrors: userErrors(refusals)})
		}
	}
	// The baseline goes into the claim before the write leaves: should
	// this process die mid-write, the request that takes the key over
	// reads back against it.
	if b, _ := json.Marshal(before); !store(Record{State: Pending, Until: until, Baseline: b}) {
		return res, order.Errorf(codes.UpstreamUnavailable, "the store of idempotency keys is unreachable; the action was not sent", nil)
	}
	for attempt := 1; ; attempt++ {
		sent = true
		err := p.write(ctx)
		if err == nil || order.MayHaveApplied(err) {
			forget()
		}
		if err == nil {
			after, rerr := p.read(ctx, p.target)
			if rerr != nil {
				s.log.LogAttrs(ctx, slog.LevelWarn, "order action applied; its read-back failed", slog.String("mutation", p.mutation), slog.String("code", string(order.ErrorCode(rerr))))
			}
			forget() // a read elsewhere between the write and WeChat showing it
			return settle(result[T]{Target: after, Pending: p.pending && rerr == nil && p.check(before, after) != applied})
		}
		if r := refusalOf(err); r != nil {
			if attempt == 2 {
				// The first attempt, which its read-back showed missing, may
				// still have been under way at WeChat: a refusal of the
				// second (100003 above all, or the order's state) cannot
				// tell. Read back once more; if the first shows now, it
				// applied, else the outcome stays unknown and the key with it.
				if after, rerr := p.read(ctx, p.target); rerr == nil && p.check(before, after) == applied {
					forget()
					return settle(result[T]{Target: after})
				}
				return unknown(before, order.Errorf(codes.UpstreamUnavailable, "WeChat refused the second attempt of a write whose first attempt may still apply", r))
			}
			sent = false // WeChat refused it: it did not apply
			// WeChat's refusal comes with the target as it is; one made
			// without a call (NOT_SUPPORTED) costs no read.
			target := before
			if p.prepare == nil && r.Errcode != nil {
				target, _ = p.read(ctx, p.target)
			}
			return settle(result[T]{Target: target, UserErrors: userErrors([]*order.Refusal{r})})
		}
		if !order.MayHaveApplied(err) {
			sent = false // refused before reaching WeChat, or by its infrastructure
			return res, err
		}
		after, rerr := p.read(ctx, p.target)
		if rerr != nil {
			return unknown(before, err)
		}
		switch p.check(before, after) {
		case applied:
			forget()
			return settle(result[T]{Target: after, Pending: false})
		case cannotTell:
			return unknown(before, err)
		}
		sent = false // missing for certain
		if attempt == 2 {
			return res, err // twice missing: nothing applied, the key is free
		}
		before = after
	}
}

// claim takes the key for owner, waiting while another request holds it
// for the same input (at most a lease: a holder that died lets go by
// then), and returns what the key held and when the claim lapses.
func (s *Service) claim(ctx context.Context, key, hash, owner string) (Record, time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.LockTTL+leaseMargin)
	defer cancel()
	wait := 20 * time.Millisecond
	for {
		now := s.now()
		until := now.Add(s.cfg.LockTTL)
		found, claimed, err := s.records.Claim(ctx, key, hash, owner, until, now, s.cfg.KeyTTL)
		if err != nil {
			return Record{}, until, order.Errorf(codes.UpstreamUnavailable, "the store of idempotency keys is unreachable; the action was not sent", err)
		}
		if claimed || found.State != Pending || found.Hash != hash {
			return found, until, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return Record{}, until, order.Errorf(codes.UpstreamUnavailable, "an earlier request with this idempotencyKey is still running; retry with the same key", ctx.Err())
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// leaseMargin is how much sooner an action's deadline comes than its
// claim's lease and its order's lock, which outlive it so that nobody
// takes either while it may write: replicas' clocks may differ by this
// much. bookkeeping bounds recording an outcome and releasing a lock.
const (
	leaseMargin = 5 * time.Second
	bookkeeping = 3 * time.Second
)

// newOwner names one claim, so that only its holder settles or releases it.
func newOwner() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// refusalOf is err as a userError: a refusal, or a missing order.
func refusalOf(err error) *order.Refusal {
	var r *order.Refusal
	switch {
	case errors.As(err, &r):
		return r
	case order.IsCode(err, codes.OrderNotFound):
		return order.Refuse(codes.UserOrderNotFound, "order not found", "input", "orderId")
	case order.IsCode(err, codes.AfterSaleNotFound):
		return order.Refuse(codes.UserAfterSaleMissing, "after-sale order not found", "input", "aftersaleOrderId")
	case order.IsCode(err, codes.BadUserInput):
		return order.Refuse(codes.InvalidInput, "WeChat refused the id")
	}
	return nil
}

// recordKey names an idempotency record: the shop, the caller, the
// mutation and the client's key, hashed so that a key of any content makes
// a short, safe storage key.
func recordKey(shop, subject, mutation, key string) string {
	named := strconv.Quote(subject) + strconv.Quote(mutation) + strconv.Quote(key)
	if shop != "" {
		// Only then: a single-shop server's records keep their keys.
		named = strconv.Quote(shop) + named
	}
	sum := sha256.Sum256([]byte(named))
	return hex.EncodeToString(sum[:16])
}

// lockKey names an order's lock: order ids are unique within a shop only.
func lockKey(shop string, orderID uint64) string {
	if shop == "" {
		return strconv.FormatUint(orderID, 10)
	}
	return shop + ":" + strconv.FormatUint(orderID, 10)
}

// fingerprint is a hash of the action's input: its domain value, so that
// equivalent inputs (virtual omitted or false) agree.
func fingerprint(mutation string, input any) string {
	b, _ := json.Marshal(input)
	sum := sha256.Sum256(append([]byte(mutation+"\x00"), b...))
	return hex.EncodeToString(sum[:16])
}

// audit writes the action's log line: who, what, on which order, with
// which key and outcome; never the input's content (addresses, phone
// numbers, notes).
func (s *Service) audit(ctx context.Context, mutation, key string, orderID, target uint64, outcome string, errcode int64, took time.Duration) {
	s.metrics.Action(mutation, outcome)
	if r := []rune(key); len(r) > MaxKeyLength { // refused, and not worth a long log line
		key = string(r[:MaxKeyLength]) + "…"
	}
	attrs := []slog.Attr{
		slog.String("subject", subjectOf(ctx)), slog.String("mutation", mutation),
		slog.String("idempotency_key", key), slog.String("outcome", outcome),
		slog.Float64("duration_ms", float64(took.Microseconds())/1000),
	}
	if orderID != 0 {
		attrs = append(attrs, slog.String("order_id", strconv.FormatUint(orderID, 10)))
	}
	if target != 0 && target != orderID {
		attrs = append(attrs, slog.String("aftersale_order_id", strconv.FormatUint(target, 10)))
	}
	if errcode != 0 {
		attrs = append(attrs, slog.Int64("upstream_errcode", errcode))
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "order action", attrs...)
}

func subjectOf(ctx context.Context) string {
	if s := auth.FromContext(ctx).Subject; s != "" {
		return s
	}
	return "anonymous"
}
