package loader

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/ordergraph/ordergraph/internal/tracing"
)

// tracer is looked up at each use: the global provider may change (tests
// set one each), and tracers taken earlier would keep the first.
func tracer() trace.Tracer { return otel.Tracer("github.com/ordergraph/ordergraph/internal/loader") }

// batchSpan starts the span of one batch of kind within the operation that
// loads it: its size, never its ids.
func batchSpan(ctx context.Context, kind string, size int) (context.Context, trace.Span) {
	if !tracing.Enabled() {
		return ctx, noop.Span{}
	}
	return tracing.Child(ctx, tracer, "loader "+kind+" batch", trace.WithAttributes(attribute.Int("loader.batch.size", size)))
}
