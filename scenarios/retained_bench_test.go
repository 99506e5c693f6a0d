package scenarios

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// BenchmarkRetainedPerSpan runs the throughput scenario flat out in this
// process and reports the heap a real-hop run holds per span ended once its
// load is over (before the checks run): the ledger's records, the embedded
// store's spans and what else grows with the run, as B/span. The heap is
// measured after a collection, against one taken before the run.
//
//	go test -run '^$' -bench RetainedPerSpan -benchtime 1x ./scenarios/
//
// TRACERIG_RETAINED_DURATION (a Go duration, default 5s) sets the load's
// length.
func BenchmarkRetainedPerSpan(b *testing.B) {
	d := 5 * time.Second
	if v := getenvDuration(b, "TRACERIG_RETAINED_DURATION"); v > 0 {
		d = v
	}
	for b.Loop() {
		sc, err := Open("throughput")
		if err != nil {
			b.Fatal(err)
		}
		before := heapAfterGC()
		var atLoadEnd uint64
		rep, err := Run(b.Context(), sc, Options{Duration: &d, LoadDone: func() { atLoadEnd = heapAfterGC() }})
		if err != nil {
			b.Fatal(err)
		}
		spans := rep.Ledger.SpansEnded
		if spans == 0 {
			b.Fatal("no span ended")
		}
		b.ReportMetric(float64(atLoadEnd-min(before, atLoadEnd))/float64(spans), "B/span")
		b.ReportMetric(float64(spans), "spans")
	}
}

// heapAfterGC is the live heap after a full collection.
func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// getenvDuration reads a Go duration from the environment; 0 when unset.
func getenvDuration(tb testing.TB, name string) time.Duration {
	s := os.Getenv(name)
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return d
}
