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
// the request's order loader to prime with every listed order.
func listRequest(ctx context.Context, family string, first *int, after *string) listing.Request {
	loaders := loader.For(ctx)
	req := listing.Request{
		Family: family, First: first, After: after, Now: time.Now(),
		Prime: func(o *order.Order) { loaders.Prime(ctx, o) },
	}
	if p := auth.FromContext(ctx); p.Role != auth.RoleMerchant {
		req.Visible = p.CanSee
	}
	return req
}
