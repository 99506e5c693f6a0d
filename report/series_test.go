package report

import (
	"slices"
	"testing"

	"github.com/tracerig/tracerig/assert"
)

// TestSeriesAddsUpGroupByGroup feeds a run's groups one at a time, as a run
// that releases its records does, and expects the series built from the
// whole run.
func TestSeriesAddsUpGroupByGroup(t *testing.T) {
	ev := sampleEvidence(t)
	in := ev.Input
	t0 := ev.StartedAt.UnixNano()
	whole := seriesOf(in, t0)
	parts := NewSeries(t0, in.ReadBack)
	groups := assert.Partition(in)
	slices.Reverse(groups)
	for _, g := range groups {
		parts.Add(g.Hops, g.Ended, g.Backend)
	}
	for name, pair := range map[string][2][]uint32{
		"sent": {whole.sent, parts.sent}, "ended": {whole.ended, parts.ended},
		"arrived": {whole.arrived, parts.arrived}, "queue": {whole.queue, parts.queue},
		"failed": {whole.failed, parts.failed}, "missing": {whole.missing, parts.missing},
	} {
		if !slices.Equal(pair[0], pair[1]) {
			t.Errorf("%s: group by group %v, whole %v", name, pair[1], pair[0])
		}
	}
	if whole.Spans() != len(in.Ended) || parts.last != whole.last {
		t.Errorf("spans %d, last %d; want %d, %d", parts.Spans(), parts.last, len(in.Ended), whole.last)
	}
	if got := whole.failed; slices.Max(got) != 1 {
		t.Errorf("failed %v: want the one failed export", got)
	}
}
