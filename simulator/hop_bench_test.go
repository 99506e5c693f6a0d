package simulator

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracerig/tracerig/internal/hopfloor"
	rusage "github.com/tracerig/tracerig/internal/usage"
	"github.com/tracerig/tracerig/topology"
)

// discardExporter takes every span and keeps none: the benchmarks measure
// the hop, not a sink.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

const hopTopology = `
name: hop
services:
  front:
    routes:
      GET /a:
        calls:
          - back: %s
  back:
    protocol: %s
    routes:
      %s: {}
`

// BenchmarkHop measures one request through two instrumented services
// (front, then back over HTTP or gRPC) in the in-process runtime: two hops
// (the load's and front's call), three spans, the ledger records of both
// hops, spans batched to an exporter that discards them. cpu-µs/hop is the
// process's CPU (every side of the hop, the runtime, GC) per hop.
func BenchmarkHop(b *testing.B) {
	for _, proto := range []string{"http", "grpc"} {
		b.Run(proto, func(b *testing.B) {
			route := "GET /b"
			if proto == "grpc" {
				route = "bench.Back/Get"
			}
			topo, err := topology.ParseTopology("hop.yaml", []byte(fmt.Sprintf(hopTopology, route, proto, route)))
			if err != nil {
				b.Fatal(err)
			}
			rt := New(topo, WithExporter(func(context.Context) (sdktrace.SpanExporter, error) { return discardExporter{}, nil }))
			if err := rt.Start(b.Context()); err != nil {
				b.Fatal(err)
			}
			defer rt.Shutdown(context.Background())
			url := "http://" + rt.Endpoint("front", 0) + "/a"
			benchRequests(b, url, 2)
			b.StopTimer()
			if err := rt.Err(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkHopBare is the floor under BenchmarkHop/http: the same two hops
// between two bare net/http servers on loopback (hopfloor.Chain, the floor
// `tracerig bench --hops` measures), no instrumentation, no ledger.
func BenchmarkHopBare(b *testing.B) {
	c, err := hopfloor.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	benchRequests(b, c.URL, hopfloor.HopsPerRequest)
}

// benchRequests sends b.N GET requests to url from parallel clients and
// reports the process CPU per hop (hops hops per request).
func benchRequests(b *testing.B, url string, hops int) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	cpu, _ := rusage.Self()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	cpu1, _ := rusage.Self()
	used := cpu1 - cpu
	b.ReportMetric(float64(used)/1e3/float64(b.N*hops), "cpu-µs/hop")
}
