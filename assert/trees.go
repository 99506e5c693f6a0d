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

// svcPair is a parent → child pair of a group's interned service names.
type svcPair [2]uint16

// trees checks that every backend trace of the group is one tree: one
// root and every parent present. It counts the cross-service parent →
// child pairs it sees and reports those the topology does not predict.
func (g *propGroup) trees() {
	x := g.idx
	perSvc := make([]int, len(x.names.names))
	pairs := make(map[svcPair]*pairTally)
	var orphans []int32
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
			if !ok && g.loadRoot(s) {
				roots++ // the entry's span under the context the load sent
				continue
			}
			if !ok {
				orphans = append(orphans, e)
				continue
			}
			if ps, cs := x.ents[p].svc, x.ents[e].svc; ps != cs {
				g.pair(pairs, svcPair{ps, cs}, x.span(p), s)
			}
		}
		if roots > 1 {
			g.n.extraRoots += g.multiRoot(t, roots)
		}
	}
	for svc, n := range perSvc {
		g.perSvc[x.names.name(uint16(svc))] += n
	}
	for k, p := range pairs {
		g.addPairs(edge{x.names.name(k[0]), x.names.name(k[1])}, p)
	}
	g.orphans(orphans)
	g.n.traces += x.numTraces()
	g.n.spans += len(x.ents)
	g.n.orphans += len(orphans)
}

// pair counts one parent → child pair k in the group's pairs, and reports
// it when the topology does not predict it and no broken hop already
// explains the child. The topology is the one in force while the request
// went from the parent to the child: with the faults that change the model
// applied when one was active then.
func (g *propGroup) pair(pairs map[svcPair]*pairTally, k svcPair, parent, child *record.Span) {
	from := g.idx.names.name(k[0])
	p := pairs[k]
	if p == nil {
		p = &pairTally{predicted: g.top == nil ||
			(!g.model.anyWindow() && g.model.static.pred[edge{from, child.Service}])}
		pairs[k] = p
	}
	p.count++
	if p.predicted || g.flagged[spanRef{child.Trace, child.ID}] ||
		g.model.predicted(edge{from, child.Service}, g.pairStart(parent, child), child.Start) {
		return
	}
	p.unpredicted++
	example := func() string {
		return fmt.Sprintf("trace %s span %s (%s) is a child of a %s span", child.Trace, child.ID, child.Name, from)
	}
	if ext, ok := g.model.static.through[edge{from, child.Service}]; ok {
		// The service of the user's between forwarded the context as it
		// came, without a span of its own: the trace holds together.
		g.found.explained(edgeName(from, child.Service), fmt.Sprintf("%s forwarded the trace context without a span of its own (not instrumented, or a proxy)", ext), attrNone, ofRef{}, example)
		return
	}
	if g.externalPart(from) || g.externalPart(child.Service) {
		// A real service's own calls need not be declared: the edge is
		// discovered and listed, not failed.
		g.found.explained(edgeName(from, child.Service), "discovered edge the topology does not declare (external part)", attrNone, ofRef{}, example)
		return
	}
	g.found.broke(edgeName(from, child.Service), "unexpected edge: the topology predicts no call",
		g.faults.treeEdge(from, child.Service, child.Start), at(child.Start), ofRef{}, example)
}

// addPairs adds a group's pairs between the services of e to the run's.
func (t *propTally) addPairs(e edge, p *pairTally) {
	if q := t.pairs[e]; q != nil {
		q.count += p.count
		q.unpredicted += p.unpredicted
		return
	}
	t.pairs[e] = p
}

// pairStart is the earliest time the request from the parent's service to
// the child's may have been judged: when the child's hop went into flight
// (see inFlight: from when the caller's handler received the request that
// made the call), since a handler judges its request before it starts its
// spans and a window may open in between; the parent's start when the
// ledger does not know the child's hop.
func (g *propGroup) pairStart(parent, child *record.Span) int64 {
	if child.Kind != record.KindServer {
		return parent.Start
	}
	if g.serverHop == nil {
		g.serverHop = make(map[spanRef]int32)
		for i := range g.led.hops {
			if h := &g.led.hops[i]; h.ServerSpan {
				g.serverHop[spanRef{h.Server.Trace, h.Server.Span}] = int32(i)
			}
		}
	}
	i, ok := g.serverHop[spanRef{child.Trace, child.ID}]
	if !ok {
		return parent.Start
	}
	lo, _ := g.led.inFlight(i)
	return min(lo, parent.Start)
}

// externalPart reports whether a service belongs to the part of the system
// tracerig does not simulate: an external node of the topology, or, when
// the topology has one, a service it does not name at all.
func (t *propTally) externalPart(service string) bool {
	if t.top == nil {
		return false
	}
	if s := t.top.Service(service); s != nil {
		return s.IsExternal()
	}
	for _, s := range t.top.Services {
		if s.IsExternal() {
			return true // an unknown service can only live behind an external node
		}
	}
	return false
}

// loadRoot reports whether s is a child of the context the load sent an
// external entry: its parent is no span, but the load's own request.
func (g *propGroup) loadRoot(s *record.Span) bool {
	ls, ok := g.loads[s.Trace]
	return ok && s.Parent == ls.span
}

// isRoot reports whether s starts its trace: it has no parent, or its
// parent is the load's context.
func (g *propGroup) isRoot(s *record.Span) bool { return !s.Parent.IsValid() || g.loadRoot(s) }

