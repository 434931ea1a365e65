package app

import (
	"log/slog"
	"runtime/debug"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// defaultGOGC lets the heap grow to three times the live data between
// collections rather than twice. The server's live heap is small (tens of
// MB: requests in flight, the optional order cache) and its garbage is
// almost all per request, so collecting half as often costs a few MB and
// buys throughput: under the load benchmark's 20-id query at 128 clients,
// GOGC=200 served 12% more requests than 100 for 19 MB more peak RSS, and
// 400 no more than 200 for 44 MB more (bench/README.md).
const defaultGOGC = 200

// tuneRuntime applies the GC policy, unless the operator set GOGC or
// GOMEMLIMIT: GOGC=200, and a soft memory limit of 90% of the container's
// memory limit when there is one (cgroups), so that the GC works harder
// near the limit instead of the process being killed.
func tuneRuntime(getenv func(string) string, log *slog.Logger) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGOGC)
	}
	_, _ = memlimit.Set(memlimit.WithLogger(log)) // it reads GOMEMLIMIT itself, and logs what it did
}
