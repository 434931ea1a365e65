package playground

import (
	"strconv"
	"strings"
)

// exampleID is the order ExampleQuery names: the WeChat Mini Shop doc's
// example, which the Mini Shop sandbox serves; Queries puts the family's in.
const exampleID = "12123121332"

// ExampleQuery is what the playground opens with: the vendor's example
// order, which the sandbox serves, with a field from every section.
const ExampleQuery = `# The sandbox serves the WeChat doc's example order at this id.
# Press the run button (or Ctrl-Enter); try "orders(ids: [...])" for several.
query ExampleOrder {
  order(id: "12123121332") {
    id
    status
    statusCode
    createTime
    orderType
    openid
    orderDetail {
      productInfos {
        productId
        skuId
        title
        skuCnt
        salePrice
        skuAttrs { attrKey attrValue }
      }
      priceInfo { productPrice freight discountedPrice orderPrice isDiscounted }
      payInfo { payMethod prepayId transactionId payTime }
      deliveryInfo {
        addressInfo {
          userName
          provinceName
          cityName
          countyName
          detailInfo
          telNumber
        }
        expressFee { shippingMethod }
        deliveryProductInfo {
          waybillId
          deliveryId
          deliveryTime
          productInfos { productId skuId productCnt }
        }
        insuranceInfo { type insurancePrice }
        deliverType
        shipDoneTime
      }
    }
    aftersaleDetail {
      onAftersaleOrderCnt
      aftersaleOrderList { aftersaleOrderId status }
    }
    extInfo { customerNotes merchantNotes }
  }
}
`

// Queries are the playground's tabs: ExampleQuery on the example order of
// the family's sandbox, ListExampleQuery, EventsExampleQuery, and
// ShipExampleQuery on the sandbox order to ship.
func Queries(exampleOrderID, shippableOrderID uint64) []string {
	example := strings.Replace(ExampleQuery, exampleID, strconv.FormatUint(exampleOrderID, 10), 1)
	ship := strings.Replace(ShipExampleQuery, shippableID, strconv.FormatUint(shippableOrderID, 10), 1)
	return []string{example, ListExampleQuery, EventsExampleQuery, ship}
}

// shippableID is the order ShipExampleQuery names; Queries puts the
// family's sandbox order to ship in.
const shippableID = "2000002"

// ShipExampleQuery is the playground's fourth tab: an order action, safe
// to retry. Its key is fixed, so that the second run shows the replay.
const ShipExampleQuery = `# Ship a sandbox order (status TO_BE_SHIPPED). Run it twice: the second run
# sends nothing to WeChat and answers the first result with replayed: true.
# A new idempotencyKey with the same order answers WeChat's refusal
# (the order has shipped) in userErrors. Real clients use a fresh UUID per
# action and the same one for its retries.
mutation ShipOrder {
  shipOrder(input: {
    idempotencyKey: "playground-ship-1"
    orderId: "2000002"
    parcels: [{ deliveryId: "SF", waybillId: "SF1234567890" }]
  }) {
    replayed
    userErrors { code field message upstreamErrcode }
    order {
      id
      status
      orderDetail {
        deliveryInfo {
          deliveryProductInfo { deliveryId waybillId productInfos { productId skuId productCnt } }
        }
      }
    }
  }
}
`

// EventsExampleQuery is the playground's third tab: live order events.
const EventsExampleQuery = `# Live order events: run it, then watch. In sandbox mode an order changes
# every 5 s: the WeChat Store sandbox pushes its event at once, the Mini Shop
# poller finds it within ORDER_POLL_INTERVAL (30 s).
subscription OrderEvents {
  orderEvents {
    kind
    orderId
    at
    order { id status updateTime }
  }
}
`

// ListExampleQuery is the playground's second tab: the last 7 days, 10 per
// page, from the sandbox's catalogue of orders.
const ListExampleQuery = `# Orders created in the last 7 days, 10 per page, newest first.
# Pass pageInfo.endCursor as "after" for the next page.
query LastWeek($after: String) {
  listOrders(first: 10, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      node {
        id
        status
        createTime
        orderDetail { priceInfo { orderPrice } }
        aftersaleDetail { onAftersaleOrderCnt }
      }
    }
  }
}
`
