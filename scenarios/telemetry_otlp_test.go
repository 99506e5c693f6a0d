package scenarios

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	"google.golang.org/grpc"

	"github.com/tracerig/tracerig/simulator/synthetic"
)

// otlpMetricsSink is an OTLP/gRPC metrics receiver that keeps the last
// value of each sum and gauge it got, by metric name (labels ignored:
// summed over the points of one export).
type otlpMetricsSink struct {
	colmetricpb.UnimplementedMetricsServiceServer
	mu      sync.Mutex
	exports int
	last    map[string]float64
}

func (s *otlpMetricsSink) Export(_ context.Context, req *colmetricpb.ExportMetricsServiceRequest) (*colmetricpb.ExportMetricsServiceResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exports++
	s.last = map[string]float64{}
	for _, rm := range req.GetResourceMetrics() {
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				for _, p := range append(m.GetSum().GetDataPoints(), m.GetGauge().GetDataPoints()...) {
					s.last[m.GetName()] += p.GetAsDouble()
				}
			}
		}
	}
	return &colmetricpb.ExportMetricsServiceResponse{}, nil
}

func startOTLPMetricsSink(t *testing.T) (*otlpMetricsSink, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	sink := &otlpMetricsSink{}
	colmetricpb.RegisterMetricsServiceServer(srv, sink)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return sink, lis.Addr().String()
}

// TestMetricsOverOTLP pushes a run's and a blast's metrics over OTLP
// alone (no /metrics): the last push, made as the run ends, holds the
// report's totals.
func TestMetricsOverOTLP(t *testing.T) {
	t.Run("run", func(t *testing.T) {
		sink, addr := startOTLPMetricsSink(t)
		d := 500 * time.Millisecond
		rep, err := Run(context.Background(), load(t, "quickstart.yaml"), Options{Duration: &d, MetricsOTLP: addr})
		if err != nil {
			t.Fatal(err)
		}
		sink.mu.Lock()
		defer sink.mu.Unlock()
		l := rep.Ledger
		for name, want := range map[string]int{
			"tracerig_spans_ended_total":    l.SpansEnded,
			"tracerig_spans_exported_total": l.SpansExported,
			"tracerig_load_requests_total":  l.Requests,
			"tracerig_hops_total":           l.Hops,
		} {
			if got := sink.last[name]; got != float64(want) || want == 0 {
				t.Errorf("last push (of %d): %s = %g, the report says %d", sink.exports, name, got, want)
			}
		}
	})
	t.Run("blast", func(t *testing.T) {
		sink, addr := startOTLPMetricsSink(t)
		rep, err := Blast(context.Background(), load(t, "quickstart.yaml"), BlastOptions{
			Command: "blast", Scenario: "quickstart", MetricsOTLP: "http://" + addr,
			Run: synthetic.RunOptions{Duration: 300 * time.Millisecond, Workers: 2, Conns: 1, Batch: 256},
		})
		if err != nil {
			t.Fatal(err)
		}
		sink.mu.Lock()
		defer sink.mu.Unlock()
		if got := sink.last["tracerig_blast_spans_delivered_total"]; got != float64(rep.Totals.Delivered) || got == 0 {
			t.Errorf("last push (of %d): delivered %g, the report says %d", sink.exports, got, rep.Totals.Delivered)
		}
	})
}
