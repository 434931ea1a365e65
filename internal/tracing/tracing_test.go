package tracing

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func env(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

// The standard variables decide, as the SDK specification words them.
func TestRequested(t *testing.T) {
	for _, c := range []struct {
		vars map[string]string
		on   bool
		err  bool
	}{
		{map[string]string{}, false, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, true, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, true, false},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, false, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, false, false},
		{map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, false, true},
	} {
		on, err := requested(env(c.vars))
		if on != c.on || (err != nil) != c.err {
			t.Errorf("%v: on %v, err %v", c.vars, on, err)
		}
	}
}

func TestSetupRefusesWhatItCannotDo(t *testing.T) {
	for _, vars := range []map[string]string{
		{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
		{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "jaeger_remote"},
		{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"},
	} {
		if _, err := Setup(context.Background(), env(vars)); err == nil || Enabled() {
			t.Errorf("%v: accepted", vars)
		}
	}
}

func TestResourceAndLogCorrelation(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	shutdown, err := Setup(context.Background(), env(map[string]string{
		"OTEL_TRACES_EXPORTER": "otlp", "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=staging,service.name=x%20y",
	}), WithExporter(exp))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&out, nil)))
	log.InfoContext(context.Background(), "outside")
	ctx, span := otel.Tracer("test").Start(context.Background(), "s")
	log.With(slog.String("k", "v")).InfoContext(ctx, "inside")
	span.End()
	spans := exp.GetSpans() // the in-memory exporter forgets them at shutdown
	_ = shutdown(context.Background())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if strings.Contains(lines[0], "trace_id") || !strings.Contains(lines[1], `"trace_id":"`+span.SpanContext().TraceID().String()+`"`) || !strings.Contains(lines[1], `"span_id":"`+span.SpanContext().SpanID().String()+`"`) {
		t.Errorf("log lines: %s", out.String())
	}
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	res := spans[0].Resource
	got := map[string]string{}
	for _, a := range res.Attributes() {
		got[string(a.Key)] = a.Value.String()
	}
	if got["service.name"] != "x y" || got["deployment.environment.name"] != "staging" {
		t.Errorf("resource: %v", got)
	}
	if Enabled() {
		t.Error("still on after shutdown")
	}
}
