package minishop

import (
	"github.com/ordergraph/ordergraph/internal/family"
	"github.com/ordergraph/ordergraph/internal/sandbox"
	"github.com/ordergraph/ordergraph/internal/wechat"
)

// Family is the WeChat Mini Shop: whole orders in every answer, pages by
// offset with a total, and no push, so changes are polled.
var Family = family.Family{
	Name:  "minishop",
	Title: "WeChat Mini Shop, /product/order/*",
	Build: func(c *wechat.Client) family.Upstream {
		return family.Upstream{Orders: NewOrders(c), Lists: NewLists(c), AfterSales: NewAfterSales(c), Writes: NewWrites(c)}
	},
	Changes: family.Polled,
	Sandbox: family.Sandbox{Routes: sandbox.MiniShopRoutes, ExampleOrderID: sandbox.VendorExampleID, ShippableOrderID: sandbox.ShippableOrderID},
}
