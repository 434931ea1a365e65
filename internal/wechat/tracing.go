package wechat

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordergraph/ordergraph/internal/tracing"
)

// tracer is looked up at each use: the global provider may change (tests
// set one each), and tracers taken earlier would keep the first.
func tracer() trace.Tracer { return otel.Tracer("github.com/ordergraph/ordergraph/internal/wechat") }

// attempt is what withRetries tells an attempt's span: its number, why
// the one before it failed, and the breaker's state when it went.
type attempt struct {
	n       int
	reason  string
	breaker string
}

type attemptKey struct{}

// withAttempt marks ctx as attempt n, when spans are recorded.
func (t *Transport) withAttempt(ctx context.Context, n int, reason string) context.Context {
	if !tracing.Enabled() {
		return ctx
	}
	return context.WithValue(ctx, attemptKey{}, attempt{n: n, reason: reason, breaker: t.BreakerState()})
}

// startCall starts the client span of one call to path. It records the
// path alone: the URL's query holds the access token, and the body the
// order's or the app's secrets.
func startCall(ctx context.Context, path string) (context.Context, trace.Span) {
	ctx, span := tracer().Start(ctx, "POST "+path, trace.WithSpanKind(trace.SpanKindClient))
	if !span.IsRecording() {
		return ctx, span
	}
	span.SetAttributes(attribute.String("http.request.method", "POST"), attribute.String("url.path", path))
	if a, ok := ctx.Value(attemptKey{}).(attempt); ok {
		span.SetAttributes(attribute.Int("wechat.attempt", a.n), attribute.String("wechat.breaker", a.breaker))
		if a.reason != "" {
			span.SetAttributes(attribute.String("wechat.retry_reason", a.reason))
		}
	}
	return ctx, span
}

// endCall ends a call's span with its HTTP status (0: none came) and its
// result, the metrics label: an errcode, or why the attempt failed.
func endCall(span trace.Span, status int, errcode *int64, result string) {
	if span.IsRecording() {
		if status != 0 {
			span.SetAttributes(attribute.Int("http.response.status_code", status))
		}
		if errcode != nil {
			span.SetAttributes(attribute.Int64("wechat.errcode", *errcode))
			if *errcode != 0 {
				tracing.Failed(span, result)
			}
		} else {
			tracing.Failed(span, result)
		}
	}
	span.End()
}
