package assert

import (
	"fmt"

	"github.com/tracerig/tracerig/internal/record"
)

// pairTally counts backend parent → child pairs between two services.
type pairTally struct {
	count     int
	predicted bool // at every time of the run
	// unpredicted counts the pairs seen when the topology in force did not
	// predict the edge.
	unpredicted int
}

// svcPair is a parent → child pair of interned service names.
type svcPair [2]uint16

// trees checks that every backend trace is one tree: one root and every
// parent present. It returns the cross-service parent → child pairs it saw
// and reports those the topology does not predict.
func (c *propCheck) trees() map[svcPair]*pairTally {
	x := c.idx
	pairs := make(map[svcPair]*pairTally)
	perSvc := make([]int, len(x.names.names))
	var orphans []int32
	extraRoots := 0
	for t := int32(0); int(t) < x.numTraces(); t++ {
		lo, hi := x.segment(t)
		roots := 0
		for e := lo; e < hi; e++ {
			perSvc[x.ents[e].svc]++
			s := x.span(e)
			if !s.Parent.IsValid() {
				roots++
				continue
			}
			p, ok := x.find(t, s.Parent)
			if !ok {
				orphans = append(orphans, e)
				continue
			}
			if ps, cs := x.ents[p].svc, x.ents[e].svc; ps != cs {
				c.pair(pairs, svcPair{ps, cs}, x.span(p), s)
			}
		}
		if roots > 1 {
			extraRoots += c.multiRoot(t, roots)
		}
	}
	c.unexpected(pairs)
	c.orphans(orphans, perSvc)
	c.stats["traces"] = float64(x.numTraces())
	c.stats["spans"] = float64(len(x.ents))
	c.stats["extra_roots"] = float64(extraRoots)
	c.stats["orphans"] = float64(len(orphans))
	return pairs
}

// pair counts one parent → child pair, and reports it when the topology
// does not predict it and no broken hop already explains the child. The
// topology is the one in force while the request went from the parent to
// the child: with the faults that change the model applied when one was
// active then.
func (c *propCheck) pair(pairs map[svcPair]*pairTally, k svcPair, parent, child *record.Span) {
	from := c.idx.names.name(k[0])
	p := pairs[k]
	if p == nil {
		p = &pairTally{predicted: c.in.Topology == nil ||
			(!c.model.anyWindow() && c.model.static.pred[edge{from, child.Service}])}
		pairs[k] = p
	}
	p.count++
	if p.predicted || c.flagged[spanRef{child.Trace, child.ID}] ||
		c.model.predicted(edge{from, child.Service}, c.pairStart(parent, child), child.Start) {
		return
	}
	p.unpredicted++
	if c.externalPart(from) || c.externalPart(child.Service) {
		// A real service's own calls need not be declared: the edge is
		// discovered and listed, not failed.
		c.info.add(edgeName(from, child.Service), "discovered edge the topology does not declare (external part)", attrNone,
			func() string {
				return fmt.Sprintf("trace %s span %s (%s) is a child of a %s span", child.Trace, child.ID, child.Name, from)
			})
		return
	}
	c.broke(edgeName(from, child.Service), "unexpected edge: the topology predicts no call",
		c.faults.treeEdge(from, child.Service, child.Start), at(child.Start),
		func() string {
			return fmt.Sprintf("trace %s span %s (%s) is a child of a %s span", child.Trace, child.ID, child.Name, from)
		})
}

// pairStart is the earliest time the request from the parent's service to
// the child's may have been judged: when the child's hop went into flight
// (see inFlight: from when the caller's handler received the request that
// made the call), since a handler judges its request before it starts its
// spans and a window may open in between; the parent's start when the
// ledger does not know the child's hop.
func (c *propCheck) pairStart(parent, child *record.Span) int64 {
	if child.Kind != record.KindServer {
		return parent.Start
	}
	if c.serverHop == nil {
		c.serverHop = make(map[spanRef]int32)
		for i := range c.led.hops {
			if h := &c.led.hops[i]; h.ServerSpan {
				c.serverHop[spanRef{h.Server.Trace, h.Server.Span}] = int32(i)
			}
		}
	}
	i, ok := c.serverHop[spanRef{child.Trace, child.ID}]
	if !ok {
		return parent.Start
	}
	lo, _ := c.led.inFlight(i)
	return min(lo, parent.Start)
}

// externalPart reports whether a service belongs to the part of the system
// tracerig does not simulate: an external node of the topology, or, when
// the topology has one, a service it does not name at all.
func (c *propCheck) externalPart(service string) bool {
	if c.in.Topology == nil {
		return false
	}
	if s := c.in.Topology.Service(service); s != nil {
		return s.IsExternal()
	}
	for _, s := range c.in.Topology.Services {
		if s.IsExternal() {
			return true // an unknown service can only live behind an external node
		}
	}
	return false
}

// unexpected records how many pairs the topology did not predict.
func (c *propCheck) unexpected(pairs map[svcPair]*pairTally) {
	n, spans := 0, 0
	for _, p := range pairs {
		if p.unpredicted > 0 {
			n++
			spans += p.unpredicted
		}
	}
	c.stats["unexpected_edges"] = float64(n)
	c.stats["unexpected_edge_spans"] = float64(spans)
}

// multiRoot reports the roots of trace t beyond the earliest one and returns
// how many there are.
func (c *propCheck) multiRoot(t int32, roots int) int {
	x := c.idx
	lo, hi := x.segment(t)
	first := int32(-1)
	for e := lo; e < hi; e++ {
		if s := x.span(e); !s.Parent.IsValid() && (first < 0 || s.Start < x.span(first).Start) {
			first = e
		}
	}
	msg := fmt.Sprintf("trace has %d roots", roots)
	for e := lo; e < hi; e++ {
		s := x.span(e)
		if e == first || s.Parent.IsValid() || c.flagged[spanRef{s.Trace, s.ID}] {
			continue
		}
		f := c.broke(s.Service, msg, c.faults.tree(s.Service, s.Start), at(s.Start), func() string {
			return fmt.Sprintf("trace %s span %s (%s) is a second root", s.Trace, s.ID, s.Name)
		})
		f.Of = x.numTraces()
	}
	return roots - 1
}

