package metrics

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	metricpb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/grpc"

	"github.com/tracerig/tracerig/internal/record"
)

// metricsSink is an OTLP/gRPC metrics receiver that keeps what it gets.
type metricsSink struct {
	colmetricpb.UnimplementedMetricsServiceServer
	mu   sync.Mutex
	reqs []*colmetricpb.ExportMetricsServiceRequest
}

func (s *metricsSink) Export(_ context.Context, req *colmetricpb.ExportMetricsServiceRequest) (*colmetricpb.ExportMetricsServiceResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, req)
	return &colmetricpb.ExportMetricsServiceResponse{}, nil
}

// last returns the metrics of the last export, by name.
func (s *metricsSink) last() map[string]*metricpb.Metric {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]*metricpb.Metric{}
	if len(s.reqs) == 0 {
		return out
	}
	for _, rm := range s.reqs[len(s.reqs)-1].GetResourceMetrics() {
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				out[m.GetName()] = m
			}
		}
	}
	return out
}

func startMetricsSink(t *testing.T) (*metricsSink, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	sink := &metricsSink{}
	colmetricpb.RegisterMetricsServiceServer(srv, sink)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return sink, lis.Addr().String()
}

// TestPushOTLP exports a run's metrics to an OTLP/gRPC receiver: on
// shutdown the last figures arrive, counters as cumulative monotonic sums
// with their labels as attributes, gauges as gauges.
func TestPushOTLP(t *testing.T) {
	sink, addr := startMetricsSink(t)
	var mu sync.Mutex
	ended := 3
	c := NewRunCollector(func() Run {
		mu.Lock()
		defer mu.Unlock()
		return Run{SpansEnded: ended, QueueSpans: 2, ExportFailed: 4,
			ExportFailures: []record.ExportFailure{{Service: "cart", Reason: "http 401", Spans: 4}}}
	})
	tests := []struct {
		name     string
		endpoint string
	}{
		{"host and port", addr},
		{"http URL", "http://" + addr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PushOTLP(context.Background(), tt.endpoint, time.Hour, c)
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			ended++
			want := float64(ended)
			mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := p.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			got := sink.last()
			sum := got["tracerig_spans_ended_total"].GetSum()
			if sum == nil || !sum.GetIsMonotonic() || sum.GetAggregationTemporality() != metricpb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE ||
				sum.GetDataPoints()[0].GetAsDouble() != want {
				t.Errorf("tracerig_spans_ended_total = %v, want a cumulative monotonic sum of %g", got["tracerig_spans_ended_total"], want)
			}
			if g := got["tracerig_export_queue_spans"].GetGauge(); g == nil || g.GetDataPoints()[0].GetAsDouble() != 2 {
				t.Errorf("tracerig_export_queue_spans = %v, want a gauge of 2", got["tracerig_export_queue_spans"])
			}
			failed := got["tracerig_spans_export_failed_total"].GetSum().GetDataPoints()
			if len(failed) != 1 || len(failed[0].GetAttributes()) != 2 || failed[0].GetAsDouble() != 4 {
				t.Errorf("tracerig_spans_export_failed_total points %v, want one of 4 with service and reason", failed)
			}
		})
	}
}

func TestOTLPEndpointURL(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"127.0.0.1:4317", "http://127.0.0.1:4317", true},
		{"collector.example:4317", "http://collector.example:4317", true},
		{"https://collector.example:4317", "https://collector.example:4317", true},
		{"http://127.0.0.1:4317", "http://127.0.0.1:4317", true},
		{"127.0.0.1", "", false},
		{"ftp://collector.example:21", "", false},
		{"https://", "", false},
		{"user:secret@collector:4317:1", "", false},
		{"ftp://user:secret@collector", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := OTLPEndpointURL(tt.in)
			if got != tt.want || (err == nil) != tt.ok {
				t.Errorf("OTLPEndpointURL(%q) = %q, %v; want %q, ok %v", tt.in, got, err, tt.want, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("the error shows the endpoint's password: %v", err)
			}
		})
	}
}
