// Package graph is the GraphQL edge: gqlgen's generated executor, the thin
// resolvers (Query's fields delegate to the request's loaders and to package
// listing, orderEvents subscribes to the event bus), the checks run on each
// document before it executes (limits.go, authz.go), and the translation of
// domain errors into GraphQL errors (errors.go).
package graph

import (
	"context"

	"github.com/ordergraph/ordergraph/internal/listing"
	"github.com/ordergraph/ordergraph/internal/shops"
)

//go:generate go run github.com/ordergraph/ordergraph/cmd/graphgen

// Resolver holds what the resolvers need besides the operation's shop
// (its lists, events and actions: shopOf) and loaders.
type Resolver struct {
	// MaxIDs caps orders(ids:); larger lists are refused before any upstream call.
	MaxIDs int
	// Family is the upstream family's name, which list cursors are bound to.
	Family string
	// Cursors seals and opens list cursors.
	Cursors *listing.Cursors
	// PagesLoadOrders says the family's lists answer ids, each a get.
	PagesLoadOrders bool
	// EventBuffer is how many events a subscriber may fall behind.
	EventBuffer int
}

// shopOf is the shop ctx's operation is for: the HTTP layer puts it in
// every operation's context (shops.With), from the caller's credential.
func shopOf(ctx context.Context) *shops.Shop {
	s := shops.From(ctx)
	if s == nil {
		panic("graph: no shop in the operation's context; does every operation get one (shops.With)?")
	}
	return s
}
