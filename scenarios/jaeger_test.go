package scenarios

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/fixtures/jaeger"
	"github.com/tracerig/tracerig/topology"
)

// requireJaeger skips the test when the Jaeger binary is not built, unless TRACERIG_REQUIRE_JAEGER
// is set (CI sets it after tools/jaeger/build.sh), when a missing binary fails it.
func requireJaeger(t *testing.T) {
	t.Helper()
	requireBinary(t, jaeger.Find, "TRACERIG_REQUIRE_JAEGER", "jaeger", "tools/jaeger/build.sh")
}

// requireBinary skips the test when find finds no binary, unless the
// environment variable require is set, when that fails it.
func requireBinary(t *testing.T, find func(...string) (string, error), require, name, script string) {
	t.Helper()
	if _, err := find(); err != nil {
		if os.Getenv(require) != "" {
			t.Fatalf("%s is set: %v", require, err)
		}
		t.Skipf("%s binary not built (%v); run `bash %s` to run this test", name, err, script)
	}
}

// quickstartOnJaeger returns the quickstart scenario exporting to Jaeger.
func quickstartOnJaeger(t *testing.T, b topology.Backend) *topology.Scenario {
	t.Helper()
	sc, err := Open("quickstart")
	if err != nil {
		t.Fatal(err)
	}
	sc.Backend = b
	sc.Settle = 30 * time.Second
	return sc
}

