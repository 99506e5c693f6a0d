package scenarios

import (
	"context"
	"maps"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/fixtures/jaeger"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

// shopOnSharedJaeger returns the shop scenario exporting to a Jaeger tracerig did not start for
// it (backend otlp, read back through Jaeger's query API), sending n requests.
func shopOnSharedJaeger(t *testing.T, j *jaeger.Jaeger, n int) *topology.Scenario {
	t.Helper()
	sc, err := Open("shop")
	if err != nil {
		t.Fatal(err)
	}
	sc.Backend = topology.Backend{Type: topology.BackendOTLP, Endpoint: j.Endpoint(),
		Query: topology.BackendQuery{Type: "jaeger", URL: j.QueryURL()}}
	sc.Settle = 30 * time.Second
	sc.Load[0].Duration, sc.Load[0].Requests = 0, n
	return sc
}

// ledgerIDs returns the trace and span IDs of the spans a run ended.
func ledgerIDs(rep *report.Report) (map[record.TraceID]bool, map[record.SpanID]bool) {
	traces, spans := map[record.TraceID]bool{}, map[record.SpanID]bool{}
	for _, e := range rep.Evidence.Input.Ended {
		traces[e.Trace], spans[e.ID] = true, true
	}
	return traces, spans
}

// TestSharedBackendRunsNeverCollide runs shop twice with one seed against one Jaeger started once:
// the runs share no trace or span ID, each reads back exactly its own spans and is complete, and
// every span read back carries its run's ID and the resource attributes asked for. A third run
// with the first's run ID replays its trace IDs.
func TestSharedBackendRunsNeverCollide(t *testing.T) {
	requireJaeger(t)
	bin, err := jaeger.Find()
	if err != nil {
		t.Fatal(err)
	}
	j, err := jaeger.Start(t.Context(), bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		j.Shutdown(ctx)
	})
	sc := shopOnSharedJaeger(t, j, 150)
	seed := uint64(42)
	run := func(name string, opts Options) *report.Report {
		t.Helper()
		// The test compares the runs' records.
		opts.Seed, opts.KeepRecords = &seed, true
		rep, err := Run(t.Context(), sc, opts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := simulator.ParseRunID(rep.RunID); err != nil {
			t.Fatalf("%s: report run ID: %v", name, err)
		}
		t.Logf("%s: run %s took %s, settled in %s", name, rep.RunID, rep.Duration, rep.SettleTime)
		return rep
	}
	env := attribute.String("deployment.environment.name", "shared-test")
	a := run("run A", Options{ResourceAttributes: []attribute.KeyValue{env}})
	b := run("run B", Options{})

	aTraces, aSpans := ledgerIDs(a)
	bTraces, bSpans := ledgerIDs(b)
	for id := range aTraces {
		if bTraces[id] {
			t.Errorf("trace %s is in both runs", id)
		}
	}
	for id := range aSpans {
		if bSpans[id] {
			t.Errorf("span %s is in both runs", id)
		}
	}
	for name, rep := range map[string]*report.Report{"run A": a, "run B": b} {
		comp := verdict(t, rep, string(topology.ExpectCompleteness))
		if comp.Status != assert.StatusPass || comp.Stats["completeness"] != 1 {
			t.Errorf("%s completeness: %s: %s (stats %v)", name, comp.Status, comp.Observed, comp.Stats)
		}
		if exported := int(rep.Ledger.SpansExported); rep.BackendSpans != exported || exported == 0 {
			t.Errorf("%s read back %d spans, want exactly its own %d", name, rep.BackendSpans, exported)
		}
		for _, s := range rep.Evidence.Input.Backend {
			if got, _ := s.ResourceAttr(record.RunIDKey); got != rep.RunID {
				t.Fatalf("%s read back a span of run %q", name, got)
			}
		}
	}
	for _, s := range a.Evidence.Input.Backend {
		if got, _ := s.ResourceAttr(string(env.Key)); got != env.Value.AsString() {
			t.Fatalf("run A: span %s of %s has resource %v, want %s", s.Name, s.Service, s.Resource, env.Key)
		}
	}

	id, _ := simulator.ParseRunID(a.RunID)
	replay := run("replay of A", Options{RunID: id})
	if replay.RunID != a.RunID {
		t.Errorf("replay ran as %s, want %s", replay.RunID, a.RunID)
	}
	if rTraces, _ := ledgerIDs(replay); !maps.Equal(rTraces, aTraces) {
		t.Errorf("the replay started %d traces, %d of them as run A did; want the same %d", len(rTraces), common(rTraces, aTraces), len(aTraces))
	}
}

func common(a, b map[record.TraceID]bool) int {
	n := 0
	for id := range a {
		if b[id] {
			n++
		}
	}
	return n
}

func TestOfRun(t *testing.T) {
	span := func(run string) record.Span {
		s := record.Span{Name: run}
		if run != "" {
			s.Resource = []record.Attr{{Key: "team", Value: "x"}, {Key: record.RunIDKey, Value: run}}
		}
		return s
	}
	tests := []struct {
		name  string
		runID string
		in    []string
		want  []string
	}{
		{"no run ID keeps all", "", []string{"a", "b", ""}, []string{"a", "b", ""}},
		{"another run's and none dropped", "a", []string{"a", "b", "", "a"}, []string{"a", "a"}},
		{"none of this run", "c", []string{"a", "b"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in []record.Span
			for _, r := range tt.in {
				in = append(in, span(r))
			}
			var got []string
			for _, s := range ofRun(in, tt.runID) {
				got = append(got, s.Name)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("ofRun(%q) kept %q, want %q", tt.runID, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("ofRun(%q) kept %q, want %q", tt.runID, got, tt.want)
				}
			}
		})
	}
}
