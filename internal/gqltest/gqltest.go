// Package gqltest holds GraphQL documents shared by the tests and the
// benchmarks, so that "every field of an order" means the same selection
// wherever it is measured or checked.
package gqltest

// EveryOrderQuery selects every field of the contract's Order for the
// order whose id is the variable $id.
const EveryOrderQuery = `query EveryField($id: ID!) { order(id: $id) {
  id status statusCode createTime updateTime openid orderType orderTypeCode
  orderDetail {
    productInfos { productId outProductId skuId outSkuId thumbImg skuCnt salePrice title skuAttrs { attrKey attrValue } onAftersaleSkuCnt finishAftersaleSkuCnt skuCode marketPrice }
    priceInfo { productPrice orderPrice freight discountedPrice isDiscounted originalOrderPrice estimateProductPrice changeDownPrice changeFreight isChangeFreight buyerInsurancePrice }
    payInfo { payMethod paymentMethod prepayId prepayTime payTime transactionId }
    deliveryInfo {
      addressInfo { ...addr }
      deliveryMethod
      expressFee { shippingMethod }
      deliveryProductInfo { waybillId deliveryId productInfos { productId skuId productCnt } deliveryName deliveryTime deliverType deliveryAddress { ...addr } }
      shipDoneTime
      insuranceInfo { type insurancePrice }
      deliverType offlineDeliveryTime offlinePickupTime
      pickupAddress { ...addr }
    }
    couponInfo { couponId }
    couponcodeInfo { startTime endTime verifyType phoneNumber verifierNickname verifyTime }
  }
  aftersaleDetail { onAftersaleOrderCnt aftersaleOrderList { aftersaleOrderId status } }
  extInfo { customerNotes merchantNotes }
} }
fragment addr on AddressInfo { userName postalCode provinceName cityName countyName detailInfo nationalCode telNumber houseNumber }`

// TwentyOrdersQuery is a list screen: 17 fields of each order named in $ids.
const TwentyOrdersQuery = `query List($ids: [ID!]!) { orders(ids: $ids) {
  id status statusCode createTime updateTime orderType orderTypeCode
  orderDetail {
    priceInfo { productPrice orderPrice freight discountedPrice isDiscounted }
    productInfos { productId skuId title skuCnt salePrice }
  } } }`
