package scenarios

import (
	"errors"
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
// tail-sampling config, and checks what it kept against the ledger.
func TestCollectorTailSamplingEndToEnd(t *testing.T) {
	requireCollector(t)
	sc := load(t, "testdata/collector/tail-sampling.yaml")
	if sc.Backend.Type != topology.BackendCollector || sc.Backend.Config != "collector.yaml" {
		t.Fatalf("backend %+v, want collector with collector.yaml", sc.Backend)
	}
	rep, err := Run(t.Context(), sc, Options{OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Settled {
		t.Errorf("backend did not settle within %s", sc.Settle)
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
	if len(rep.Evidence.Input.Backend) >= len(rep.Evidence.Input.Ended) {
		t.Errorf("backend holds %d spans of %d ended: nothing was sampled away", len(rep.Evidence.Input.Backend), len(rep.Evidence.Input.Ended))
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
