package httpserver

import (
	"bytes"
	"log"
	"log/slog"
	"strings"
	"testing"
)

// gqlgen's own log lines reach the structured log without the body a
// client sent.
func TestLibraryLogWithholdsBodies(t *testing.T) {
	var out bytes.Buffer
	std := log.New(LibraryLog(slog.New(slog.NewJSONHandler(&out, nil))), "", 0)
	std.Printf("decoding error: %s body:%s", "invalid character", `{"query":"{ searchOrders(filter: {telNumber: \"13800138000\"}) }"`)
	std.Printf("unable to upgrade: %s", strings.Repeat("x", 1000))
	got := out.String()
	if strings.Contains(got, "13800138000") || !strings.Contains(got, "decoding error: invalid character (body withheld)") || len(got) > 800 || strings.Count(got, "\n") != 2 {
		t.Fatalf("%s", got)
	}
}
