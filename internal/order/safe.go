package order

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/ordergraph/ordergraph/internal/codes"
)

// FetchSafely calls src.Order and turns a panic into an internal error for
// this id alone. Every goroutine that fetches orders goes through it: a bug
// in one adapter must fail one order, not the process. The panic value is
// logged by type only, since it may hold anything.
func FetchSafely(ctx context.Context, src Source, id uint64, log *slog.Logger) (o *Order, err error) {
	defer func() {
		if p := recover(); p != nil {
			o, err = nil, panicked(ctx, id, p, log)
		}
	}()
	return src.Order(ctx, id)
}

// StartSafely is FetchSafely for src.Start: a panic fails this id alone,
// and ready is called for it.
func StartSafely(ctx context.Context, src Starter, id uint64, ready func(), log *slog.Logger) (f Fetch) {
	defer func() {
		if p := recover(); p != nil {
			f = Failed(panicked(ctx, id, p, log))
			ready()
		}
	}()
	return src.Start(ctx, id, ready)
}

func panicked(ctx context.Context, id uint64, p any, log *slog.Logger) error {
	log.LogAttrs(ctx, slog.LevelError, "panic while fetching an order", slog.Uint64("order_id", id), slog.String("panic", fmt.Sprintf("%T", p)))
	return Errorf(codes.Internal, "internal server error", nil)
}
