// Package budget holds what one GraphQL operation may still spend of the
// WeChat quota. The query cost (graph.Limits) is an upper bound of the
// upstream calls a document can make, charged before anything runs; the
// budget is that cost, carried in the operation's context and spent by
// every upstream call made for it, so that what was charged bounds what is
// spent even where the document cannot tell (how many after-sale orders an
// order has, how sparse a range is, an upstream that pages oddly). A walk
// that would go over stops and answers what it has; a call over the budget
// fails with COST_LIMIT_EXCEEDED at its own path.
package budget

import (
	"context"
	"math"
	"sync"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
)

type ctxKey struct{}

type aftersalesKey struct{}

// budget is an operation's calls left, of which aftersales are kept for
// after-sale orders: how many of those an order has is not in the document,
// so their calls must not eat the share of the operation's other fields,
// nor theirs the after-sale orders'.
type budget struct {
	mu               sync.Mutex
	left, aftersales int
}

// With returns ctx with a budget of calls upstream calls, aftersales of
// them for after-sale orders.
func With(ctx context.Context, calls, aftersales int) context.Context {
	return context.WithValue(ctx, ctxKey{}, &budget{left: calls, aftersales: min(aftersales, calls)})
}

// Without returns ctx with no budget: for work shared by several
// operations (one call for every request that wants the order), which
// each caller has paid for before it joins.
func Without(ctx context.Context) context.Context {
	return context.WithValue(ctx, ctxKey{}, (*budget)(nil))
}

// ForAftersales marks ctx's calls as fetching after-sale orders.
func ForAftersales(ctx context.Context) context.Context {
	return context.WithValue(ctx, aftersalesKey{}, true)
}

// ErrSpent is the error of a call the budget does not allow.
var ErrSpent = order.Errorf(codes.CostLimitExceeded, "this operation has made all the upstream calls its query cost allowed", nil)

// Spend takes one call from ctx's budget; false when none is left. Work
// done for no operation (the token, an event's order, the poller) has no
// budget and is never refused.
func Spend(ctx context.Context) bool {
	b, _ := ctx.Value(ctxKey{}).(*budget)
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if ctx.Value(aftersalesKey{}) != nil {
		if b.aftersales < 1 {
			return false
		}
		b.aftersales--
	} else if b.left-b.aftersales < 1 {
		return false
	}
	b.left--
	return true
}

// Left is how many calls ctx's budget still allows calls of its kind.
func Left(ctx context.Context) int {
	b, _ := ctx.Value(ctxKey{}).(*budget)
	if b == nil {
		return math.MaxInt
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if ctx.Value(aftersalesKey{}) != nil {
		return b.aftersales
	}
	return b.left - b.aftersales
}
