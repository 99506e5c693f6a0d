package simulator

import (
	"context"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

func TestHopHeaderRoundTrip(t *testing.T) {
	for _, tt := range []struct{ hop, req uint64 }{{1, 0}, {0xffffffffffffffff, 12345}, {0xabc, 1 << 40}} {
		hop, req, ok := parseHop(formatHop(tt.hop, tt.req))
		if !ok || hop != tt.hop || req != tt.req {
			t.Errorf("round trip of (%x, %d) gave (%x, %d, %v)", tt.hop, tt.req, hop, req, ok)
		}
	}
	for _, bad := range []string{"", "-", "12", "x-1", "1-", "12345678901234567-1", "A-1"} {
		if _, _, ok := parseHop(bad); ok {
			t.Errorf("parseHop(%q) accepted a malformed value", bad)
		}
	}
}

func TestPropagatorsWriteTheirHeaders(t *testing.T) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5, 6}, TraceFlags: trace.FlagsSampled,
	})
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), sc)
	tests := []struct {
		props []topology.Propagator
		want  record.Header
	}{
		{[]topology.Propagator{topology.PropTraceContext}, record.HeaderTraceparent},
		{[]topology.Propagator{topology.PropB3}, record.HeaderB3Single},
		{[]topology.Propagator{topology.PropB3Multi}, record.HeaderB3Multi},
		{[]topology.Propagator{topology.PropJaeger}, record.HeaderUberTraceID},
		{[]topology.Propagator{topology.PropTraceContext, topology.PropJaeger}, record.HeaderTraceparent | record.HeaderUberTraceID},
	}
	for _, tt := range tests {
		t.Run(record.Header(tt.want).String(), func(t *testing.T) {
			h := http.Header{}
			p := propagatorFor(tt.props)
			p.Inject(ctx, propagation.HeaderCarrier(h))
			if got := httpHeaderSet(h); got != tt.want {
				t.Errorf("headers %v, want %v", got, tt.want)
			}
			got := extracted(p, propagation.HeaderCarrier(h))
			if got.Trace != record.TraceID(sc.TraceID()) || got.Span != record.SpanID(sc.SpanID()) || !got.Sampled {
				t.Errorf("extracted %+v, want the injected context", got)
			}
			if any := extracted(anyFormat, propagation.HeaderCarrier(h)); any != got {
				t.Errorf("any-format extraction %+v, want %+v", any, got)
			}
		})
	}
}

func TestPropagatorMismatchReadsNothing(t *testing.T) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{9}, SpanID: trace.SpanID{8}})
	h := http.Header{}
	propagatorFor([]topology.Propagator{topology.PropB3}).Inject(trace.ContextWithRemoteSpanContext(context.Background(), sc), propagation.HeaderCarrier(h))
	if got := extracted(propagatorFor([]topology.Propagator{topology.PropTraceContext}), propagation.HeaderCarrier(h)); got.IsValid() {
		t.Errorf("a tracecontext reader extracted %+v from b3 headers", got)
	}
}
