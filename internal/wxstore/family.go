package wxstore

import (
	"github.com/ordergraph/ordergraph/internal/family"
	"github.com/ordergraph/ordergraph/internal/sandbox"
	"github.com/ordergraph/ordergraph/internal/wechat"
)

// Family is the WeChat Store: lists answer ids, which are then fetched one
// by one, and WeChat pushes each change.
var Family = family.Family{
	Name:  "store",
	Title: "WeChat Store, /channels/ec/*",
	Build: func(c *wechat.Client) family.Upstream {
		return family.Upstream{Orders: NewOrders(c), Lists: NewLists(c), AfterSales: NewAfterSales(c), Writes: NewWrites(c)}
	},
	PagesLoadOrders: true,
	ListWindow:      window,
	Changes:         family.Pushed,
	Sandbox:         family.Sandbox{Routes: sandbox.StoreRoutes, ExampleOrderID: sandbox.StoreVendorExampleID, ShippableOrderID: sandbox.ShippableOrderID},
}
