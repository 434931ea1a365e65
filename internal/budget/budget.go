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
	"sync/atomic"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
)

type ctxKey struct{}

type budget struct{ left atomic.Int64 }

// With returns ctx with a budget of calls upstream calls.
func With(ctx context.Context, calls int) context.Context {
	b := &budget{}
	b.left.Store(int64(calls))
	return context.WithValue(ctx, ctxKey{}, b)
}

// ErrSpent is the error of a call the budget does not allow.
var ErrSpent = order.Errorf(codes.CostLimitExceeded, "this operation has made all the upstream calls its query cost allowed", nil)

// Spend takes one call from ctx's budget; false when none is left. Work
// done for no operation (the token, an event's order, the poller) has no
// budget and is never refused.
func Spend(ctx context.Context) bool {
	b, ok := ctx.Value(ctxKey{}).(*budget)
	return !ok || b.left.Add(-1) >= 0
}

// Left is how many calls ctx's budget still allows.
func Left(ctx context.Context) int {
	b, ok := ctx.Value(ctxKey{}).(*budget)
	if !ok {
		return math.MaxInt
	}
	return int(max(b.left.Load(), 0))
}
