package scenarios

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/internal/buildinfo"
	"github.com/tracerig/tracerig/simulator/synthetic"
)

// TestBlast sends a scenario's synthetic traces to the embedded backend
// with a seed of its own over each protocol: every span is delivered and
// read back, the seed is the one asked for, and the scenario is left as
// it was; the report records the tracerig version and the command line
// without its secret.
func TestBlast(t *testing.T) {
	for _, p := range []synthetic.Protocol{synthetic.ProtocolGRPC, synthetic.ProtocolHTTP} {
		t.Run(string(p), func(t *testing.T) {
			sc := load(t, "quickstart.yaml")
			seed := sc.Seed
			rep, err := Blast(context.Background(), sc, BlastOptions{
				Command: "blast", Scenario: "quickstart", Seed: seed + 41,
				CommandLine: []string{"tracerig", "blast", "quickstart", "--otlp-header", "x-api-key=blast-secret"},
				Run:         synthetic.RunOptions{Protocol: p, Duration: 300 * time.Millisecond, Workers: 2, Conns: 1, Batch: 256},
			})
			if err != nil {
				t.Fatal(err)
			}
			if sc.Seed != seed || rep.Settings.Seed != seed+41 {
				t.Errorf("scenario seed %d, report's %d; want %d and %d", sc.Seed, rep.Settings.Seed, seed, seed+41)
			}
			if !rep.Passed || len(rep.Verdicts) != 2 || rep.Verdicts[1].Check != assert.CheckReadBack || rep.Totals.Sent == 0 {
				t.Fatalf("report %+v", rep)
			}
			masked := []string{"tracerig", "blast", "quickstart", "--otlp-header", "x-api-key=***"}
			if rep.TracerigVersion != buildinfo.Version() || !slices.Equal(rep.CommandLine, masked) {
				t.Errorf("blast records tracerig %q, command line %q; want %q, %q", rep.TracerigVersion, rep.CommandLine, buildinfo.Version(), masked)
			}
		})
	}
}
