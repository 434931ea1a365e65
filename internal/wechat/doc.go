// Package wechat speaks the WeChat Mini Shop HTTP API: it calls
// /cgi-bin/stable_token and /product/order/get, decodes the upstream's loose
// JSON into the domain model exactly (see flex.go), and turns errcodes into
// coded *order.Error values. Orders implements order.Source; token caching and
// refresh policy live in package token, behind the TokenSource interface.
package wechat
