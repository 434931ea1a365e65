package httpserver

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/ordergraph/ordergraph/graph"
)

// limitExtensions tells the client, on every response, what holds it
// back: extensions.cost, what the document costs and MAX_QUERY_COST (see
// graph.Limits), and with RATE_LIMIT on extensions.rateLimit, where the
// caller stands in its bucket. A subscription's events each carry them,
// as they stood when the subscription began: an event costs the client
// no request.
func limitExtensions(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil {
		return nil
	}
	cost, costOK := graph.CostRequested(ctx)
	rate, rateOK := rateFrom(ctx)
	if (costOK || rateOK) && resp.Extensions == nil {
		resp.Extensions = map[string]any{}
	}
	if costOK {
		resp.Extensions["cost"] = cost
	}
	if rateOK {
		resp.Extensions["rateLimit"] = rate
	}
	return resp
}
