// Package family is the one place that knows the upstream API families and
// picks the one a deployment talks to (UPSTREAM_FAMILY). Every family is a
// package on the WeChat core (package wechat) that implements the domain
// interfaces of package order; docs/extending.md is the recipe for adding one.
package family

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ordergraph/ordergraph/internal/minishop"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wxstore"
)

// Names of the families, as UPSTREAM_FAMILY takes them.
const (
	MiniShop = "minishop" // WeChat Mini Shop, /product/order/*
	Store    = "store"    // WeChat Store, /channels/ec/order/*
)

// Default is the family of a deployment that names none.
const Default = MiniShop

// Family is what one upstream family provides to the server.
type Family struct {
	Name       string
	Orders     order.Source
	Lists      order.Lister
	AfterSales order.AfterSaleSource
	// PagesLoadOrders says the family's lists answer ids only, so that a
	// page of N orders costs N gets besides the list call.
	PagesLoadOrders bool
}

// builders holds each family's constructor.
var builders = map[string]func(*wechat.Client) Family{
	MiniShop: func(c *wechat.Client) Family {
		return Family{Name: MiniShop, Orders: minishop.NewOrders(c), Lists: minishop.NewLists(c), AfterSales: minishop.NewAfterSales(c)}
	},
	Store: func(c *wechat.Client) Family {
		return Family{Name: Store, Orders: wxstore.NewOrders(c), Lists: wxstore.NewLists(c), AfterSales: wxstore.NewAfterSales(c), PagesLoadOrders: true}
	},
}

// Check reports whether name is a family this build can serve.
func Check(name string) error {
	if _, known := builders[name]; !known {
		names := slices.Sorted(maps.Keys(builders))
		return fmt.Errorf("has %q; want one of %s", name, strings.Join(names, ", "))
	}
	return nil
}

// New builds the family name on client; name must pass Check.
func New(name string, client *wechat.Client) (Family, error) {
	if err := Check(name); err != nil {
		return Family{}, fmt.Errorf("UPSTREAM_FAMILY %w", err)
	}
	return builders[name](client), nil
}
