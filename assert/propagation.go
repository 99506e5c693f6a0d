package assert

import (
	"strings"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// Propagation checks trace-context continuity: every hop continues its
// caller's trace (from the ledger), every trace in the backend is one tree,
// every server span's parent is its caller's client span, and the backend
// shows exactly the edges the topology predicts. It fails only when
// exp.Connected is set and a break is found; findings that belong to other
// checks (a parent lost before the backend, a parent not sampled) are
// reported without failing it.
func Propagation(in Input, exp topology.PropagationExpect) Verdict {
	return Run(in, []topology.Expect{{Kind: topology.ExpectPropagation, Propagation: exp}})[0]
}

// spanRef names one span across traces.
type spanRef struct {
	trace record.TraceID
	id    record.SpanID
}

// propTally is the propagation check judged group by group. A hop's parent
// hops, its server span and the backend trees it shows up in all lie in its
// group, so add judges every hop and every tree of the group it is given
// (see propGroup). Two judgements span groups and wait for verdict: a
// predicted edge is unobserved only when no group's backend shows it, and
// the requests an external service makes are reactions to a trace only
// when some group sent one into it (their attribution also names callers
// any group may have seen). For those, add keeps counters per edge, per
// service pair and per external service, callee, reaction and fault period,
// never per hop or span.
type propTally struct {
	exp        topology.PropagationExpect
	top        *topology.Topology
	readBack   bool
	noReadBack string
	model      *expectModel

	// faults is the run's fault set as add is given it (nil without
	// faults); periods are the times at which an attribution to it may
	// change.
	faults  *faultSet
	bound   bool
	version int // of the fault set periods and the model were derived from
	periods timePeriods

	found propFindings
	n     propCounts
	// perEdge counts checked hops per physical edge; broken names the
	// edges with a ledger break; perSvc counts distinct backend spans per
	// service.
	perEdge  map[edge]int
	broken   map[string]bool
	perSvc   map[string]int
	evidence map[edge]*edgeEvidence
	// pairs are the backend's cross-service parent → child pairs, by
	// service names.
	pairs map[edge]*pairTally
	// unseen counts the hops that continued cleanly into the backend per
	// predicted edge, fault period and DuringFault window: those verdict
	// reports when no backend pair shows their edge.
	unseen map[unseenKey]unseenHops
	ext    extTally
	// decl counts the edges declared into and out of the user's services,
	// as the run's traces show them.
	decl declTally
}

// propCounts are the propagation check's summed counters.
type propCounts struct {
	hops, checked, upstream, hopBreaks int
	sampledLost, stateLost, bagLost    int
	mismatches                         int // server spans whose parent is not the caller's client span
	traces, spans, extraRoots, orphans int
	orphansLost, orphansUnsampled      int
}

// plantedEdge counts the breaks on an edge that exp.Broken lists.
type plantedEdge struct {
	name            string
	e               edge
	breaks          int // every break on the edge
	inside, outside int // with exp.DuringFault: within its windows or not
	outsideEx       []string
}

// edgeEvidence is what the ledger says about one effective edge: hops whose
// expected context was a sampled client span and whose server span was
// sampled, and how many of those continued cleanly with both spans in the
// backend (so the backend must show the edge).
type edgeEvidence struct{ hops, clean int }

// unseenKey sorts the clean hops of a predicted edge by what a finding
// about them would say: its attribution, decided by the period of the
// hop's send (see timePeriods), and whether the hop was in flight in a
// DuringFault window.
type unseenKey struct {
	e      edge
	period int
	inside bool
}

// unseenHops counts clean hops with one unseenKey; at is one of their
// send times, standing for the period.
type unseenHops struct {
	n  int
	at int64
}

// newPropTally returns the propagation check of exp for the run whose
// static evidence is base.
func newPropTally(exp topology.PropagationExpect, base *Input) *propTally {
	t := &propTally{
		exp:        exp,
		top:        base.Topology,
		readBack:   base.ReadBack,
		noReadBack: noReadBack(*base),
		model:      newExpectModel(base.Topology, base.Faults),
		found:      newPropFindings(exp),
		perEdge:    make(map[edge]int),
		broken:     make(map[string]bool),
		perSvc:     make(map[string]int),
		evidence:   make(map[edge]*edgeEvidence),
		pairs:      make(map[edge]*pairTally),
		unseen:     make(map[unseenKey]unseenHops),
		ext:        newExtTally(),
		decl:       newDeclTally(),
	}
	return t
}

// bind takes the run's fault set on the first add (every add is given the
// same one) and derives the periods, the DuringFault windows and the model
// again whenever its windows changed. A stream judges a group only once
// every window point that could change its answers lies after it (see
// Stream.Advance), so the periods counted so far keep their indexes: a
// point added or moved after every time judged leaves the index of each of
// those times as it was.
func (t *propTally) bind(faults *faultSet) {
	if t.bound && t.version == faults.ver() {
		return
	}
	if faults != nil {
		t.model = newExpectModel(t.top, faults.records())
	}
	t.bound, t.faults, t.version = true, faults, faults.ver()
	t.periods = newTimePeriods(faults)
	var during []faultWin
	if t.exp.DuringFault > 0 {
		during = faults.numbered(t.exp.DuringFault)
	}
	t.found.bind(faults, during)
}

// bindFaults takes the fault set every group will be judged with.
func (t *propTally) bindFaults(fs *faultSet) { t.bind(fs) }

// add judges one group: its hops in the ledger, its headers, its external
// requests and, with read-back, its backend trees.
func (t *propTally) add(in *Input, idx *spanIndex, faults *faultSet) {
	t.bind(faults)
	g := &propGroup{
		propTally: t,
		in:        in,
		led:       newHopLedger(in.Hops),
		idx:       idx,
		flagged:   make(map[spanRef]bool),
		loads:     loadStarts(in.Hops),
	}
	g.ledgerBreaks()
	g.headerChecks()
	g.externalReactions()
	if idx != nil {
		g.serverParents()
		g.trees()
		g.declaredEdges()
	}
}

// evidenceFor returns e's evidence, creating it.
func (t *propTally) evidenceFor(e edge) *edgeEvidence {
	ev := t.evidence[e]
	if ev == nil {
		ev = &edgeEvidence{}
		t.evidence[e] = ev
	}
	return ev
}

// parseEdge reads "cart -> inventory" (or "cart → inventory").
func parseEdge(s string) edge {
	from, to, ok := strings.Cut(s, "->")
	if !ok {
		from, to, _ = strings.Cut(s, "→")
	}
	return edge{strings.TrimSpace(from), strings.TrimSpace(to)}
}

// when is the time a finding is about: a hop's time in flight, exact from
// the ledger, or a time read off the backend's spans or an external
// service's request, which a request in flight or a clock may put just
// past a window.
type when struct {
	lo, hi int64
	exact  bool
}

// at is a time read off a span or an external request.
func at(t int64) when { return when{t, t, false} }