// TestJaegerQuickstart runs quickstart against a real Jaeger, judged at its end: every span read
// back through Jaeger's query API, propagation connected, arrivals measured by the probe.
func TestJaegerQuickstart(t *testing.T) {
	requireJaeger(t)
	sc := quickstartOnJaeger(t, topology.Backend{Type: topology.BackendJaeger})
	rep, err := Run(t.Context(), sc, Options{TimeScale: 0.4, KeepRecords: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Backend.Type != "jaeger" || !rep.Backend.ReadBack {
		t.Errorf("backend %+v", rep.Backend)
	}
	if !rep.Settled {
		t.Errorf("not settled after %s", rep.SettleTime)
	}
	for _, n := range rep.BackendNotes {
		if !strings.HasPrefix(n, "time until queryable measured on") {
			t.Errorf("backend note %q on a run well within the store", n)
		}
	}
	comp := verdict(t, rep, string(topology.ExpectCompleteness))
	if comp.Status != assert.StatusPass || comp.Stats["completeness"] != 1 {
		t.Errorf("completeness: %s: %s (stats %v, findings %+v)", comp.Status, comp.Observed, comp.Stats, comp.Findings)
	}
	// Jaeger gives no arrival times: the probe measures them on the traces
	// it followed, and the figures must be those of a backend on loopback
	// (the services export every 200ms).
	if n := comp.Stats["queryable_traces"]; n < 20 {
		t.Errorf("time until queryable measured on %v traces, want at least 20 (notes %q)", n, rep.BackendNotes)
	}
	if p50, p99 := comp.Stats["queryable_p50_seconds"], comp.Stats["queryable_p99_seconds"]; p50 <= 0 || p50 > p99 || p99 > 5 {
		t.Errorf("time until queryable p50 %vs, p99 %vs", p50, p99)
	}
	t.Logf("%s; %q", comp.Observed, rep.BackendNotes)
	if v := verdict(t, rep, string(topology.ExpectPropagation)); v.Status != assert.StatusPass {
		t.Errorf("propagation: %s: %s", v.Status, v.Observed)
	}
	if rep.BackendSpans != rep.Ledger.SpansExported {
		t.Errorf("read back %d spans, the exporters acknowledged %d", rep.BackendSpans, rep.Ledger.SpansExported)
	}
	t.Logf("%d spans read back from jaeger, settled in %s", rep.BackendSpans, rep.SettleTime)
}

// TestJaegerEviction runs about 200 traces into a Jaeger store of 50, judged at its end: the
// report names Jaeger's eviction as the cause of the loss.
func TestJaegerEviction(t *testing.T) {
	requireJaeger(t)
	sc := quickstartOnJaeger(t, topology.Backend{Type: topology.BackendJaeger, MaxTraces: 50})
	sc.Load[0].Duration = 0
	sc.Load[0].Requests = 200
	sc.Load[0].Rate = topology.Rate{Freq: 400, Per: time.Second}
	rep, err := Run(t.Context(), sc, Options{KeepRecords: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Settled {
		t.Errorf("not settled after %s", rep.SettleTime)
	}
	want := "jaeger keeps only its newest 50 traces; 200 traces were started: 150 traces evicted"
	if len(rep.BackendNotes) != 2 || !strings.HasPrefix(rep.BackendNotes[0], want) || !strings.HasPrefix(rep.BackendNotes[1], "time until queryable measured on") {
		t.Fatalf("backend notes %q, want one starting %q, then the probe's", rep.BackendNotes, want)
	}
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), want) {
		t.Errorf("text report lacks the eviction note:\n%s", buf.String())
	}
	// At most the newest 50 traces (of 5 spans each: web's server span, its two client spans,
	// stock's and pricing's server spans).
	traces := map[[16]byte]bool{}
	for _, s := range rep.Evidence.Input.Backend {
		traces[s.Trace] = true
	}
	if len(traces) == 0 || len(traces) > 50 || rep.BackendSpans > 250 {
		t.Errorf("read back %d spans in %d traces, want at most the newest 50 traces", rep.BackendSpans, len(traces))
	}
	t.Logf("read back %d spans in %d traces; notes %q", rep.BackendSpans, len(traces), rep.BackendNotes)
	// The completeness verdict names the eviction as the cause of the loss.
	named := 0
	for _, v := range rep.Verdicts {
		if v.Check != "completeness" {
			continue
		}
		for _, f := range v.Findings {
			switch {
			case strings.Contains(f.Message, "evicted by jaeger"):
				named++
			case strings.HasPrefix(f.Message, "lost in the backend"):
				t.Errorf("finding %q does not name the eviction", f.Message)
			}
		}
	}
	if named == 0 {
		t.Error("no completeness finding names the eviction as the cause of the loss")
	}
}

func TestSizeBackend(t *testing.T) {
	loads := []topology.Load{
		{Rate: topology.Rate{Freq: 1000, Per: time.Second}, Duration: 100 * time.Second},
		{Requests: 5000},
	}
	if b := sizeBackend(topology.Backend{Type: topology.BackendJaeger}, loads); b.MaxTraces != 210000 {
		t.Errorf("MaxTraces = %d, want 2 × 105000", b.MaxTraces)
	}
	if b := sizeBackend(topology.Backend{Type: topology.BackendJaeger}, loads[1:]); b.MaxTraces != 100000 {
		t.Errorf("MaxTraces = %d, want the floor 100000", b.MaxTraces)
	}
	if b := sizeBackend(topology.Backend{Type: topology.BackendJaeger, MaxTraces: 7}, loads); b.MaxTraces != 7 {
		t.Errorf("MaxTraces = %d, want the scenario's 7", b.MaxTraces)
	}
}

func TestJaegerBackendDecode(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/s.yaml"
	src := strings.Replace(mustRead(t, "quickstart.yaml"), "seed: 1\n", "seed: 1\nbackend: {type: jaeger, max-traces: 1234}\n", 1)
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	sc := load(t, file)
	if sc.Backend.Type != topology.BackendJaeger || sc.Backend.MaxTraces != 1234 {
		t.Fatalf("backend %+v", sc.Backend)
	}
}

func mustRead(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestJaegerMissingBinaryFailsBeforeLoad: without a Jaeger binary the run stops before any load
// with a runtime error naming the binary and the build command.
func TestJaegerMissingBinaryFailsBeforeLoad(t *testing.T) {
	missing := t.TempDir() + "/jaeger"
	t.Setenv(jaeger.Env, missing)
	sc := quickstartOnJaeger(t, topology.Backend{Type: topology.BackendJaeger})
	rep, err := Run(t.Context(), sc, Options{})
	var rerr *RuntimeError
	if !errors.As(err, &rerr) || rep != nil {
		t.Fatalf("Run = %v, %v; want a RuntimeError and no report", rep, err)
	}
	for _, want := range []string{"backend jaeger", missing, "bash tools/jaeger/build.sh"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
