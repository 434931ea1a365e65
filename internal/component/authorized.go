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
// When src starts fetches without a goroutine each (order.Starter), so
// does the shop's source.
func Authorized(tokens wechat.TokenSource, src order.Source) order.Source {
	a := authorized{grant: grant{tokens}, src: src}
	if s, ok := src.(order.Starter); ok {
		return authorizedStarter{a, s}
	}
	return a
}

// AuthorizedLists is lists, a shop's pages (a page cache), behind the
// shop's grant, as Authorized is for its orders.
func AuthorizedLists(tokens wechat.TokenSource, lists order.Lister) order.Lister {
	return authorizedLists{grant: grant{tokens}, lists: lists}
}

type grant struct{ tokens wechat.TokenSource }

// revoked is SHOP_NOT_AUTHORIZED when the shop has not authorized the
// platform. Any other failure to get a token is the source's to meet:
// what was kept may still be served while WeChat is away.
func (g grant) revoked(ctx context.Context) error {
	if _, err := g.tokens.Token(ctx); order.IsCode(err, codes.ShopNotAuthorized) {
		return err
	}
	return nil
}

type authorized struct {
	grant
	src order.Source
}

func (a authorized) Order(ctx context.Context, id uint64) (*order.Order, error) {
	if err := a.revoked(ctx); err != nil {
		return nil, err
	}
	return a.src.Order(ctx, id)
}

type authorizedStarter struct {
	authorized
	src order.Starter
}

func (a authorizedStarter) Start(ctx context.Context, id uint64, ready func()) order.Fetch {
	if err := a.revoked(ctx); err != nil {
		ready()
		return order.Failed(err)
	}
	return a.src.Start(ctx, id, ready)
}

type authorizedLists struct {
	grant
	lists order.Lister
}

func (a authorizedLists) ListOrders(ctx context.Context, q order.ListQuery) (order.ListPage, error) {
	if err := a.revoked(ctx); err != nil {
		return order.ListPage{}, err
	}
	return a.lists.ListOrders(ctx, q)
}

func (a authorizedLists) SearchOrders(ctx context.Context, q order.SearchQuery) (order.ListPage, error) {
	if err := a.revoked(ctx); err != nil {
		return order.ListPage{}, err
	}
	return a.lists.SearchOrders(ctx, q)
}
