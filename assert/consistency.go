package assert

import (
	"fmt"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// consistency message texts; the first three fail the check.
const (
	msgDroppedPart  = "dropped its part of a sampled trace (unsampled span under a sampled root)"
	msgOrphanHop    = "orphan fragment: sampled its part of an unsampled trace"
	msgOrphanSpan   = "orphan fragment in the backend: span of a trace whose root was not sampled"
	msgPartial      = "partial trace: sampled root, span exported but absent from the backend"
	msgDisagree     = "trace-ID ratio decision disagrees with another service of the same ratio"
	msgLostOnExport = "span of a sampled trace lost on the way out, not a sampling inconsistency (see completeness)"
)

// consCounts are the consistency part's counters, summed over groups.
type consCounts struct {
	traces, sampledRoots int // traces the load started; of them with a sampled root
	bad                  int // traces with a service deciding against its root
	failing              int // findings that fail the check
	partial              int // sampled traces missing an exported span in the backend
	orphans              int // unsampled traces with spans in the backend
	lost                 int // spans of sampled traces lost on export
}

// consTally is the consistency part of the sampling check, judged group by
// group. It checks every trace the load started. A sampled root: every
// instrumented callee of the trace sampled its part, and (with the
// backend) every span the ledger saw end and export is there. An unsampled
// root: no callee sampled its part and no backend span has the trace's ID.
// Services with a non-parent-based trace-ID ratio sampler of the same ratio
// must agree on every trace. Without read-back it checks the ledger only.
type consTally struct {
	model *expectModel // the services as the run's faults change them
	// version is the fault set's the model was built from.
	version int
	n       consCounts
	hopsOf  map[string]int // hops checked, per callee
}

func newConsTally(base *Input) *consTally {
	return &consTally{model: newExpectModel(base.Topology, base.Faults), hopsOf: make(map[string]int)}
}

// add judges the traces of one group; idx is nil without read-back.
func (t *consTally) add(in *Input, idx *spanIndex, found *findings, faults *faultSet) {
	if faults != nil && t.version != faults.ver() {
		// The windows changed: a stream judges a group only once they
		// are settled as far as its times go (see Stream.Advance).
		t.model, t.version = newExpectModel(in.Topology, faults.records()), faults.ver()
	}
	c := &consistencyCheck{
		t:      t,
		in:     in,
		idx:    idx,
		found:  found,
		faults: faults,
		roots:  loadRoots(in.Hops),
	}
	c.traces = make(map[record.TraceID]*consistencyTrace, len(c.roots))
	c.hops()
	if idx != nil {
		c.partialTraces()
		c.orphanFragments()
	}
	t.n.traces += len(c.roots)
	for _, s := range c.roots {
		if s {
			t.n.sampledRoots++
		}
	}
	for _, ts := range c.traces {
		if ts.bad {
			t.n.bad++
		}
	}
}

// consistencyCheck is the consistency part's working state over one group:
// it lives only while the group is judged. The group holds whole traces,
// so what it learns of a trace is all there is to learn.
type consistencyCheck struct {
	t      *consTally
	in     *Input
	idx    *spanIndex // nil without read-back
	found  *findings
	faults *faultSet
	roots  map[record.TraceID]bool // trace the load started → its root sampled
	traces map[record.TraceID]*consistencyTrace
}

// consistencyTrace is what the check learns of one trace.
type consistencyTrace struct {
	votes map[float64]ratioVote // per trace-ID ratio, the first decision
	bad   bool                  // a service decided against the root
}

// ratioVote is a service's decision under a trace-ID ratio sampler.
type ratioVote struct {
	svc     string
	sampled bool
}

// loadRoots returns the traces the load started, with whether their root
// was sampled.
func loadRoots(hops []record.Hop) map[record.TraceID]bool {
	roots := make(map[record.TraceID]bool)
	for i := range hops {
		h := &hops[i]
		if h.From == "" && h.Received && h.Server.IsValid() {
			roots[h.Server.Trace] = h.Server.Sampled
		}
	}
	return roots
}

// trace returns the state of trace id, made on first use.
func (c *consistencyCheck) trace(id record.TraceID) *consistencyTrace {
	ts := c.traces[id]
	if ts == nil {
		ts = &consistencyTrace{}
		c.traces[id] = ts
	}
	return ts
}

// hops checks the decision of every instrumented callee of a load-started
// trace against the root's, and against the services sharing its trace-ID
// ratio.
func (c *consistencyCheck) hops() {
	model := c.t.model
	for i := range c.in.Hops {
		h := &c.in.Hops[i]
		rootSampled, ok := c.roots[h.Server.Trace]
		if !ok || !h.Received || !h.ServerSpan || !h.Server.IsValid() {
			continue
		}
		s := model.service(h.To, h.ToInstance, h.SentAt)
		if s != nil && !s.Instrumented {
			continue
		}
		c.t.hopsOf[h.To]++
		example := func() string {
			return fmt.Sprintf("trace %s request %d hop %x (%s -> %s)", h.Server.Trace, h.Request, h.ID, fromName(h.From), h.To)
		}
		switch {
		case rootSampled && !h.Server.Sampled:
			c.found.add(h.To, msgDroppedPart, c.faults.unexplained(), example)
			c.trace(h.Server.Trace).bad = true
			c.t.n.failing++
		case !rootSampled && h.Server.Sampled:
			c.found.add(h.To, msgOrphanHop, c.faults.unexplained(), example)
			c.trace(h.Server.Trace).bad = true
			c.t.n.failing++
		}
		if s != nil && s.Sampler.Type == topology.SamplerTraceIDRatio {
			c.vote(h, s.Sampler.Ratio, example)
		}
	}
}

// vote records the decision of h's callee, whose sampler is a trace-ID
// ratio, and flags it when a service of the same ratio decided otherwise.
func (c *consistencyCheck) vote(h *record.Hop, ratio float64, example func() string) {
	ts := c.trace(h.Server.Trace)
	if ts.votes == nil {
		ts.votes = make(map[float64]ratioVote)
	}
	prev, ok := ts.votes[ratio]
	if !ok {
		ts.votes[ratio] = ratioVote{h.To, h.Server.Sampled}
		return
	}
	if prev.sampled != h.Server.Sampled {
		c.found.add(h.To, msgDisagree, c.faults.unexplained(), func() string {
			return fmt.Sprintf("%s (ratio %g): %s sampled=%t, %s sampled=%t", example(), ratio, prev.svc, prev.sampled, h.To, h.Server.Sampled)
		})
		c.t.n.failing++
	}
}

// partialTraces checks that what the ledger saw end and export of a
// sampled root's trace is in the backend.
func (c *consistencyCheck) partialTraces() {
	partial := make(map[record.TraceID]bool)
	for i := range c.in.Ended {
		e := &c.in.Ended[i]
		sampled, ok := c.roots[e.Trace]
		if !ok || !sampled {
			continue
		}
		if _, ok := c.idx.lookup(e.Trace, e.ID); ok {
			continue
		}
		example := func() string { return fmt.Sprintf("trace %s span %s (%s)", e.Trace, e.ID, e.Name) }
		if e.Export != record.ExportOK {
			c.t.n.lost++
			c.found.add(e.Service, msgLostOnExport+": "+e.Export.String(), attrNone, example)
			continue
		}
		partial[e.Trace] = true
		c.found.add(e.Service, msgPartial, c.faults.loss(e.Service, e.Instance, e.End), example)
		c.t.n.failing++
	}
	c.t.n.partial += len(partial)
}

// orphanFragments checks that nothing of an unsampled root's trace is in
// the backend.
func (c *consistencyCheck) orphanFragments() {
	for id, sampled := range c.roots {
		if sampled {
			continue
		}
		t, ok := c.idx.trace(id)
		if !ok {
			continue
		}
		c.t.n.orphans++
		lo, hi := c.idx.segment(t)
		for e := lo; e < hi; e++ {
			sp := c.idx.span(e)
			c.found.add(sp.Service, msgOrphanSpan, c.faults.unexplained(), func() string {
				return fmt.Sprintf("trace %s span %s (%s)", sp.Trace, sp.ID, sp.Name)
			})
			c.t.n.failing++
		}
	}
}

// hopShares sets the findings on hops in list to count out of the hops
// their service received.
func (t *consTally) hopShares(list []Finding) {
	for i := range list {
		f := &list[i]
		if n, ok := t.hopsOf[f.Subject]; ok && f.Of == 0 && (f.Message == msgDroppedPart || f.Message == msgOrphanHop || f.Message == msgDisagree) {
			f.Of = n
		}
	}
}

// describe fills stats and the part's outcome; without read-back (why
// says why) it describes the ledger only.
func (t *consTally) describe(readBack bool, why string, stats map[string]float64) samplingPart {
	part := samplingPart{measured: "parent-based decisions along every trace the load started, per service"}
	if !readBack {
		part.measured += " (ledger only: " + why + "; backend fragments and partial traces not checked)"
	}
	n := &t.n
	stats["traces"] = float64(n.traces)
	stats["sampled_roots"] = float64(n.sampledRoots)
	stats["inconsistent_traces"] = float64(n.bad)
	stats["partial_traces"] = float64(n.partial)
	stats["orphan_traces"] = float64(n.orphans)
	stats["lost_on_export"] = float64(n.lost)
	stats["inconsistencies"] = float64(n.failing)
	if n.traces == 0 {
		part.status = StatusFail
		part.observed = "no trace started by the load: nothing to check consistency on"
		return part
	}
	part.observed = fmt.Sprintf("%d traces (%d with a sampled root): %d with a service deciding against its root",
		n.traces, n.sampledRoots, n.bad)
	if readBack {
		part.observed += fmt.Sprintf(", %d partial, %d orphan fragments in the backend", n.partial, n.orphans)
		if n.lost > 0 {
			part.observed += fmt.Sprintf("; %d spans of sampled traces lost on the way out (a completeness matter)", n.lost)
		}
	} else {
		part.observed += " (ledger only)"
	}
	part.status = StatusPass
	if n.failing > 0 {
		part.status = StatusFail
	}
	return part
}
