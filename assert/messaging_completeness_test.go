package assert

import (
	"testing"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// TestCompletenessAcrossLinks: head sampling decides the producer's trace
// and a linking consumer's apart, so one may be kept and the other dropped.
// Neither makes the kept trace partial (its consumers' spans belong to
// traces of their own) nor a kept consumer span an orphan (it is a root
// that links, not a child); the messaging check counts the split.
func TestCompletenessAcrossLinks(t *testing.T) {
	const n = 6
	for _, tt := range []struct {
		name              string
		producer, billing bool
		split             string // the messaging check's stat counting the split
	}{
		{"producer's trace kept, consumer's dropped", true, false, "sampled_producer_only"},
		{"consumer's trace kept, producer's dropped", false, true, "sampled_consumer_only"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := msgRunSampled(n, func(int) (bool, bool) { return tt.producer, tt.billing }, nil)
			// The ledger saw every sampled span end and the backend
			// acknowledge it.
			for _, s := range in.Backend {
				in.Ended = append(in.Ended, record.Ended{Span: s, Export: record.ExportOK, ExportAt: s.End})
			}
			vs := Run(in, []topology.Expect{
				{Kind: topology.ExpectCompleteness, Completeness: topology.CompletenessExpect{Min: 1}},
				{Kind: topology.ExpectPropagation, Propagation: topology.PropagationExpect{Connected: true}},
				{Kind: topology.ExpectMessaging, Messaging: topology.MessagingExpect{Delivered: 1}},
			})
			for _, v := range vs {
				if v.Status != StatusPass {
					t.Errorf("%s %s: %s %s %+v", v.Check, v.Status, v.Observed, v.Reason, v.Findings)
				}
			}
			comp, prop, msg := vs[0].Stats, vs[1].Stats, vs[2].Stats
			// Either way n traces are kept: the producer's (with
			// shipping's consumer span, its child) or billing's.
			if comp["traces"] != n || comp["partial_traces"] != 0 || comp["delivered"] != float64(len(in.Backend)) || comp["missing"] != 0 {
				t.Errorf("completeness: %v traces, %v partial, %v of %d spans delivered, %v missing; want %d, none partial, all delivered",
					comp["traces"], comp["partial_traces"], comp["delivered"], len(in.Backend), comp["missing"], n)
			}
			if prop["orphans"] != 0 || prop["extra_roots"] != 0 {
				t.Errorf("propagation: %v orphans, %v extra roots; want none", prop["orphans"], prop["extra_roots"])
			}
			if got := msg["checkout -> billing | "+tt.split]; got != n {
				t.Errorf("messaging: %s = %v, want %d", tt.split, got, n)
			}
		})
	}
}
