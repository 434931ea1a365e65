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
// the family's sandbox, ListExampleQuery and EventsExampleQuery.
func Queries(exampleOrderID uint64) []string {
	example := strings.Replace(ExampleQuery, exampleID, strconv.FormatUint(exampleOrderID, 10), 1)
	return []string{example, ListExampleQuery, EventsExampleQuery}
}

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
