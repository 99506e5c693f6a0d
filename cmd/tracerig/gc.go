package main

import (
	"fmt"
	"os"
	"runtime/debug"
)

// runGCPercent is the garbage collector's pace in the commands that run
// services in this process (run, bench --hops), unless GOGC or GOMEMLIMIT is
// set. A real-hop run allocates for every request (net/http, otelhttp and
// the SDK do) and keeps little: a run verified as it goes holds what is in
// flight, one judged at its end its whole ledger. At 400 the heap may grow to five times
// the live data between collections: 5–15% less CPU per span than Go's
// default of 100 for up to twice the peak memory (docs/performance.md). The
// soft memory limit set with it (half of the memory the process may use)
// makes the collector work harder before a long run runs the machine short.
const runGCPercent = 400

// tuneGC sets runGCPercent and the memory limit for a run, unless the user
// set either in the environment, and returns a function that restores the
// previous settings and a description of what it set ("" when nothing).
func tuneGC() (restore func(), setting string) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}, ""
	}
	total := totalMemory()
	if total <= 0 {
		return func() {}, ""
	}
	limit := total / 2
	prevLimit := debug.SetMemoryLimit(limit)
	prevPercent := debug.SetGCPercent(runGCPercent)
	return func() {
		debug.SetGCPercent(prevPercent)
		debug.SetMemoryLimit(prevLimit)
	}, fmt.Sprintf("GOGC=%d GOMEMLIMIT=%dMiB (set GOGC or GOMEMLIMIT to choose otherwise)", runGCPercent, limit>>20)
}
