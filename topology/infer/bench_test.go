package infer

import (
	"runtime"
	"testing"
	"time"
)

// BenchmarkBuilder feeds 1M spans of the known system per iteration,
// traces interleaved two at a time and finished by the pending bound, and
// reports ns/span and the bytes allocated per span.
func BenchmarkBuilder(b *testing.B) {
	const want = 1_000_000
	g := newGen(3)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for i := 0; len(g.spans) < want; i++ {
		g.request(start + int64(i)*int64(time.Millisecond))
	}
	spans := g.spans[:want]
	b.ResetTimer()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for range b.N {
		bl := NewBuilder(Options{Name: "bench", MaxPendingTraces: 1000})
		for i := range spans {
			bl.Add(&spans[i])
		}
		if _, err := bl.Result(); err != nil {
			b.Fatal(err)
		}
	}
	runtime.ReadMemStats(&m1)
	n := float64(b.N) * want
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/span")
	b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/n, "B/span")
}
