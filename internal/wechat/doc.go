// Package wechat is the core every WeChat API family is built on: the HTTP
// transport (base URL, keep-alive client, per-call timeout, process-wide cap
// on calls in flight), the access token on every call and the refresh-and-
// retry-once when the upstream refuses it, the stable_token endpoint, and the
// translation of errcodes into coded *order.Error values. The tolerant JSON
// types live in the flex subpackage.
//
// A family package (minishop, and later the WeChat Store) declares its
// request and reply types, embeds Status in its replies, names its own
// errcodes in an Errcodes table, and calls Client.Call. Token caching and
// refresh policy live in package token, behind TokenSource.
package wechat
