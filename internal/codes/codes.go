// Package codes defines every extensions.code the API answers with, what
// each means and the HTTP status it carries. It is the only place a code is
// written: the domain, the GraphQL edge and the HTTP layer all use these
// constants, and a test holds the README's error table to All.
package codes

// Code classifies a failure by what the client can do about it. The values
// are the GraphQL extensions.code strings of the public API.
type Code string

// Failures of one field: the field is null, the error's path points at it,
// and the rest of the response still resolves.
const (
	OrderNotFound            Code = "ORDER_NOT_FOUND"
	AfterSaleNotFound        Code = "AFTERSALE_NOT_FOUND"
	BadUserInput             Code = "BAD_USER_INPUT"
	UpstreamPermissionDenied Code = "UPSTREAM_PERMISSION_DENIED"
	UpstreamRateLimited      Code = "UPSTREAM_RATE_LIMITED"
	UpstreamAuthFailed       Code = "UPSTREAM_AUTH_FAILED"
	// ShopNotAuthorized is provider mode's: the caller's shop never
	// authorized the platform, or revoked it.
	ShopNotAuthorized   Code = "SHOP_NOT_AUTHORIZED"
	UpstreamUnavailable Code = "UPSTREAM_UNAVAILABLE"
	SubscriberTooSlow   Code = "SUBSCRIBER_TOO_SLOW"
	Internal            Code = "INTERNAL_SERVER_ERROR"
)

// Refusals of the whole request, before anything is executed.
const (
	BadRequest            Code = "BAD_REQUEST"
	Unauthenticated       Code = "UNAUTHENTICATED"
	RateLimited           Code = "RATE_LIMITED"
	Forbidden             Code = "FORBIDDEN"
	IntrospectionDisabled Code = "INTROSPECTION_DISABLED"
	DepthLimitExceeded    Code = "DEPTH_LIMIT_EXCEEDED"
	AliasLimitExceeded    Code = "ALIAS_LIMIT_EXCEEDED"
	CostLimitExceeded     Code = "COST_LIMIT_EXCEEDED"
	// TrustedDocumentRequired refuses, before parsing, a document that is
	// not one of TRUSTED_DOCUMENTS to a caller held to them.
	TrustedDocumentRequired Code = "TRUSTED_DOCUMENT_REQUIRED"
	// The next three are gqlgen's own; they are listed so that every code a
	// client can see is here.
	ParseFailed            Code = "GRAPHQL_PARSE_FAILED"
	ValidationFailed       Code = "GRAPHQL_VALIDATION_FAILED"
	PersistedQueryNotFound Code = "PERSISTED_QUERY_NOT_FOUND"
)

// Info documents one code.
type Info struct {
	Code Code
	// HTTP is the status of a response refused with this code. 0 marks a
	// failure of one field: the response is 200 with the other fields' data.
	// A refusal with a 4xx status has no data entry, since nothing ran.
	// Document refusals (400: parse, validation, limits, introspection) carry
	// their status with Accept: application/graphql-response+json; with
	// application/json every well-formed request answers 200, as the
	// GraphQL-over-HTTP spec asks.
	HTTP int
	// Meaning says when the code is answered.
	Meaning string
}

// All lists every code, field failures first; the README's error table
// follows this order.
var All = []Info{
	{OrderNotFound, 0, "the shop has no such order (errcode 100002), or it is not the buyer's own"},
	{AfterSaleNotFound, 0, "the upstream returned no after-sale order of that id, or it is not the calling buyer's own"},
	{BadUserInput, 0, "an id that is not a positive decimal integer below 2^64, too many ids, or an id the upstream refuses (errcode 9401020)"},
	{UpstreamPermissionDenied, 0, "the app lacks the API permission (errcode 48001)"},
	{UpstreamRateLimited, 0, "the upstream's quota or frequency limit (errcodes 45009, 45011, 30000)"},
	{UpstreamAuthFailed, 0, "no access token can be had (errcodes 40013, 40125, 40164; the message names the setting to fix), or the upstream keeps refusing one; in provider mode also before WeChat's first verify ticket"},
	{ShopNotAuthorized, 0, "provider mode: the caller's shop has not authorized the platform or has revoked it (errcodes 61023, 61003, or known without a call)"},
	{UpstreamUnavailable, 0, "errcode -1, 1400007 or any other errcode, a network error, a timeout, a non-2xx answer or malformed JSON, after the retries; or the circuit breaker is open"},
	{SubscriberTooSlow, 0, "an orderEvents subscriber did not read its events as fast as they came: its subscription is ended"},
	{Internal, 0, "a bug; the details are in the log, not in the response"},
	{BadRequest, 400, "the HTTP body is not a GraphQL request (413 when it is larger than MAX_BODY_BYTES)"},
	{Unauthenticated, 401, "no or bad credentials; the response has WWW-Authenticate"},
	{RateLimited, 429, "over the per-client rate limit; the response has Retry-After"},
	{Forbidden, 400, "the caller's role may not run the operation (buyers: introspection)"},
	{IntrospectionDisabled, 400, "an introspection query while INTROSPECTION is off"},
	{DepthLimitExceeded, 400, "the document nests deeper than MAX_QUERY_DEPTH"},
	{AliasLimitExceeded, 400, "the document has more aliases than MAX_ALIASES"},
	{CostLimitExceeded, 400, "the operation would make more than MAX_QUERY_COST upstream fetches"},
	{TrustedDocumentRequired, 400, "TRUSTED_DOCUMENTS is set and the caller (a buyer; anyone with TRUSTED_DOCUMENTS_ONLY) sent a document that is none of them, or an unknown documentId"},
	{ParseFailed, 400, "the document is not GraphQL, or has more than MAX_QUERY_TOKENS tokens"},
	{ValidationFailed, 400, "the document does not fit the schema"},
	{PersistedQueryNotFound, 200, "an automatic persisted query hash the server does not know yet: send the query with it once"},
}
