package simulator

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerig/tracerig/topology"
)

func TestParseRunID(t *testing.T) {
	tests := []struct {
		in   string
		want RunID
		err  bool
	}{
		{"00000000000000ff", 0xff, false},
		{"7e4e722a22eb0da4", 0x7e4e722a22eb0da4, false},
		{"7E4E722A22EB0DA4", 0x7e4e722a22eb0da4, false},
		{"7e4e722a22eb0da", 0, true},
		{"7e4e722a22eb0da45", 0, true},
		{"7e4e722a22eb0dxz", 0, true},
		{"+e4e722a22eb0da4", 0, true},
		{"0000000000000000", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseRunID(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseRunID(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
	id, err := NewRunID()
	if err != nil {
		t.Fatal(err)
	}
	if back, err := ParseRunID(id.String()); err != nil || back != id || len(id.String()) != 16 {
		t.Errorf("NewRunID %q does not round-trip: %v, %v", id, back, err)
	}
}

// runIDs runs the chain topology for n requests with opts and returns the
// trace and span IDs it exported, and its spans.
func runIDs(t *testing.T, n int, opts ...Option) (traces map[trace.TraceID]bool, spans map[trace.SpanID]bool, stubs tracetest.SpanStubs) {
	t.Helper()
	topo, err := topology.LoadTopology("testdata/chain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	exp := tracetest.NewInMemoryExporter()
	opts = append(opts, WithExporter(func(context.Context) (sdktrace.SpanExporter, error) { return &keepOpen{exp}, nil }))
	rt := New(topo, opts...)
	if err := rt.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	load := topology.Load{Targets: []topology.Target{{Service: "front", Route: "GET /go", Weight: 1}}, Rate: topology.Rate{Freq: 200, Per: time.Second}, Requests: n, Workers: 4}
	if _, err := rt.Drive(t.Context(), []topology.Load{load}); err != nil {
		t.Fatal(err)
	}
	if err := rt.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	traces, spans = map[trace.TraceID]bool{}, map[trace.SpanID]bool{}
	stubs = exp.GetSpans()
	for _, s := range stubs {
		traces[s.SpanContext.TraceID()] = true
		spans[s.SpanContext.SpanID()] = true
	}
	return traces, spans, stubs
}

func TestIsolatedIDs(t *testing.T) {
	const n = 30
	plain, _, _ := runIDs(t, n, WithSeed(3))
	fresh, _, _ := runIDs(t, n, WithSeed(3), WithRunID(0x1111111111111111))
	a, aSpans, _ := runIDs(t, n, WithSeed(3), WithRunID(0x1111111111111111), WithIsolatedIDs())
	b, bSpans, _ := runIDs(t, n, WithSeed(3), WithRunID(0x2222222222222222), WithIsolatedIDs())
	replay, _, _ := runIDs(t, n, WithSeed(3), WithRunID(0x1111111111111111), WithIsolatedIDs())

	if !maps.Equal(plain, fresh) {
		t.Errorf("a run ID without isolation changed the trace IDs: the seed alone must give them")
	}
	if !maps.Equal(a, replay) {
		t.Errorf("the same seed and run ID gave other trace IDs: the run does not replay")
	}
	for id := range a {
		if b[id] || plain[id] {
			t.Errorf("trace %s is in two runs with distinct run IDs (or in the seed-only run)", id)
		}
	}
	for id := range aSpans {
		if bSpans[id] {
			t.Errorf("span %s is in two runs with distinct run IDs", id)
		}
	}
	if len(a) == 0 || len(b) == 0 {
		t.Fatalf("runs exported %d and %d traces, want some", len(a), len(b))
	}
}

func TestResourceAttributes(t *testing.T) {
	const id = RunID(0xabcdef0123456789)
	_, _, stubs := runIDs(t, 3, WithSeed(3), WithRunID(id), WithResourceAttributes(
		attribute.String("deployment.environment.name", "ci"),
		attribute.String("service.name", "user-name"),
		attribute.String("service.instance.id", "user-instance"),
		attribute.String("tracerig.run.id", "user-run"),
		attribute.String("tracerig.other", "x"),
	))
	if len(stubs) == 0 {
		t.Fatal("no spans exported")
	}
	for _, s := range stubs {
		got := map[string]string{}
		for _, kv := range s.Resource.Attributes() {
			got[string(kv.Key)] = kv.Value.Emit()
		}
		want := map[string]string{"deployment.environment.name": "ci", "tracerig.run.id": "abcdef0123456789"}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("span %s: resource %s = %q, want %q", s.Name, k, got[k], v)
			}
		}
		if got["service.name"] == "user-name" || got["service.instance.id"] == "user-instance" {
			t.Errorf("span %s: the user's service.name or service.instance.id won over tracerig's: %v", s.Name, got)
		}
		if _, ok := got["tracerig.other"]; ok {
			t.Errorf("span %s: a user's tracerig.* attribute reached the resource: %v", s.Name, slices.Sorted(maps.Keys(got)))
		}
	}
}
