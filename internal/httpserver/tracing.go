package httpserver

import (
	"context"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/tracing"
)

// tracer is looked up at each use: the global provider may change (tests
// set one each), and tracers taken earlier would keep the first.
func tracer() trace.Tracer {
	return otel.Tracer("github.com/ordergraph/ordergraph/internal/httpserver")
}

// traced gives each request a server span, continuing the caller's trace
// when it sends a W3C traceparent. The span is named by the route, not the
// path (a shop's push path carries its appid) and never sees the query
// string, headers or body. A WebSocket's or SSE stream's span lasts as long
// as the connection; the wrapper keeps Hijacker and Flusher reachable.
func traced(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !tracing.Enabled() {
			next.ServeHTTP(w, r)
			return
		}
		ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer().Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method)))
		defer span.End()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r.WithContext(ctx))
		status := ww.Status()
		if rc := chi.RouteContext(ctx); rc != nil {
			if route := rc.RoutePattern(); route != "" {
				span.SetName(r.Method + " " + route)
				span.SetAttributes(attribute.String("http.route", route))
			}
		}
		if status != 0 { // 0: a WebSocket took the connection over
			span.SetAttributes(attribute.Int("http.response.status_code", status))
		}
		if status >= 500 {
			tracing.Failed(span, http.StatusText(status))
		}
	})
}

// traceOperations is the gqlgen extension that gives each operation a
// span, "graphql <type> <name>", and each root field a span of its own;
// nested fields are answered from loaders, whose batches have spans (the
// scalars read from structs, cmd/graphgen's plain fields, never reach
// InterceptField at all; root fields always do). It records names and
// error codes, never the document or its variables: either can carry an
// order id, a buyer's name or a search's words.
type traceOperations struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
	graphql.FieldInterceptor
} = traceOperations{}

func (traceOperations) ExtensionName() string                   { return "Tracing" }
func (traceOperations) Validate(graphql.ExecutableSchema) error { return nil }

func (traceOperations) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if !tracing.Enabled() {
		return next(ctx)
	}
	oc := graphql.GetOperationContext(ctx)
	kind, name := "query", oc.OperationName
	if op := oc.Operation; op != nil {
		kind = string(op.Operation)
		if name == "" {
			name = op.Name
		}
	}
	spanName := "graphql " + kind
	if name != "" {
		spanName += " " + name
	}
	// From the request's arrival, so that parsing and validation fall
	// within it, as events.
	ctx, span := tracer().Start(ctx, spanName, trace.WithTimestamp(oc.Stats.OperationStart),
		trace.WithAttributes(attribute.String("graphql.operation.type", kind), attribute.String("graphql.operation.name", name)))
	if span.IsRecording() {
		if s := oc.Stats.Parsing; !s.End.IsZero() {
			span.AddEvent("graphql.parsed", trace.WithTimestamp(s.End))
		}
		if s := oc.Stats.Validation; !s.End.IsZero() {
			span.AddEvent("graphql.validated", trace.WithTimestamp(s.End))
		}
	}
	respond := next(ctx)
	ended := false
	return func(ctx context.Context) *graphql.Response {
		resp := respond(ctx)
		if ended {
			return resp
		}
		// A subscription's stream ends with a nil response; a query's
		// and a mutation's one response ends it.
		if resp != nil && kind == "subscription" {
			return resp
		}
		ended = true
		if resp != nil && len(resp.Errors) > 0 {
			codes := make([]string, 0, len(resp.Errors))
			for _, e := range resp.Errors {
				if c, ok := e.Extensions["code"].(string); ok {
					codes = append(codes, c)
				}
			}
			span.SetAttributes(attribute.StringSlice("graphql.error.codes", codes))
		}
		span.End()
		return resp
	}
}

func (traceOperations) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	if !tracing.Enabled() {
		return next(ctx)
	}
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || !fc.IsResolver {
		return next(ctx)
	}
	// A subscription's root field only subscribes: the operation's span
	// covers it, and its deliveries link to that span.
	if fc.Object != "Query" && fc.Object != "Mutation" {
		return next(ctx)
	}
	ctx, span := tracing.Child(ctx, tracer, fc.Object+"."+fc.Field.Name,
		trace.WithAttributes(attribute.String("graphql.field.name", fc.Field.Name)))
	defer span.End()
	res, err := next(ctx)
	if err != nil {
		tracing.Failed(span, string(order.ErrorCode(err)))
	}
	return res, err
}
