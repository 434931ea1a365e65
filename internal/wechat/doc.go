// Package wechat is the core every WeChat API family is built on: the HTTP
// transport (base URL, keep-alive client, per-call timeout, process-wide cap
// on calls in flight), the upstream rate limit shared by the fleet, retries
// within a budget behind a circuit breaker, the access token on every call
// and the refresh-and-retry-once when the upstream refuses it, the
// stable_token endpoint, and the translation of errcodes into coded
// *order.Error values. The tolerant JSON decoder lives in the flex
// subpackage, and the parts of an order both families share are read by the
// orderjson subpackage.
//
// A family package (minishop, wxstore) declares its request types and its
// replies (a Section for an answer with one object under one member, else a
// type that embeds Status and reads itself), names its own errcodes in an
// Errcodes table, and calls Client.Call. Token caching and refresh policy
// live in package token, behind TokenSource.
package wechat
