package component

import (
	"context"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat"
)

// Authorized is src, a shop's orders, behind the shop's grant: a shop that
// has not authorized the platform, or has revoked it, is answered
// SHOP_NOT_AUTHORIZED before src (an order cache) can answer from what it
// kept. tokens is the shop's (ShopTokens): asking it costs nothing while
// it holds a valid token, and it learns of a revocation within Recheck.
func Authorized(tokens wechat.TokenSource, src order.Source) order.Source {
	return authorized{tokens: tokens, src: src}
}

type authorized struct {
	tokens wechat.TokenSource
	src    order.Source
}

func (a authorized) Order(ctx context.Context, id uint64) (*order.Order, error) {
	// Any other failure to get a token is the source's to meet: a cached
	// order may still be served while WeChat is away.
	if _, err := a.tokens.Token(ctx); order.IsCode(err, codes.ShopNotAuthorized) {
		return nil, err
	}
	return a.src.Order(ctx, id)
}
