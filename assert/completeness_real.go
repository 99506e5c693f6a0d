package assert

import (
	"fmt"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// Completeness without a ledger inside. When the run's traces pass through
// no simulated service, no span of theirs ended in the ledger and there is
// nothing to compare span by span; what the checks still know is which
// traces the run started (the load's context into an external entry). Each
// must have reached the backend as one tree, its one root the entry's span
// under the load's context and no span whose parent is missing, holding
// every declared edge whose caller took part in it.

// Messages of the traces the run started that are not complete.
const (
	realNotReached = "trace the run started never reached the backend"
	realNotTree    = "trace is not one tree under the entry's span"
)

// realTally counts the traces the load started in external entries.
type realTally struct {
	started, reached, oneTree, whole int
	edges                            map[edge]bool // declared edges of the user's services
	// problems collects the failing findings; made with the first group.
	problems *findings
}

func newRealTally(top *topology.Topology) realTally {
	r := realTally{edges: make(map[edge]bool)}
	user := func(name string) bool {
		if s := top.Service(name); s != nil {
			return s.IsExternal()
		}
		return top != nil
	}
	if top != nil {
		d := newDeclTally()
		d.declare(predictedEdges(top), user)
		r.edges = d.edges
	}
	return r
}

// add judges the traces the load started in one group.
func (r *realTally) add(in *Input, idx *spanIndex, faults *faultSet) {
	if r.problems == nil {
		r.problems = newFindings(faults)
	}
	for id, ls := range loadStarts(in.Hops) {
		r.started++
		example := func() string { return "trace " + id.String() }
		t, ok := idx.trace(id)
		if !ok {
			r.problems.add(ls.entry, realNotReached, faults.loss(ls.entry, "", ls.at), example)
			continue
		}
		r.reached++
		sh := shapeOf(idx, t, ls, true)
		if sh.roots != 1 || sh.entryRoots != 1 || sh.orphans > 0 {
			r.problems.add(ls.entry, realNotTree, attrNone, func() string {
				return fmt.Sprintf("trace %s: %d roots (%d under the load's context), %d spans whose parent is missing",
					id, sh.roots, sh.entryRoots, sh.orphans)
			})
			continue
		}
		r.oneTree++
		if r.holdsEdges(&sh, ls, id, faults) {
			r.whole++
		}
	}
}

// holdsEdges reports whether the trace shows every declared edge whose
// caller took part in it, reporting each one it lacks.
func (r *realTally) holdsEdges(sh *traceShape, ls loadStart, id record.TraceID, faults *faultSet) bool {
	ok := true
	for e := range r.edges {
		at, took := sh.first[e.from]
		if !took || sh.edges[e] {
			continue
		}
		ok = false
		r.problems.add(edgeName(e.from, e.to), "trace lacks the declared edge: "+e.from+" took part, no "+e.to+" span is its child",
			faults.treeEdge(e.from, e.to, at), func() string { return "trace " + id.String() })
	}
	if !sh.edges[edge{loadCaller, ls.entry}] {
		ok = false
	}
	return ok
}

// ratio is the share of started traces that arrived whole.
func (r *realTally) ratio() float64 {
	if r.started == 0 {
		return 1
	}
	return float64(r.whole) / float64(r.started)
}

// verdict judges the started traces into v, which holds the expectation.
func (r *realTally) verdict(v *Verdict, exp topology.CompletenessExpect, backendSpans int) {
	v.Measured = fmt.Sprintf("traces the run started in services of the user's (no ledger inside them): %d traces, each to reach the backend as one tree holding the declared edges", r.started)
	v.Expected = fmt.Sprintf("at least %s of the traces the run started reached the backend whole", percent(exp.Min))
	v.Stats = map[string]float64{
		"traces_started":             float64(r.started),
		"traces_reached":             float64(r.reached),
		"traces_one_tree":            float64(r.oneTree),
		"traces_with_declared_edges": float64(r.whole),
		"traces_lost":                float64(r.started - r.reached),
		"completeness":               r.ratio(),
		"spans_ended":                0,
		"backend_spans":              float64(backendSpans),
	}
	v.Findings = r.problems.list()
	for i := range v.Findings {
		v.Findings[i].Of = r.started
	}
	v.Stats["unexplained"] = countUnexplained(v.Findings)
	v.Observed = fmt.Sprintf("%s of %d traces whole: %d reached the backend, %d as one tree, %d holding every declared edge",
		percent(r.ratio()), r.started, r.reached, r.oneTree, r.whole)
	v.Status = StatusPass
	if r.ratio() < exp.Min {
		v.Status = StatusFail
		return
	}
	for i := range v.Findings {
		v.Findings[i].Status = FindingInfo
	}
}
