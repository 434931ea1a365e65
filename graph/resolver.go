// Package graph is the GraphQL edge: gqlgen's generated executor, the thin
// resolvers (Query's fields delegate to the request's loaders and to package
// listing, orderEvents subscribes to the event bus), the checks run on each
// document before it executes (limits.go, authz.go), and the translation of
// domain errors into GraphQL errors (errors.go).
package graph

import (
	"github.com/ordergraph/ordergraph/internal/actions"
	"github.com/ordergraph/ordergraph/internal/events"
	"github.com/ordergraph/ordergraph/internal/listing"
	"github.com/ordergraph/ordergraph/internal/order"
)

//go:generate go run github.com/ordergraph/ordergraph/cmd/graphgen

// Resolver holds what the resolvers need besides the request's loaders.
type Resolver struct {
	// MaxIDs caps orders(ids:); larger lists are refused before any upstream call.
	MaxIDs int
	// Lists pages through the family's orders; nil: listOrders and
	// searchOrders are unavailable.
	Lists order.Lister
	// Family is the upstream family's name, which list cursors are bound to.
	Family string
	// Cursors seals and opens list cursors.
	Cursors *listing.Cursors
	// PagesLoadOrders says the family's lists answer ids, each a get.
	PagesLoadOrders bool
	// Events is the process's order event bus; nil: orderEvents is
	// unavailable (no Store push configured, no Mini Shop polling).
	Events *events.Bus
	// EventBuffer is how many events a subscriber may fall behind.
	EventBuffer int
	// Actions runs the mutations and their lookups.
	Actions *actions.Service
}
