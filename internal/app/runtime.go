package app

import (
	"log/slog"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// tuneRuntime applies the GC policy: Go's default GOGC (100), and, in a
// container with a memory limit, a soft limit (GOMEMLIMIT) of 90% of it, so
// that the GC works harder near the limit instead of the process being
// killed. An operator's GOMEMLIMIT or AUTOMEMLIMIT wins.
//
// GOGC stays at 100 because memory was the target furthest off: under the
// load benchmark's 20-id query, GOGC=200 served 12% more requests than 100
// at 128 clients but only 2% more at 256, for a peak RSS 36 MiB higher
// (147 against 112 MiB); 400 served no more than 200 (bench/README.md).
func tuneRuntime(log *slog.Logger) {
	_, _ = memlimit.Set(memlimit.WithLogger(log)) // it reads GOMEMLIMIT itself, and logs what it did
}
