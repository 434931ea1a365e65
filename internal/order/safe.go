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
			log.LogAttrs(ctx, slog.LevelError, "panic while fetching an order", slog.Uint64("order_id", id), slog.String("panic", fmt.Sprintf("%T", p)))
			o, err = nil, Errorf(codes.Internal, "internal server error", nil)
		}
	}()
	return src.Order(ctx, id)
}
