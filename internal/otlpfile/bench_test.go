package otlpfile

import (
	"bytes"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/tracerig/tracerig/internal/record"
)

// benchSpans is how many spans BenchmarkRead reads.
const benchSpans = 1_000_000

var benchFile = sync.OnceValues(func() ([]byte, error) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	res := []record.Attr{{Key: record.RunIDKey, Value: "00112233aabbccdd"}, {Key: "host.name", Value: "bench"}}
	batch := make([]record.Span, 0, 1000)
	for i := range benchSpans {
		svc := fmt.Sprintf("service-%d", i%8)
		sp := span(byte(i>>8), byte(i), byte(i-1), svc, svc+"-0", record.KindServer)
		sp.Trace[2], sp.Trace[3], sp.ID[2], sp.ID[3] = byte(i>>16), byte(i>>24), byte(i>>16), byte(i>>24)
		sp.Attrs = []record.Attr{{Key: "http.request.method", Value: "GET"}, {Key: "http.response.status_code", Value: "200"}}
		sp.Resource = res
		if batch = append(batch, sp); len(batch) == cap(batch) {
			if err := w.Write(batch); err != nil {
				return nil, err
			}
			batch = batch[:0]
		}
	}
	return buf.Bytes(), nil
})

// BenchmarkRead reads a protobuf file of a million spans, written 1000 at
// a time by eight services, two attributes each, and reports the time and
// the bytes allocated per span.
func BenchmarkRead(b *testing.B) {
	file, err := benchFile()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(file)))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		st, err := Read(bytes.NewReader(file), func(*record.Span) error { return nil })
		if err != nil || st.Spans != benchSpans {
			b.Fatalf("read %d spans: %v", st.Spans, err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	spans := float64(b.N) * benchSpans
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/spans, "ns/span")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/spans, "B/span")
}
