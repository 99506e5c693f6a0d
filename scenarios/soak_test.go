package scenarios

import (
	"os"
	"testing"
	"time"
)

// soakGrowthBound is the most a real-hop run's resident set may grow per
// span ended from a third of the way through the run to its end. A run
// that kept its records grew by about 2,200 bytes per span; a run verified
// as it goes holds what is in flight, and its resident set moves only with
// the garbage collector's pace.
const soakGrowthBound = 16

// soakMinSpans is the fewest spans a soak must end for its growth per span
// to say anything: the resident set's noise (a few tens of MiB) over
// millions of spans is a few bytes per span.
const soakMinSpans = 3_000_000

// TestSoakMemoryBounded runs the throughput scenario flat out long enough to
// end millions of spans and requires its resident set to stop growing with
// them. It takes minutes: TRACERIG_SOAK=1 runs it, TRACERIG_SOAK_DURATION
// (default 3m) sets the load's length.
//
//	TRACERIG_SOAK=1 go test -run SoakMemoryBounded -timeout 30m -v ./scenarios/
func TestSoakMemoryBounded(t *testing.T) {
	if os.Getenv("TRACERIG_SOAK") == "" {
		t.Skip("a soak of minutes: TRACERIG_SOAK=1 runs it")
	}
	d := 3 * time.Minute
	if v := getenvDuration(t, "TRACERIG_SOAK_DURATION"); v > 0 {
		d = v
	}
	sc, err := Open("throughput")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(t.Context(), sc, Options{Duration: &d})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Passed {
		t.Errorf("the run failed its checks: %+v", rep.Verdicts)
	}
	m := rep.Memory
	if m == nil {
		t.Fatal("the run sampled no memory")
	}
	spans := rep.Ledger.SpansEnded
	t.Logf("%d spans ended in %s; peak resident set %d MiB; growth %.1f bytes per span from a third of the run to its end",
		spans, d, m.PeakRSS>>20, m.GrowthPerSpan)
	if spans < soakMinSpans {
		t.Fatalf("%d spans ended, fewer than the %d the bound needs: run longer (TRACERIG_SOAK_DURATION)", spans, soakMinSpans)
	}
	if m.GrowthPerSpan > soakGrowthBound {
		t.Errorf("the resident set grew %.1f bytes per span ended, more than %d", m.GrowthPerSpan, soakGrowthBound)
	}
}
