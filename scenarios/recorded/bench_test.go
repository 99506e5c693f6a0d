package recorded

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/tracerig/tracerig/internal/otlpfile"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology/infer"
)

// BenchmarkInferFile infers from a file of 1,050,000 spans (150,000
// traces of seven spans: a front route calling three services, each
// span with its attributes) written as a run's --save-spans writes them,
// and reports the time and the bytes allocated per span, and the heap
// still in use after the last span was read (retained-MB): what a
// streaming read holds is the pending traces and the aggregates, not the
// file.
//
//	go test -run '^$' -bench BenchmarkInferFile -benchtime=1x ./scenarios/recorded/
func BenchmarkInferFile(b *testing.B) {
	const traces = 150_000
	path := filepath.Join(b.TempDir(), "spans.pb")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	w := otlpfile.NewWriter(bw)
	start := time.Now().Add(-time.Hour)
	batch := make([]record.Span, 0, 7*100)
	for n := range traces {
		batch = append(batch, fanOut(byte(n), uint64(n+1), start.Add(time.Duration(n)*time.Millisecond))...)
		if len(batch) == cap(batch) || n == traces-1 {
			if err := w.Write(batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	spans := int64(7 * traces)
	b.ResetTimer()
	for b.Loop() {
		src, err := Open(path, Access{})
		if err != nil {
			b.Fatal(err)
		}
		var ms runtime.MemStats
		res, st, err := Infer(context.Background(), src, infer.Options{})
		if err != nil || st.Spans != spans {
			b.Fatalf("read %d spans: %v", st.Spans, err)
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "retained-MB")
		runtime.KeepAlive(res)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(int64(b.N)*spans), "ns/span")
}

// fanOut is one trace of a front route calling three services, each
// through a client span; salt varies the instance.
func fanOut(salt byte, n uint64, at time.Time) []record.Span {
	var tr record.TraceID
	for i := range 8 {
		tr[i] = byte(n >> (8 * i))
	}
	id := func(k uint64) record.SpanID {
		var s record.SpanID
		for i := range 8 {
			s[i] = byte((n<<3 | k) >> (8 * i))
		}
		return s
	}
	t := at.UnixNano()
	ms := int64(time.Millisecond)
	http := func(method, route, status string) []record.Attr {
		return []record.Attr{{Key: "http.request.method", Value: method}, {Key: "http.route", Value: route}, {Key: "http.response.status_code", Value: status}}
	}
	spans := []record.Span{{Trace: tr, ID: id(1), Start: t, End: t + 20*ms, Service: "front", Instance: "front-" + string('0'+salt%2),
		Name: "GET /checkout", Kind: record.KindServer, Attrs: http("GET", "/checkout", "200")}}
	for k, callee := range []string{"cart", "payment", "shipping"} {
		c, s := id(uint64(2+2*k)), id(uint64(3+2*k))
		begin := t + int64(1+5*k)*ms
		spans = append(spans,
			record.Span{Trace: tr, ID: c, Parent: id(1), Start: begin, End: begin + 4*ms, Service: "front", Instance: spans[0].Instance,
				Name: "POST", Kind: record.KindClient, Attrs: []record.Attr{{Key: "server.address", Value: callee}}},
			record.Span{Trace: tr, ID: s, Parent: c, Start: begin + ms/10, End: begin + 4*ms - ms/10, Service: callee, Instance: callee + "-0",
				Name: "POST /" + callee, Kind: record.KindServer, Attrs: http("POST", "/"+callee, "200")})
	}
	return spans
}
