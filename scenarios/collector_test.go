package scenarios

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/fixtures/collector"
	"github.com/tracerig/tracerig/topology"
)

// requireCollector skips the test when the collector binary is not built, unless
// TRACERIG_REQUIRE_COLLECTOR is set (CI sets it after tools/collector/build.sh), when a missing
// binary fails it.
func requireCollector(t *testing.T) {
	t.Helper()
	requireBinary(t, collector.Find, "TRACERIG_REQUIRE_COLLECTOR", "collector", "tools/collector/build.sh")
}

// TestCollectorTailSamplingEndToEnd runs a shop-like topology, with a payment service that fails
// 10% of charges and a slow-tailed recommendation service, behind a real collector with a
// tail-sampling config, and checks what it kept against the ledger: judged at the end from the
// run's records, and verified as it goes, reading the store behind the collector back as
// requests settle, with the same verdict, every policy exercised, and requests judged while the
// load still runs. A trace sampled away is judged at its deadline without being taken for a
// backend that could not keep up.
func TestCollectorTailSamplingEndToEnd(t *testing.T) {
	requireCollector(t)
	sc := load(t, "testdata/collector/tail-sampling.yaml")
	if sc.Backend.Type != topology.BackendCollector || sc.Backend.Config != "collector.yaml" {
		t.Fatalf("backend %+v, want collector with collector.yaml", sc.Backend)
	}
	// Long enough for requests to settle and their kept traces to pass the decision_wait while
	// the load still runs.
	d := 6 * time.Second
	statuses := map[bool]map[string]assert.Status{}
	for _, keep := range []bool{true, false} {
		t.Run(fmt.Sprintf("keep-records=%v", keep), func(t *testing.T) {
			var w loadWatch
			opts := w.watch(Options{Duration: &d, OutDir: t.TempDir(), KeepRecords: keep})
			rep, err := Run(t.Context(), sc, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Settled {
				t.Errorf("backend did not settle within %s", sc.Settle)
			}
			// The load check judges the generator and this machine's CPU, not how the spans were
			// read, so it is left out of the comparison; a shortfall is logged.
			statuses[keep] = map[string]assert.Status{}
			for _, v := range rep.Verdicts {
				if v.Check == "load" {
					if v.Status != assert.StatusPass {
						t.Logf("load: %s: %s", v.Status, v.Observed)
					}
					continue
				}
				statuses[keep][v.Check] = v.Status
			}
			if len(rep.Errors) > 0 {
				t.Errorf("errors %q, want none: sampling is not loss", rep.Errors)
			}
			if len(rep.BackendNotes) > 0 {
				t.Errorf("backend notes %q, want none, as a run judged at its end has", rep.BackendNotes)
			}
			v := verdict(t, rep, string(topology.ExpectTailSampling))
			if v.Status != assert.StatusPass {
				t.Fatalf("tail-sampling: %s: %s (findings %+v)", v.Status, v.Observed, v.Findings)
			}
			t.Logf("%s (settled in %s)", v.Observed, rep.SettleTime)
			// The scenario must exercise every policy, or the pass means little.
			for _, k := range []string{"error_traces", "slow_traces", "other_kept"} {
				if v.Stats[k] < 3 {
					t.Errorf("Stats[%s] = %v: the scenario should produce a few of each", k, v.Stats[k])
				}
			}
			if v.Stats["other_kept"] >= v.Stats["other_traces"] {
				t.Errorf("the collector kept every plain trace (%v): no sampling happened", v.Stats)
			}
			// The collector dropped spans, as it should: fewer in the backend than the ledger exported.
			if rep.BackendSpans >= rep.Ledger.SpansExported {
				t.Errorf("backend holds %d spans of %d exported: nothing was sampled away", rep.BackendSpans, rep.Ledger.SpansExported)
			}
			if keep {
				if w.ver != nil || len(rep.Evidence.Input.Backend) != rep.BackendSpans {
					t.Errorf("verifier %v, kept %d backend spans of %d: want the run judged at its end", w.ver, len(rep.Evidence.Input.Backend), rep.BackendSpans)
				}
				return
			}
			streamedCollector(t, w.ver, w.duringLoad, w.atLoad.Load())
		})
	}
	if len(statuses) == 2 && !maps.Equal(statuses[true], statuses[false]) {
		t.Errorf("verdicts judged at the end %v, as it went %v", statuses[true], statuses[false])
	}
}

// streamedCollector checks that a run behind a collector was verified as it went: read back from
// the store behind it, requests judged while the load still ran, and no span reaching the store
// after its request was judged.
func streamedCollector(t *testing.T, ver *verifier, duringLoad assert.Checked, atLoad bool) {
	t.Helper()
	if ver == nil || !atLoad {
		t.Fatal("the run was not verified as it went")
	}
	rb, ok := ver.src.(*readBack)
	if !ok || rb.held == nil {
		t.Fatalf("spans came from %T, want a readBack of the store behind the collector", ver.src)
	}
	t.Logf("judged %+v during the load; %d whole, late %+v, over %+v, at most %d waiting; %d spans after their request",
		duringLoad, rb.whole, rb.late, rb.over, rb.peak, ver.rest)
	if duringLoad.Groups == 0 || duringLoad.BackendSpans == 0 {
		t.Errorf("judged %+v by the end of the load, want requests with their backend spans", duringLoad)
	}
	if rb.late.groups == 0 || rb.whole == 0 {
		t.Errorf("%d whole, %d at their deadline: want both, the collector keeping some traces and sampling others away", rb.whole, rb.late.groups)
	}
	if ver.rest != 0 {
		t.Errorf("%d spans reached the store after their request was judged", ver.rest)
	}
}

// TestCollectorScenarioBuiltInGo runs a scenario assembled in Go (no file): the collector config
// is then relative to the working directory.
func TestCollectorScenarioBuiltInGo(t *testing.T) {
	requireCollector(t)
	file := load(t, "testdata/collector/tail-sampling.yaml")
	sc := &topology.Scenario{
		Name:     "in-go",
		Topology: file.Topology,
		Runtime:  topology.RuntimeInProcess,
		Backend:  topology.Backend{Type: topology.BackendCollector, Config: "testdata/collector/collector.yaml"},
		Seed:     3,
		Settle:   15 * time.Second,
		Load: []topology.Load{{
			Targets:  []topology.Target{{Service: "frontend", Route: "GET /checkout", Weight: 1}},
			Rate:     topology.Rate{Freq: 100, Per: time.Second},
			Duration: time.Second,
			Workers:  10,
		}},
		Expect: []topology.Expect{{Kind: topology.ExpectTailSampling, TailSampling: topology.TailSamplingExpect{
			KeepErrors: true, KeepSlowerThan: 100 * time.Millisecond,
		}}},
	}
	rep, err := Run(t.Context(), sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v := verdict(t, rep, string(topology.ExpectTailSampling)); v.Status != assert.StatusPass {
		t.Fatalf("tail-sampling: %s: %s (findings %+v)", v.Status, v.Observed, v.Findings)
	}
}

func TestCollectorMissingBinary(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "otelcol-tracerig")
	t.Setenv(collector.Env, missing)
	sc := load(t, "testdata/collector/tail-sampling.yaml")
	_, err := Run(t.Context(), sc, Options{})
	var rt *RuntimeError
	if !errors.As(err, &rt) || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "tools/collector/build.sh") {
		t.Fatalf("err = %v, want a RuntimeError naming %s and the build script", err, missing)
	}
}

func TestCollectorBadConfig(t *testing.T) {
	requireCollector(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "collector.yaml"), []byte("exporters: {debug: {}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sc := load(t, "testdata/collector/tail-sampling.yaml")
	sc.File = filepath.Join(dir, "scenario.yaml") // the config is looked up beside it
	_, err := Run(t.Context(), sc, Options{})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "collector.yaml")) || !strings.Contains(err.Error(), "no otlp receiver") {
		t.Fatalf("err = %v, want the config path and what is missing", err)
	}
}
