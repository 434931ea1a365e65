// Package tracing sets up OpenTelemetry traces from the standard OTEL_*
// environment, and holds what the instrumented packages share: whether
// tracing is on, and the log handler that stamps log lines with the active
// span's ids.
//
// Traces are off unless the environment names an OTLP endpoint or asks for
// the otlp exporter; then every package's spans go to the global tracer
// provider. Off, nothing is set up and the instrumented code skips its
// spans after one atomic load (Enabled), so the request path pays nothing.
//
// What spans carry is chosen to be safe to ship to a tracing backend: span
// names and attributes hold routes, operation and field names, API paths,
// command names and error codes, never argument values, order content,
// tokens or error messages.
package tracing

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// ServiceName is the service.name of the spans unless OTEL_SERVICE_NAME or
// OTEL_RESOURCE_ATTRIBUTES names another.
const ServiceName = "ordergraph"

var on atomic.Bool

// Enabled reports whether spans are recorded at all. Instrumented code
// checks it before it builds a span, so that a server without tracing does
// no tracing work.
func Enabled() bool { return on.Load() }

// Option adjusts Setup.
type Option func(*options)

type options struct {
	exporter sdktrace.SpanExporter
	log      *slog.Logger
}

// WithExporter sends spans to exp, synchronously as each ends, instead of
// the OTLP exporter the environment names; tests read them from an
// in-memory exporter. The environment still decides whether tracing is on.
func WithExporter(exp sdktrace.SpanExporter) Option {
	return func(o *options) { o.exporter = exp }
}

// WithLogger reports the exporter's failures (a collector that does not
// answer) to log; by default OpenTelemetry prints them to stderr.
func WithLogger(log *slog.Logger) Option {
	return func(o *options) { o.log = log }
}

// Setup turns tracing on when the environment, read through getenv, asks
// for it: it installs a tracer provider exporting over OTLP and the W3C
// trace context as the propagator. shutdown flushes the spans not yet
// exported and turns tracing off again; it is a no-op when tracing is off.
func Setup(ctx context.Context, getenv func(string) string, opts ...Option) (shutdown func(context.Context) error, err error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	nothing := func(context.Context) error { return nil }
	wanted, err := requested(getenv)
	if err != nil || !wanted {
		return nothing, err
	}
	sampler, err := samplerFrom(getenv)
	if err != nil {
		return nothing, err
	}
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithAttributes(resourceAttributes(getenv)...))
	if err != nil {
		return nothing, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	export := sdktrace.WithSyncer(o.exporter)
	if o.exporter == nil {
		exp, err := exporter(ctx, getenv)
		if err != nil {
			return nothing, err
		}
		export = sdktrace.WithBatcher(exp)
	}
	tp := sdktrace.NewTracerProvider(export, sdktrace.WithResource(res), sdktrace.WithSampler(sampler))
	if o.log != nil {
		log := o.log
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			log.Warn("tracing: spans could not be exported", slog.String("error", err.Error()))
		}))
	}
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	on.Store(true)
	return func(ctx context.Context) error {
		on.Store(false)
		otel.SetTracerProvider(noop.NewTracerProvider())
		return tp.Shutdown(ctx)
	}, nil
}

// requested reads the environment's decision, as the SDK specification
// words it: OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none switch
// traces off, OTEL_TRACES_EXPORTER=otlp on; otherwise an OTLP endpoint
// switches them on. (Unlike the SDK's default of exporting to localhost,
// an unconfigured server traces nothing.)
func requested(getenv func(string) string) (bool, error) {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false, nil
	}
	switch exp := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER"))); exp {
	case "none":
		return false, nil
	case "otlp":
		return true, nil
	case "":
		return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "", nil
	default:
		return false, fmt.Errorf("OTEL_TRACES_EXPORTER=%s: only otlp and none are supported", exp)
	}
}

