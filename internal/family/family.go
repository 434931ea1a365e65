// Package family says what an upstream API family is: everything the server
// needs to know of one (its calls, how it pages, how the server learns that
// an order changed, its sandbox), as one value. Each family package (minishop,
// wxstore) exports one such value; package families lists them, and the rest
// of the server asks the value rather than comparing names.
// docs/extending.md is the recipe for adding one.
package family

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/sandbox"
	"github.com/ordergraph/ordergraph/internal/wechat"
)

// Family is one upstream API family.
type Family struct {
	// Name is how UPSTREAM_FAMILY names it; every list cursor carries it.
	Name string
	// Title says what it is, for the settings' help.
	Title string
	// Build makes the family's calls on the WeChat core.
	Build func(*wechat.Client) Upstream
	// PagesLoadOrders says the family's lists answer ids only, so that a
	// page of N orders costs N gets besides the list call.
	PagesLoadOrders bool
	// ListWindow is the longest range one list call covers (the Store's 7
	// days); a page walks its range in windows of it, each a call the query
	// cost counts. 0: any range in one call.
	ListWindow time.Duration
	// Changes is how the server learns that an order changed.
	Changes Changes
	// Sandbox is the family's part of the built-in fake upstream.
	Sandbox Sandbox
}

// Upstream is a family's calls.
type Upstream struct {
	Orders     order.Source
	Lists      order.Lister
	AfterSales order.AfterSaleSource
	// Writes are the family's order actions; nil: every action answers
	// NOT_SUPPORTED and the lookups answer [].
	Writes order.Writer
}

// Changes is how the server learns of order changes.
type Changes int

const (
	// Polled: the family pushes nothing, so the server lists recently
	// updated orders every ORDER_POLL_INTERVAL.
	Polled Changes = iota
	// Pushed: WeChat posts each change to the message push endpoint.
	Pushed
)

// Sandbox is a family's part of the sandbox: the routes that answer its
// calls in its shape, the order the playground opens on, and the one its
// order-action tab ships.
type Sandbox struct {
	Routes           sandbox.Routes
	ExampleOrderID   uint64
	ShippableOrderID uint64
}

// Set is the families a build can serve, the first being the default.
type Set []Family

// Default is the family of a deployment that names none.
func (s Set) Default() Family { return s[0] }

// Lookup returns the family called name.
func (s Set) Lookup(name string) (Family, error) {
	if i := slices.IndexFunc(s, func(f Family) bool { return f.Name == name }); i >= 0 {
		return s[i], nil
	}
	return Family{}, fmt.Errorf("has %q; want one of %s", name, strings.Join(s.names(), ", "))
}

// Describe lists the families with their titles, for the settings' help.
func (s Set) Describe() string {
	parts := make([]string, len(s))
	for i, f := range s {
		parts[i] = f.Name + " (" + f.Title + ")"
	}
	return strings.Join(parts, ", ")
}

// With is s and f besides.
func (s Set) With(f Family) Set { return append(slices.Clip(s), f) }

// Pushing lists the names of the families that push their changes.
func (s Set) Pushing() []string {
	var names []string
	for _, f := range s {
		if f.Changes == Pushed {
			names = append(names, f.Name)
		}
	}
	return names
}

func (s Set) names() []string {
	names := make([]string, len(s))
	for i, f := range s {
		names[i] = f.Name
	}
	return names
}
