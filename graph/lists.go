package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ordergraph/ordergraph/internal/auth"
	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/listing"
	"github.com/ordergraph/ordergraph/internal/loader"
	"github.com/ordergraph/ordergraph/internal/order"
)

// loadPage is the page of field with these arguments, loaded by load once
// per request however many aliases ask for it. Arguments that mean the
// same page name the same key: no filter is an empty one, no first is the
// default.
func loadPage[F any](ctx context.Context, field string, filter F, first *int, after *string, load func() (*order.OrderConnection, error)) (*order.OrderConnection, error) {
	n := listing.DefaultFirst
	if first != nil {
		n = *first
	}
	cursor := ""
	if after != nil {
		cursor = "after:" + *after
	}
	f, _ := json.Marshal(filter)
	if string(f) == "null" {
		f = []byte("{}")
	}
	return loader.For(ctx).Page(fmt.Sprintf("%s %s %d %s", field, f, n, cursor), load)
}

var errNoLists = order.Errorf(codes.UpstreamUnavailable, "order lists are not available from this upstream", nil)

// caller names who a cursor is for: the role, the credential and the
// buyer, and in provider mode the shop (only then, so that a single-shop
// server's cursors keep their form across an upgrade).
func caller(p auth.Principal) string {
	parts := []string{string(p.Role), p.Subject, p.Openid}
	if p.Shop != "" {
		parts = append([]string{p.Shop}, parts...)
	}
	return strings.Join(parts, "\x00")
}

// listRequest is what listOrders and searchOrders pass on: the paging
// arguments, who asks (their cursors are theirs alone) and what they may
// see (a buyer sees their own orders only), and the request's order
// loader, primed with every listed order and loading the orders of a
// family whose list answers ids only.
func (r *queryResolver) listRequest(ctx context.Context, first *int, after *string) listing.Request {
	loaders := loader.For(ctx)
	p := auth.FromContext(ctx)
	req := listing.Request{
		Family: r.Family, Cursors: r.Cursors, Caller: caller(p),
		First: first, After: after, Now: time.Now(), PagesLoadOrders: r.PagesLoadOrders,
		Prime: func(o *order.Order) { loaders.Prime(ctx, o) },
		Load:  func(ids []uint64) ([]*order.Order, []error) { return loaders.Orders(ctx, ids) },
	}
	if p.Role != auth.RoleMerchant {
		req.Visible, req.Buyer = p.CanSee, p.Openid
	}
	if anchor := shopOf(ctx).Anchor; anchor != nil {
		req.Anchor = func(scope string, now time.Time) time.Time { return anchor(ctx, scope, now) }
	}
	return req
}
