package scenarios

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tracerig/tracerig/fixtures/embedded"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/simulator"
)

// storeExporter starts an embedded backend and returns it with a function
// that exports spans to it over a real OTLP/gRPC connection, as the
// collector in front of it would.
func storeExporter(t *testing.T) (*embedded.Backend, func(spans []record.Span)) {
	t.Helper()
	b := embedded.New()
	if err := b.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Shutdown(context.Background()) })
	conn, err := grpc.NewClient(b.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	client := ptraceotlp.NewGRPCClient(conn)
	return b, func(spans []record.Span) {
		t.Helper()
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "shop")
		out := rs.ScopeSpans().AppendEmpty().Spans()
		for _, sp := range spans {
			s := out.AppendEmpty()
			s.SetTraceID(pcommon.TraceID(sp.Trace))
			s.SetSpanID(pcommon.SpanID(sp.ID))
			s.SetName("GET /")
		}
		if _, err := client.Export(t.Context(), ptraceotlp.NewExportRequestFromTraces(td)); err != nil {
			t.Fatalf("export: %v", err)
		}
	}
}

// TestHeldReadBackRules drives a readBack of the embedded store behind a
// collector on a clock of its own: a trace the collector passed on at once,
// one it held past the first look-up, one it sampled away and one it kept
// in part. A group is looked up at once, judged whole as soon as its spans
// are all stored, with the store's arrival times, and the store forgets
// the traces of every group judged; a trace sampled away is judged at its
// deadline and is not taken for a backend that could not keep up.
func TestHeldReadBackRules(t *testing.T) {
	t0 := time.Unix(1000, 0)
	now := t0
	store, export := storeExporter(t)
	r := newHeldReadBack(store, "collector", 5*time.Second, 10)
	r.clock = func() time.Time { return now }

	passed, passedBack := request(1, 3, 3)
	heldBack, heldBackSpans := request(2, 2, 2)
	sampled, _ := request(3, 2, 0)
	partial, partialBack := request(4, 3, 2)
	export(passedBack)
	export(partialBack)
	steps := []struct {
		at      time.Duration
		add     []simulator.Settled
		export  []record.Span // stored before the step
		whole   []record.TraceID
		judged  []record.TraceID
		waiting int
	}{
		{at: 0, add: []simulator.Settled{passed, heldBack, sampled, partial}, whole: []record.TraceID{{1}}, judged: []record.TraceID{{1}}, waiting: 3},
		{at: time.Second, waiting: 3},
		{at: 2 * time.Second, export: heldBackSpans, whole: []record.TraceID{{2}}, judged: []record.TraceID{{2}}, waiting: 2},
		{at: 5 * time.Second, judged: []record.TraceID{{3}, {4}}},
	}
	for i, st := range steps {
		now = t0.Add(st.at)
		if st.export != nil {
			export(st.export)
		}
		got := r.collect(now, st.add, settleQuiet)
		if len(got) != len(st.judged) || r.waiting() != st.waiting {
			t.Fatalf("step %d: %d judged, %d waiting; want %d, %d", i, len(got), r.waiting(), len(st.judged), st.waiting)
		}
		for j, g := range got {
			if tr := g.Ended[0].Trace; tr != st.judged[j] {
				t.Errorf("step %d: judged trace %s, want %s", i, tr, st.judged[j])
			}
			for _, sp := range g.Backend {
				if sp.Arrived == 0 {
					t.Errorf("step %d: span %s of trace %s without the store's arrival time", i, sp.ID, sp.Trace)
				}
			}
			if tr := g.Ended[0].Trace; store.Trace(tr) != nil {
				t.Errorf("step %d: the store still holds trace %s, judged", i, tr)
			}
		}
	}
	if r.whole != 2 || r.late != (loss{groups: 2, traces: 2, spans: 3}) || r.over != (loss{}) {
		t.Errorf("whole %d, late %+v, over %+v; want 2 whole, 2 late (2 traces, 3 spans)", r.whole, r.late, r.over)
	}
	if _, errs := r.report(4); len(errs) != 0 {
		t.Errorf("errors %q: traces sampled away are not a backend that could not keep up", errs)
	}
	if st := store.Stats(); st.Spans != 0 || st.Received != 7 {
		t.Errorf("store holds %d spans of %d received, want none left", st.Spans, st.Received)
	}
}

// TestHeldReadBackFlush: the end of a run judges what still waits with the
// spans the store has, taking them from it.
func TestHeldReadBackFlush(t *testing.T) {
	store, export := storeExporter(t)
	r := newHeldReadBack(store, "collector", time.Minute, 10)
	partial, back := request(5, 2, 1)
	export(back)
	if got := r.collect(time.Now(), []simulator.Settled{partial}, 0); len(got) != 0 {
		t.Fatalf("%d judged before the deadline", len(got))
	}
	got := r.flush()
	if len(got) != 1 || len(got[0].Backend) != 1 || r.waiting() != 0 || store.Stats().Spans != 0 {
		t.Errorf("flushed %d groups (%+v), %d waiting, store holds %d spans", len(got), got, r.waiting(), store.Stats().Spans)
	}
}

// TestCollectorDeadline: a group behind a collector waits at least the
// run's settle, the quiet a run judged at its end waits for, and the
// collector's decision_wait with its slack.
func TestCollectorDeadline(t *testing.T) {
	for _, tc := range []struct {
		settle, quiet, wait, want time.Duration
	}{
		{15 * time.Second, 5 * time.Second, 2 * time.Second, 15 * time.Second},
		{2 * time.Second, 5 * time.Second, 2 * time.Second, 5 * time.Second},
		{time.Second, time.Second, 30 * time.Second, 30*time.Second + collectorSlack},
		{time.Second, 3 * time.Second, 0, 3 * time.Second},
	} {
		if got := collectorDeadline(tc.settle, tc.quiet, tc.wait); got != tc.want {
			t.Errorf("collectorDeadline(%s, %s, %s) = %s, want %s", tc.settle, tc.quiet, tc.wait, got, tc.want)
		}
	}
}