// multiRoot reports the roots of trace t beyond the earliest one and returns
// how many there are.
func (g *propGroup) multiRoot(t int32, roots int) int {
	x := g.idx
	lo, hi := x.segment(t)
	first := int32(-1)
	for e := lo; e < hi; e++ {
		if s := x.span(e); g.isRoot(s) && (first < 0 || s.Start < x.span(first).Start) {
			first = e
		}
	}
	msg := fmt.Sprintf("trace has %d roots", roots)
	for e := lo; e < hi; e++ {
		s := x.span(e)
		if e == first || !g.isRoot(s) || g.flagged[spanRef{s.Trace, s.ID}] {
			continue
		}
		g.found.broke(s.Service, msg, g.faults.tree(s.Service, s.Start), at(s.Start), ofRef{kind: ofTraces}, func() string {
			return fmt.Sprintf("trace %s span %s (%s) is a second root", s.Trace, s.ID, s.Name)
		})
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
// unknown (a break). Each is out of its service's spans in the backend.
func (g *propGroup) orphans(orphans []int32) {
	x := g.idx
	want := make(map[spanRef]parentInfo)
	for _, e := range orphans {
		s := x.span(e)
		want[spanRef{s.Trace, s.Parent}] = parentInfo{why: parentUnknown}
	}
	g.explainParents(want)
	for _, e := range orphans {
		s := x.span(e)
		if g.flagged[spanRef{s.Trace, s.ID}] {
			continue
		}
		ex := func() string {
			return fmt.Sprintf("trace %s span %s (%s) has parent %s", s.Trace, s.ID, s.Name, s.Parent)
		}
		of := ofRef{kind: ofService, name: x.names.name(x.ents[e].svc)}
		why := want[spanRef{s.Trace, s.Parent}]
		a := g.faults.tree(s.Service, s.Start)
		switch why.why {
		case parentLost:
			g.n.orphansLost++
			// The parent's loss explains the orphan: attribute it as a loss
			// of the parent, falling back to the tree rules.
			p := &g.in.Ended[why.ended]
			if la := g.faults.loss(p.Service, p.Instance, p.End); la != attrUnexplained {
				a = la
			}
			g.found.explained(s.Service, "span's parent never reached the backend (counted under completeness)", a, of, ex)
		case parentUnsampled:
			g.n.orphansUnsampled++
			g.found.explained(s.Service, "span's parent was not sampled (a sampling decision, not a propagation break)", a, of, ex)
		default:
			g.found.broke(s.Service, "span's parent is missing", a, at(s.Start), of, ex)
		}
	}
}

// parentInfo is what the ledger says about an orphan's missing parent.
type parentInfo struct {
	why   uint8
	ended int32 // parentLost: index in Input.Ended
}

// explainParents marks the wanted parents the ledger knows: spans that ended
// sampled (so they were lost on the way) and spans that were not sampled.
// A span's parent is in its trace, so in its group.
func (g *propGroup) explainParents(want map[spanRef]parentInfo) {
	if len(want) == 0 {
		return
	}
	mark := func(r spanRef, why uint8, ended int) {
		if _, ok := want[r]; ok {
			want[r] = parentInfo{why: why, ended: int32(ended)}
		}
	}
	for i := range g.in.Ended {
		s := &g.in.Ended[i].Span
		mark(spanRef{s.Trace, s.ID}, parentLost, i)
	}
	for i := range g.in.Hops {
		h := &g.in.Hops[i]
		if h.ClientSpan && !h.Sent.Sampled {
			mark(spanRef{h.Sent.Trace, h.Sent.Span}, parentUnsampled, 0)
		}
		if h.ServerSpan && !h.Server.Sampled {
			mark(spanRef{h.Server.Trace, h.Server.Span}, parentUnsampled, 0)
		}
	}
}

// predicted reports, into out, the effective edges the topology predicts
// and the ledger exercised cleanly (continued, sampled, both spans in the
// backend) that no group's backend shows as a client → server pair: one
// break per clean hop. Edges whose hops all broke or lost a span are
// explained elsewhere and not reported again.
func (t *propTally) predicted(out *propFindings, stats map[string]float64) {
	if t.top == nil {
		return
	}
	pred := t.model.union
	exercised, unobserved := 0, 0
	for e := range pred {
		if t.decl.edges[e] {
			continue // judged from the spans: see judgeDeclared
		}
		ev := t.evidence[e]
		if ev == nil || ev.hops == 0 {
			continue
		}
		exercised++
		if t.pairs[e] != nil || ev.clean == 0 {
			continue
		}
		unobserved++
	}
	for k, u := range t.unseen {
		if !pred[k.e] || t.pairs[k.e] != nil || t.decl.edges[k.e] {
			continue
		}
		msg := "predicted edge never observed: no " + k.e.to + " span is a child of a " + k.e.from + " span"
		out.brokeN(edgeName(k.e.from, k.e.to), msg, t.faults.treeEdge(k.e.from, k.e.to, u.at), k.inside, u.n, nil,
			ofRef{kind: ofPredicted, e: k.e})
	}
	d := t.judgeDeclared(out)
	stats["predicted_edges"] = float64(len(pred) + d.loadEdges)
	stats["predicted_edges_exercised"] = float64(exercised + d.exercised)
	stats["predicted_edges_unobserved"] = float64(unobserved + d.unobserved)
}

// unexpected records how many pairs the topology did not predict.
func (t *propTally) unexpected(stats map[string]float64) {
	n, spans := 0, 0
	for _, p := range t.pairs {
		if p.unpredicted > 0 {
			n++
			spans += p.unpredicted
		}
	}
	stats["unexpected_edges"] = float64(n)
	stats["unexpected_edge_spans"] = float64(spans)
}