// Why an orphan's parent is missing, when the ledger knows.
const (
	parentUnknown   uint8 = iota // not in the ledger: a break
	parentLost                   // ended sampled, never reached the backend
	parentUnsampled              // a span the sampler dropped
)

// orphans reports spans whose parent is not in their trace, split by why:
// lost before the backend (completeness), not sampled (sampling), or
// unknown (a break).
func (c *propCheck) orphans(orphans []int32, perSvc []int) {
	x := c.idx
	want := make(map[spanRef]parentInfo)
	for _, e := range orphans {
		s := x.span(e)
		want[spanRef{s.Trace, s.Parent}] = parentInfo{why: parentUnknown}
	}
	c.explainParents(want)
	var lost, unsampled int
	for _, e := range orphans {
		s := x.span(e)
		if c.flagged[spanRef{s.Trace, s.ID}] {
			continue
		}
		ex := func() string {
			return fmt.Sprintf("trace %s span %s (%s) has parent %s", s.Trace, s.ID, s.Name, s.Parent)
		}
		var f *Finding
		why := want[spanRef{s.Trace, s.Parent}]
		a := c.faults.tree(s.Service, s.Start)
		switch why.why {
		case parentLost:
			lost++
			// The parent's loss explains the orphan: attribute it as a loss
			// of the parent, falling back to the tree rules.
			p := &c.in.Ended[why.ended]
			if la := c.faults.loss(p.Service, p.Instance, p.End); la != attrUnexplained {
				a = la
			}
			f = c.info.add(s.Service, "span's parent never reached the backend (counted under completeness)", a, ex)
		case parentUnsampled:
			unsampled++
			f = c.info.add(s.Service, "span's parent was not sampled (a sampling decision, not a propagation break)", a, ex)
		default:
			f = c.broke(s.Service, "span's parent is missing", a, at(s.Start), ex)
		}
		f.Of = perSvc[x.ents[e].svc]
	}
	c.stats["orphans_parent_lost"] = float64(lost)
	c.stats["orphans_parent_unsampled"] = float64(unsampled)
}

// parentInfo is what the ledger says about an orphan's missing parent.
type parentInfo struct {
	why   uint8
	ended int32 // parentLost: index in Input.Ended
}

// explainParents marks the wanted parents the ledger knows: spans that ended
// sampled (so they were lost on the way) and spans that were not sampled.
func (c *propCheck) explainParents(want map[spanRef]parentInfo) {
	if len(want) == 0 {
		return
	}
	mark := func(r spanRef, why uint8, ended int) {
		if _, ok := want[r]; ok {
			want[r] = parentInfo{why: why, ended: int32(ended)}
		}
	}
	for i := range c.in.Ended {
		s := &c.in.Ended[i].Span
		mark(spanRef{s.Trace, s.ID}, parentLost, i)
	}
	for i := range c.in.Hops {
		h := &c.in.Hops[i]
		if h.ClientSpan && !h.Sent.Sampled {
			mark(spanRef{h.Sent.Trace, h.Sent.Span}, parentUnsampled, 0)
		}
		if h.ServerSpan && !h.Server.Sampled {
			mark(spanRef{h.Server.Trace, h.Server.Span}, parentUnsampled, 0)
		}
	}
}

// predicted reports effective edges the topology predicts and the ledger
// exercised cleanly (continued, sampled, both spans in the backend) that the
// backend never shows as a client → server pair. Edges whose hops all broke
// or lost a span are explained elsewhere and not reported again.
func (c *propCheck) predicted(pairs map[svcPair]*pairTally) {
	if c.in.Topology == nil {
		return
	}
	pred := c.model.union
	exercised, unobserved := 0, 0
	for e := range pred {
		ev := c.evidence[e]
		if ev == nil || ev.hops == 0 {
			continue
		}
		exercised++
		if c.observed(pairs, e) || ev.clean == 0 {
			continue
		}
		unobserved++
		c.unobservedEdge(e, ev)
	}
	c.stats["predicted_edges"] = float64(len(pred))
	c.stats["predicted_edges_exercised"] = float64(exercised)
	c.stats["predicted_edges_unobserved"] = float64(unobserved)
}

// observed reports whether the backend shows a parent → child pair for e.
func (c *propCheck) observed(pairs map[svcPair]*pairTally, e edge) bool {
	a, ok1 := c.idx.names.ids[e.from]
	b, ok2 := c.idx.names.ids[e.to]
	return ok1 && ok2 && pairs[svcPair{a, b}] != nil
}

// unobservedEdge reports a predicted edge the backend never shows, one count
// per hop that should have shown it, attributed by when the hop was sent.
func (c *propCheck) unobservedEdge(e edge, ev *edgeEvidence) {
	name := edgeName(e.from, e.to)
	msg := "predicted edge never observed: no " + e.to + " span is a child of a " + e.from + " span"
	for i := range c.led.hops {
		h := &c.led.hops[i]
		if h.To != e.to {
			continue
		}
		if from, ok := c.led.effectiveFrom(int32(i)); !ok || from != e.from || !c.cleanHop(int32(i)) {
			continue
		}
		f := c.broke(name, msg, c.faults.treeEdge(e.from, e.to, h.SentAt), c.hopTime(int32(i)), nil)
		f.Of = ev.hops
	}
}
