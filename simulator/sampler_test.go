package simulator

import (
	"context"
	"encoding/binary"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func TestEncodeThreshold(t *testing.T) {
	for _, tt := range []struct {
		ratio float64
		want  string
	}{
		{1, "0"}, {0.5, "8"}, {0.25, "c"}, {0.75, "4"}, {0.1, "e6666666666666"},
	} {
		if got := encodeThreshold(newConsistentSampler(tt.ratio).threshold); got != tt.want {
			t.Errorf("ratio %g: th %q, want %q", tt.ratio, got, tt.want)
		}
	}
}

func TestConsistentSampler(t *testing.T) {
	s := newConsistentSampler(0.25)
	root := func(low uint64) sdktrace.SamplingResult {
		var id trace.TraceID
		binary.BigEndian.PutUint64(id[8:], low)
		return s.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: id})
	}
	// The threshold of 0.25 is 0xc << 52: randomness at or above keeps.
	if r := root(0xc0000000000000); r.Decision != sdktrace.RecordAndSample || r.Tracestate.Get("ot") != "th:c" {
		t.Errorf("randomness at the threshold: %v %q", r.Decision, r.Tracestate.Get("ot"))
	}
	if r := root(0xbfffffffffffff); r.Decision != sdktrace.Drop || r.Tracestate.Len() != 0 {
		t.Errorf("randomness below the threshold: %v %q", r.Decision, r.Tracestate.String())
	}
	// rv in the tracestate wins over the trace ID.
	ts, _ := trace.ParseTraceState("ot=rv:ffffffffffffff")
	parent := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceState: ts}))
	if r := s.ShouldSample(sdktrace.SamplingParameters{ParentContext: parent}); r.Decision != sdktrace.RecordAndSample || r.Tracestate.Get("ot") != "th:c;rv:ffffffffffffff" {
		t.Errorf("rv root: %v %q", r.Decision, r.Tracestate.Get("ot"))
	}
	// Children follow the parent and keep its tracestate.
	ts, _ = trace.ParseTraceState("ot=th:c")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled, TraceState: ts})
	r := s.ShouldSample(sdktrace.SamplingParameters{ParentContext: trace.ContextWithRemoteSpanContext(context.Background(), sc)})
	if r.Decision != sdktrace.RecordAndSample || r.Tracestate.Get("ot") != "th:c" {
		t.Errorf("child: %v %q", r.Decision, r.Tracestate.Get("ot"))
	}
	// Over many roots the share kept is the ratio.
	kept := 0
	for i := range uint64(20000) {
		if root(mix(9, i)&(maxThreshold-1)).Decision == sdktrace.RecordAndSample {
			kept++
		}
	}
	if share := float64(kept) / 20000; share < 0.23 || share > 0.27 {
		t.Errorf("kept %.3f of roots at ratio 0.25", share)
	}
}
