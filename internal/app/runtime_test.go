package app

import (
	"log/slog"
	"runtime/debug"
	"testing"
)

// The GC policy applies unless the operator chose GOGC.
func TestTuneRuntime(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	log := slog.New(slog.DiscardHandler)
	tuneRuntime(func(string) string { return "" }, log)
	if got := debug.SetGCPercent(100); got != defaultGOGC {
		t.Errorf("GOGC unset: percent %d, want %d", got, defaultGOGC)
	}
	tuneRuntime(func(k string) string { return map[string]string{"GOGC": "50"}[k] }, log)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC set by the operator: percent changed to %d", got)
	}
}