// exporter is the OTLP exporter for the protocol and endpoint configured.
// The exporter itself reads the rest of its settings (headers, TLS
// certificates, compression, timeout) from the process environment.
func exporter(ctx context.Context, getenv func(string) string) (sdktrace.SpanExporter, error) {
	protocol := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	endpoint, base := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	switch protocol {
	case "", "http/protobuf":
		var opts []otlptracehttp.Option
		switch {
		case endpoint != "":
			opts = append(opts, otlptracehttp.WithEndpointURL(endpoint))
		case base != "":
			// The signal's path goes after the base endpoint's.
			opts = append(opts, otlptracehttp.WithEndpointURL(strings.TrimSuffix(base, "/")+"/v1/traces"))
		}
		return otlptracehttp.New(ctx, opts...)
	case "grpc":
		var opts []otlptracegrpc.Option
		if endpoint = cmp.Or(endpoint, base); endpoint != "" {
			opts = append(opts, otlptracegrpc.WithEndpointURL(endpoint))
		}
		return otlptracegrpc.New(ctx, opts...)
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%s: only http/protobuf and grpc are supported", protocol)
	}
}

// samplerFrom is the sampler OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG
// name; by default parentbased_always_on, the specification's default.
func samplerFrom(getenv func(string) string) (sdktrace.Sampler, error) {
	name, arg := strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER")), strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER_ARG"))
	ratio := func() (float64, error) {
		if arg == "" {
			return 1, nil
		}
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return 0, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG=%s: want a ratio between 0 and 1", arg)
		}
		return r, nil
	}
	switch name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "traceidratio", "parentbased_traceidratio":
		r, err := ratio()
		if err != nil {
			return nil, err
		}
		if name == "traceidratio" {
			return sdktrace.TraceIDRatioBased(r), nil
		}
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r)), nil
	default:
		return nil, fmt.Errorf("OTEL_TRACES_SAMPLER=%s is not supported", name)
	}
}

// resourceAttributes are OTEL_RESOURCE_ATTRIBUTES (key=value pairs, comma
// separated, values percent-encoded) with service.name from
// OTEL_SERVICE_NAME, else from them, else ServiceName.
func resourceAttributes(getenv func(string) string) []attribute.KeyValue {
	service := ServiceName
	var attrs []attribute.KeyValue
	for pair := range strings.SplitSeq(getenv("OTEL_RESOURCE_ATTRIBUTES"), ",") {
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			continue
		}
		if u, err := url.PathUnescape(strings.TrimSpace(v)); err == nil {
			v = u
		}
		if k == "service.name" {
			service = v
			continue
		}
		attrs = append(attrs, attribute.String(k, v))
	}
	if s := getenv("OTEL_SERVICE_NAME"); s != "" {
		service = s
	}
	return append(attrs, attribute.String("service.name", service))
}

// Child starts a span under the one in ctx only when that one records:
// work that happens within a request (a Redis command, a loader batch)
// gets a span there, and none when it runs in the background or unsampled.
// Without one it returns ctx and a span that records nothing, which the
// caller ends as it would its own.
func Child(ctx context.Context, tracer func() trace.Tracer, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, noop.Span{}
	}
	return tracer().Start(ctx, name, opts...)
}

// Failed marks span as failed with a code: the code alone, never an
// error's message, which may carry what the request carried.
func Failed(span trace.Span, code string) {
	span.SetAttributes(attribute.String("error.type", code))
	span.SetStatus(codes.Error, code)
}

// LogHandler wraps h so that each record logged with a context whose span
// is valid carries the span's trace_id and span_id, tying log lines to
// traces.
func LogHandler(h slog.Handler) slog.Handler {
	return logHandler{h}
}

type logHandler struct{ slog.Handler }

func (l logHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return l.Handler.Handle(ctx, r)
}

func (l logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{l.Handler.WithAttrs(attrs)}
}

func (l logHandler) WithGroup(name string) slog.Handler {
	return logHandler{l.Handler.WithGroup(name)}
}
