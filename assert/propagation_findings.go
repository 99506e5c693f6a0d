package assert

import (
	"maps"
	"slices"

	"github.com/tracerig/tracerig/topology"
)

// propFindings is where the propagation check's findings go: the tally's
// own while groups are added, and a copy of them while verdict adds the
// judgements that wait for the whole run, so that verdict leaves the tally
// as it was.
type propFindings struct {
	breaks *findings // failing: hops and trees that broke the trace
	info   *findings // not failing: explained by another check
	// planted are the edges exp.Broken lists, by name, and in exp.Broken
	// order; during are the windows of exp.DuringFault, when set.
	planted map[string]*plantedEdge
	order   []*plantedEdge
	during  []faultWin
	// of says, per finding, what its Of counts. The totals grow as groups
	// come, so Of is filled in by verdict.
	of map[findingKey]ofRef
}

// ofKind names the total a finding is out of.
type ofKind uint8

const (
	ofNone      ofKind = iota // Of stays 0
	ofEdgeHops                // checked hops on edge e
	ofExternal                // requests external service name made
	ofTraces                  // backend traces
	ofService                 // distinct backend spans of service name
	ofPredicted               // hops whose context should have shown edge e
	ofDeclared                // traces in which edge e's caller took part
)

// ofRef is the total a finding is out of.
type ofRef struct {
	kind ofKind
	e    edge
	name string
}

// newPropFindings returns the empty collectors, with exp.Broken's edges
// planted.
func newPropFindings(exp topology.PropagationExpect) propFindings {
	p := propFindings{
		breaks: newFindings(nil),
		info:   newInfo(nil),
		of:     make(map[findingKey]ofRef),
	}
	for _, b := range exp.Broken {
		e := parseEdge(b)
		name := edgeName(e.from, e.to)
		if p.planted == nil {
			p.planted = make(map[string]*plantedEdge)
		}
		if p.planted[name] != nil {
			continue
		}
		pe := &plantedEdge{name: name, e: e}
		p.planted[name] = pe
		p.order = append(p.order, pe)
	}
	return p
}

// bind names attributions by faults and places breaks in during.
func (p *propFindings) bind(faults *faultSet, during []faultWin) {
	p.breaks.faults, p.info.faults, p.during = faults, faults, during
}

// broke counts one break on subject at time t, attributed to a and out of
// of, and tallies it for a planted edge.
func (p *propFindings) broke(subject, msg string, a attribution, t when, of ofRef, example func() string) {
	p.breaks.add(subject, msg, a, example)
	p.outOf(findingKey{subject, msg, a}, of)
	if pe := p.planted[subject]; pe != nil {
		pe.add(p.duringWindow(t), example)
	}
}

// brokeN counts n breaks at once, inside a DuringFault window or not, with
// up to maxExamples examples of them.
func (p *propFindings) brokeN(subject, msg string, a attribution, inside bool, n int, examples []string, of ofRef) {
	p.breaks.addN(subject, msg, a, n, examples)
	p.outOf(findingKey{subject, msg, a}, of)
	if pe := p.planted[subject]; pe != nil {
		pe.addN(inside, n, examples)
	}
}

// explained counts one finding that fails nothing: another check counts
// it, or it is no break.
func (p *propFindings) explained(subject, msg string, a attribution, of ofRef, example func() string) {
	p.info.add(subject, msg, a, example)
	p.outOf(findingKey{subject, msg, a}, of)
}

// explainedN counts n such findings at once.
func (p *propFindings) explainedN(subject, msg string, a attribution, n int, examples []string, of ofRef) {
	p.info.addN(subject, msg, a, n, examples)
	p.outOf(findingKey{subject, msg, a}, of)
}

// outOf records what finding k is out of.
func (p *propFindings) outOf(k findingKey, of ofRef) {
	if of.kind != ofNone {
		p.of[k] = of
	}
}

// duringWindow reports whether t falls in a window of exp.DuringFault: a
// hop that was in flight in one, or another time within one or postGrace
// after it.
func (p *propFindings) duringWindow(t when) bool {
	for i := range p.during {
		w := &p.during[i]
		if t.exact && t.lo <= w.End && t.hi >= w.Start {
			return true
		}
		if !t.exact && t.lo >= w.Start && t.lo <= w.End+postGrace {
			return true
		}
	}
	return false
}

// clone returns a copy that shares nothing the copy may change.
func (p *propFindings) clone() propFindings {
	c := *p
	c.breaks, c.info = p.breaks.clone(), p.info.clone()
	c.of = maps.Clone(p.of)
	c.planted, c.order = nil, make([]*plantedEdge, len(p.order))
	for i, pe := range p.order {
		cp := *pe
		cp.outsideEx = slices.Clone(pe.outsideEx)
		c.order[i] = &cp
		if c.planted == nil {
			c.planted = make(map[string]*plantedEdge, len(p.order))
		}
		c.planted[cp.name] = &cp
	}
	return c
}

// add counts one break on the planted edge.
func (pe *plantedEdge) add(inside bool, example func() string) {
	pe.breaks++
	switch {
	case inside:
		pe.inside++
	case len(pe.outsideEx) < maxExamples && example != nil:
		pe.outside++
		pe.outsideEx = append(pe.outsideEx, example())
	default:
		pe.outside++
	}
}

// addN counts n breaks on the planted edge, with up to maxExamples
// examples of them.
func (pe *plantedEdge) addN(inside bool, n int, examples []string) {
	pe.breaks += n
	if inside {
		pe.inside += n
		return
	}
	pe.outside += n
	if k := min(maxExamples-len(pe.outsideEx), len(examples)); k > 0 {
		pe.outsideEx = append(pe.outsideEx, examples[:k]...)
	}
}

// addN counts n (at least one) occurrences of message on subject at once,
// taking examples while the finding still wants them.
func (fs *findings) addN(subject, message string, a attribution, n int, examples []string) *Finding {
	f := fs.add(subject, message, a, nil)
	f.Count += n - 1
	if k := min(maxExamples-len(f.Examples), len(examples)); k > 0 {
		f.Examples = append(f.Examples, examples[:k]...)
	}
	return f
}

// clone returns a deep copy of fs.
func (fs *findings) clone() *findings {
	c := &findings{byKey: make(map[findingKey]*Finding, len(fs.byKey)), faults: fs.faults, status: fs.status, expand: fs.expand}
	for k, f := range fs.byKey {
		cp := *f
		cp.Examples = slices.Clone(f.Examples)
		c.byKey[k] = &cp
	}
	return c
}
