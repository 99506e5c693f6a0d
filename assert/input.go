// Package assert holds tracerig's checks: it compares the ledger (the ground
// truth of every hop and every span that ended) with what the tracing backend
// returned, and says per check what was measured, what was expected and what
// was observed, with evidence. Checks return Verdicts; they never print and
// never fail a test themselves.
package assert

import (
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// Input is everything a check may look at from one run.
type Input struct {
	// Topology is the graph the run simulated; it names propagators and says
	// which services are instrumented. A nil topology skips the checks that
	// need it.
	Topology *topology.Topology
	// Hops are the ledger's requests, as both ends recorded them.
	Hops []record.Hop
	// Ended are the spans the ledger saw end in a sampled state, with what
	// became of each on the way out (for a failed export, why).
	Ended []record.Ended
	// Backend are the spans read back from the tracing backend, possibly with
	// duplicates, missing spans or spans the ledger does not know.
	Backend []record.Span
	// ReadBack is false when no backend read-back was possible (spans were
	// exported elsewhere); NoReadBack then says why.
	ReadBack   bool
	NoReadBack string
	// BackendLoss, when set, is a known cause of spans the backend lost
	// (for instance a store that evicted traces); completeness names it
	// instead of leaving the loss unexplained.
	BackendLoss string
	// Faults are the windows in which a fault was active, one record per
	// window of a recurring fault; Number is the 1-based index into Planned
	// (0 for a fault added live). Findings are attributed to them.
	Faults []record.Fault
	// Planned are the scenario's faults, for their parameters.
	Planned []topology.Fault
	// RunStart is when load began (unix ns); windows are printed relative to
	// it. 0: the earliest window start or hop.
	RunStart int64
}

// Run runs the checks in order, one Verdict per Expect but load, which Load
// checks over the loads' outcomes. It judges the whole run as one group:
// a Stream fed the run's groups (see Partition) gives the same verdicts.
func Run(in Input, expects []topology.Expect) []Verdict {
	return evaluate(in, expects)
}

// evaluate judges in as a whole, as one group. The backend index and the
// fault set are built once and shared by the checks.
func evaluate(in Input, expects []topology.Expect) []Verdict {
	traces := keepRunTraces(&in)
	var idx *spanIndex
	if in.ReadBack {
		idx = newSpanIndex(in.Backend)
	}
	faults := newFaultSet(in)
	out := make([]Verdict, 0, len(expects))
	for _, e := range expects {
		if e.Kind == topology.ExpectLoad {
			continue // checked by Load
		}
		t := newCheckTally(e, &in)
		if t == nil {
			out = append(out, unknownCheck(e))
			continue
		}
		t.add(&in, idx, faults)
		out = append(out, t.verdict())
	}
	for i := range out {
		addTraceStats(&out[i], traces)
		annotate(&out[i], in.Topology)
	}
	return out
}

// unknownCheck is the verdict of a check tracerig does not know.
func unknownCheck(e topology.Expect) Verdict {
	return Verdict{
		Check:  string(e.Kind),
		Status: StatusNotRun,
		Reason: "unknown check " + string(e.Kind),
	}
}

// services maps service names to the topology's services; empty for a nil
// topology.
func services(t *topology.Topology) map[string]*topology.Service {
	if t == nil {
		return nil
	}
	m := make(map[string]*topology.Service, len(t.Services))
	for _, s := range t.Services {
		m[s.Name] = s
	}
	return m
}
