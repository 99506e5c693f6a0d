package assert_test

import (
	"testing"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/scenarios"
)

// TestLibraryStreamedMatchesBatch runs every library scenario, keeping its
// records, and judges the evidence twice: as a whole, as the run's report
// did, and group by group in three different orders and groupings, as a run
// verified while it goes does. The verdicts, counts, stats and findings
// must be the same; only which examples a finding shows may differ.
func TestLibraryStreamedMatchesBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the scenario library")
	}
	entries, err := scenarios.Library()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Run(e.Name, func(t *testing.T) {
			sc, err := scenarios.Open(e.Name)
			if err != nil {
				t.Fatal(err)
			}
			opts := scenarios.Options{TimeScale: 0.2, KeepRecords: true}
			if e.Name == "soak" || e.Name == "throughput" {
				d := 3 * time.Second
				opts = scenarios.Options{Duration: &d, KeepRecords: true}
			}
			rep, err := scenarios.Run(t.Context(), sc, opts)
			if err != nil {
				t.Fatal(err)
			}
			in := rep.Evidence.Input
			if len(in.Ended) == 0 {
				t.Fatal("the run kept no spans")
			}
			want := assert.Run(in, sc.Expect)
			for seed := range uint64(3) {
				if err := assert.SameVerdicts(want, assert.Streamed(in, sc.Expect, seed)); err != nil {
					t.Errorf("grouping %d: %v", seed, err)
				}
				if err := assert.SameVerdicts(want, assert.StreamedLive(in, sc.Expect, seed)); err != nil {
					t.Errorf("live %d: %v", seed, err)
				}
			}
		})
	}
}
