package graph

import (
	"context"
	"time"

	"github.com/ordergraph/ordergraph/internal/auth"
	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/listing"
	"github.com/ordergraph/ordergraph/internal/loader"
	"github.com/ordergraph/ordergraph/internal/order"
)

var errNoLists = order.Errorf(codes.UpstreamUnavailable, "order lists are not available from this upstream", nil)

// listRequest is what listOrders and searchOrders pass on: the paging
// arguments, the caller's view (a buyer sees their own orders only), and
// the request's order loader, primed with every listed order and loading
// the orders of a family whose list answers ids only.
func listRequest(ctx context.Context, family string, first *int, after *string) listing.Request {
	loaders := loader.For(ctx)
	req := listing.Request{
		Family: family, First: first, After: after, Now: time.Now(),
		Prime: func(o *order.Order) { loaders.Prime(ctx, o) },
		Load:  func(ids []uint64) ([]*order.Order, []error) { return loaders.Orders(ctx, ids) },
	}
	if p := auth.FromContext(ctx); p.Role != auth.RoleMerchant {
		req.Visible, req.Buyer = p.CanSee, p.Openid
	}
	return req
}
