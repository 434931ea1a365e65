package redisstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordergraph/ordergraph/internal/tracing"
)

// tracer is looked up at each use: the global provider may change (tests
// set one each), and tracers taken earlier would keep the first.
func tracer() trace.Tracer {
	return otel.Tracer("github.com/ordergraph/ordergraph/internal/redisstore")
}

// traceHook gives each command that a traced request sends a client span
// with the command's name alone: its arguments hold keys, which name orders
// and shops, and values, which hold tokens and order content. Commands of
// background work (leases, the event fan-out) have no request to belong
// to and get no span.
type traceHook struct{}

func (traceHook) DialHook(next redis.DialHook) redis.DialHook {
	return next
}

func (traceHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		ctx, span := tracing.Child(ctx, tracer, cmd.Name(), trace.WithSpanKind(trace.SpanKindClient))
		if !span.IsRecording() {
			return next(ctx, cmd)
		}
		defer span.End()
		span.SetAttributes(attribute.String("db.system.name", "redis"), attribute.String("db.operation.name", cmd.Name()))
		err := next(ctx, cmd)
		failed(span, err)
		return err
	}
}

func (traceHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		ctx, span := tracing.Child(ctx, tracer, "pipeline", trace.WithSpanKind(trace.SpanKindClient))
		if !span.IsRecording() {
			return next(ctx, cmds)
		}
		defer span.End()
		// As the semantic conventions name a batch: by its command when
		// all are the same one.
		name := "BATCH"
		if len(cmds) > 0 && !slices.ContainsFunc(cmds, func(c redis.Cmder) bool { return c.Name() != cmds[0].Name() }) {
			name += " " + cmds[0].Name()
		}
		span.SetName(name)
		span.SetAttributes(attribute.String("db.system.name", "redis"), attribute.String("db.operation.name", name), attribute.Int("db.operation.batch.size", len(cmds)))
		err := next(ctx, cmds)
		failed(span, err)
		return err
	}
}

// failed records err's type, not its text, which may repeat a key.
func failed(span trace.Span, err error) {
	if err == nil || err == redis.Nil {
		return
	}
	tracing.Failed(span, fmt.Sprintf("%T", err))
}

// traced adds the hook to rdb when tracing is on: off, commands pass no hook.
func traced[C interface{ AddHook(redis.Hook) }](rdb C) C {
	if tracing.Enabled() {
		rdb.AddHook(traceHook{})
	}
	return rdb
}
