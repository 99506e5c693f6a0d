package scenarios

import (
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/tracerig/tracerig/simulator"
)

// BenchmarkRetainedPerSpan runs the throughput scenario flat out in this
// process and reports what a real-hop run holds per span: the live heap
// after a collection, measured a third of the way through the load and at
// its end, over the spans ended in between (steady-B/span: near zero when
// the run's memory is bounded), and the heap held at the load's end
// against one taken before the run, over every span ended (held-B/span,
// which is mostly the run's fixed working set: connections, SDK queues,
// the store's chunks and what is in flight).
//
//	go test -run '^$' -bench RetainedPerSpan -benchtime 1x ./scenarios/
//
// TRACERIG_RETAINED_DURATION (a Go duration, default 6s) sets the load's
// length.
func BenchmarkRetainedPerSpan(b *testing.B) {
	d := 6 * time.Second
	if v := getenvDuration(b, "TRACERIG_RETAINED_DURATION"); v > 0 {
		d = v
	}
	for b.Loop() {
		sc, err := Open("throughput")
		if err != nil {
			b.Fatal(err)
		}
		before := heapAfterGC()
		var (
			mu     sync.Mutex
			ledger *simulator.Ledger
			third  heapAt
			end    heapAt
			wg     sync.WaitGroup
		)
		measure := func() heapAt {
			mu.Lock()
			defer mu.Unlock()
			h := heapAfterGC()
			return heapAt{heap: h, spans: ledger.Totals().SpansEnded}
		}
		opts := Options{Duration: &d, LoadDone: func() { end = measure() }}
		opts.started = func(rt *simulator.Runtime) {
			ledger = rt.Ledger()
			wg.Go(func() {
				time.Sleep(d / 3)
				third = measure()
			})
		}
		rep, err := Run(b.Context(), sc, opts)
		if err != nil {
			b.Fatal(err)
		}
		wg.Wait()
		spans := rep.Ledger.SpansEnded
		if spans == 0 || end.spans <= third.spans {
			b.Fatalf("spans ended: %d in all, %d between a third of the load and its end", spans, end.spans-third.spans)
		}
		steady := (float64(end.heap) - float64(third.heap)) / float64(end.spans-third.spans)
		b.ReportMetric(steady, "steady-B/span")
		b.ReportMetric(float64(end.heap-min(before, end.heap))/float64(spans), "held-B/span")
		b.ReportMetric(float64(spans), "spans")
	}
}

// heapAt is the live heap with the spans ended at one moment of a run.
type heapAt struct {
	heap  uint64
	spans int
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
