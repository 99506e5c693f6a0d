package assert

import (
	"fmt"
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

// propCheck is one run of the propagation check.
type propCheck struct {
	in  Input
	led *hopLedger
	idx *spanIndex // nil without read-back

	breaks *findings // failing: hops and trees that broke the trace
	info   *findings // not failing: explained by another check
	// flagged are server spans already blamed on a broken hop, so the tree
	// checks do not report the same break again.
	flagged map[spanRef]bool
	// serverHop finds a server span's hop in the ledger; built when a
	// pair first needs it.
	serverHop map[spanRef]int32
	evidence  map[edge]*edgeEvidence
	perEdge   map[edge]int // checked hops per physical edge
	stats     map[string]float64

	faults *faultSet // nil without faults
	model  *expectModel
	// planted are the edges exp.Broken lists, by name; during are the
	// windows of exp.DuringFault, when set.
	planted  map[string]*plantedEdge
	order    []*plantedEdge // planted in exp.Broken order
	during   []faultWin
	plantedF *findings // failing: planted breaks missing or out of window
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

func propagation(in Input, exp topology.PropagationExpect, idx *spanIndex, faults *faultSet) Verdict {
	c := &propCheck{
		in:       in,
		led:      newHopLedger(in.Hops),
		idx:      idx,
		breaks:   newFindings(faults),
		info:     newInfo(faults),
		flagged:  make(map[spanRef]bool),
		evidence: make(map[edge]*edgeEvidence),
		perEdge:  make(map[edge]int),
		stats:    make(map[string]float64),
		faults:   faults,
		model:    newExpectModel(in.Topology, in.Faults),
		plantedF: newFindings(faults),
	}
	c.plant(exp)
	c.ledgerBreaks()
	c.headerChecks()
	c.externalReactions()
	if idx != nil {
		c.serverParents()
		pairs := c.trees()
		c.predicted(pairs)
	}
	return c.verdict(exp)
}

// ledgerBreaks attributes each ledger-level break to the physical edge where
// it happened, explained by the headers each end saw.
func (c *propCheck) ledgerBreaks() {
	perEdge := c.perEdge
	subjects := make(map[string]edge)
	checked, upstream := 0, 0
	for i := range c.led.hops {
		h := &c.led.hops[i]
		if h.From != "" && c.led.state[i] == hopUpstream {
			upstream++
		}
		if !c.led.checked(int32(i)) {
			continue
		}
		checked++
		e := edge{h.From, h.To}
		perEdge[e]++
		if c.led.state[i] != hopBroken {
			continue
		}
		exp, _ := c.led.expected(int32(i))
		msg := explainBreak(h, exp, c.model.service(h.From, h.FromInstance, h.SentAt), c.model.service(h.To, h.ToInstance, h.SentAt))
		name := edgeName(h.From, h.To)
		subjects[name] = e
		t := c.hopTime(int32(i))
		c.broke(name, msg, c.faults.hopBreakIn(h.From, h.To, t), t,
			func() string { return hopExample(h, exp) })
		c.flag(h)
	}
	for k, f := range c.breaks.byKey {
		f.Of = perEdge[subjects[k.subject]]
	}
	c.stats["hops"] = float64(len(c.led.hops))
	c.stats["hops_checked"] = float64(checked)
	c.stats["hops_upstream_broken"] = float64(upstream)
	c.stats["hop_breaks"] = float64(c.breaks.total())
	c.stats["edges_broken"] = float64(c.breaks.subjects())
}

// flag remembers hop h's server span as already explained.
func (c *propCheck) flag(h *record.Hop) {
	if h.ServerSpan {
		c.flagged[spanRef{h.Server.Trace, h.Server.Span}] = true
	}
}

// serverParents checks, for each continued hop whose expectation is a
// sampled client span, that the callee's server span in the backend has that
// client span as parent, and gathers each effective edge's evidence.
func (c *propCheck) serverParents() {
	mismatches := 0
	for i := range c.led.hops {
		h := &c.led.hops[i]
		from, ok := c.led.effectiveFrom(int32(i))
		exp, _ := c.led.expected(int32(i))
		if !ok || !exp.Sampled || !h.ServerSpan || !h.Server.Sampled || h.From == "" {
			continue
		}
		ev := c.evidenceFor(edge{from, h.To})
		ev.hops++
		if c.led.state[i] != hopContinued {
			continue
		}
		j, ok := c.idx.lookup(h.Server.Trace, h.Server.Span)
		if !ok {
			continue // lost: completeness reports it
		}
		s := c.idx.span(j)
		if s.Trace != exp.Trace || s.Parent != exp.Span {
			mismatches++
			c.broke(edgeName(h.From, h.To),
				"server span's parent is not the caller's client span",
				c.faults.hopBreakIn(h.From, h.To, c.hopTime(int32(i))), c.hopTime(int32(i)),
				func() string {
					return fmt.Sprintf("request %d hop %x: trace %s server span %s has parent %s, expected caller's client span %s",
						h.Request, h.ID, s.Trace, s.ID, s.Parent, exp.Span)
				})
			c.flag(h)
			continue
		}
		if t, ok := c.idx.trace(exp.Trace); ok {
			if _, ok := c.idx.find(t, exp.Span); ok {
				ev.clean++
			}
		}
	}
	c.stats["server_parent_mismatches"] = float64(mismatches)
}

// evidenceFor returns e's evidence, creating it.
func (c *propCheck) evidenceFor(e edge) *edgeEvidence {
	ev := c.evidence[e]
	if ev == nil {
		ev = &edgeEvidence{}
		c.evidence[e] = ev
	}
	return ev
}

// cleanHop reports whether hop i continued cleanly into the backend: its
// expectation a sampled client span, the callee's sampled server span in
// the backend with that client span as parent, and the client span there
// too. These are the hops that make the backend show their edge.
func (c *propCheck) cleanHop(i int32) bool {
	h := &c.led.hops[i]
	_, ok := c.led.effectiveFrom(i)
	exp, _ := c.led.expected(i)
	if !ok || !exp.Sampled || !h.ServerSpan || !h.Server.Sampled || h.From == "" || c.led.state[i] != hopContinued {
		return false
	}
	j, ok := c.idx.lookup(h.Server.Trace, h.Server.Span)
	if !ok {
		return false
	}
	if s := c.idx.span(j); s.Trace != exp.Trace || s.Parent != exp.Span {
		return false
	}
	t, ok := c.idx.trace(exp.Trace)
	if !ok {
		return false
	}
	_, ok = c.idx.find(t, exp.Span)
	return ok
}

// plant reads exp.Broken and exp.DuringFault.
func (c *propCheck) plant(exp topology.PropagationExpect) {
	for _, b := range exp.Broken {
		e := parseEdge(b)
		name := edgeName(e.from, e.to)
		if c.planted == nil {
			c.planted = make(map[string]*plantedEdge)
		}
		if c.planted[name] != nil {
			continue
		}
		p := &plantedEdge{name: name, e: e}
		c.planted[name] = p
		c.order = append(c.order, p)
	}
	if exp.DuringFault > 0 {
		c.during = c.faults.numbered(exp.DuringFault)
	}
}

// parseEdge reads "cart -> inventory" (or "cart → inventory").
func parseEdge(s string) edge {
	from, to, ok := strings.Cut(s, "->")
	if !ok {
		from, to, _ = strings.Cut(s, "→")
	}
	return edge{strings.TrimSpace(from), strings.TrimSpace(to)}
}

// broke counts one break on subject at time t (unix ns), attributed to a,
// and tallies it for a planted edge.
func (c *propCheck) broke(subject, msg string, a attribution, t when, example func() string) *Finding {
	f := c.breaks.add(subject, msg, a, example)
	if p := c.planted[subject]; p != nil {
		p.breaks++
		switch {
		case c.duringWindow(t):
			p.inside++
		case len(p.outsideEx) < maxExamples && example != nil:
			p.outside++
			p.outsideEx = append(p.outsideEx, example())
		default:
			p.outside++
		}
	}
	return f
}

// when is the time a finding is about: a hop's time in flight, exact from
// the ledger, or a time read off the backend's spans or an external
// service's request, which a request in flight or a clock may put just
// past a window.
type when struct {
	lo, hi int64
	exact  bool
}

// hopTime is the time hop i was in flight (hopLedger.inFlight).
func (c *propCheck) hopTime(i int32) when {
	lo, hi := c.led.inFlight(i)
	return when{lo, hi, true}
}

// at is a time read off a span or an external request.
func at(t int64) when { return when{t, t, false} }

// duringWindow reports whether t falls in a window of exp.DuringFault: a
// hop that was in flight in one, or another time within one or postGrace
// after it.
func (c *propCheck) duringWindow(t when) bool {
	for i := range c.during {
		w := &c.during[i]
		if t.exact && t.lo <= w.End && t.hi >= w.Start {
			return true
		}
		if !t.exact && t.lo >= w.Start && t.lo <= w.End+postGrace {
			return true
		}
	}
	return false
}

// verdict assembles the Verdict.
func (c *propCheck) verdict(exp topology.PropagationExpect) Verdict {
	v := Verdict{
		Check:    string(topology.ExpectPropagation),
		Status:   StatusPass,
		Expected: "every hop continues its caller's trace; every trace one tree",
		Stats:    c.stats,
	}
	if c.idx != nil {
		v.Measured = fmt.Sprintf("trace context continuity over %d hops and %d traces",
			int(c.stats["hops_checked"]), c.idx.numTraces())
	} else {
		v.Measured = fmt.Sprintf("trace context continuity over %d hops (ledger only: %s)",
			int(c.stats["hops_checked"]), noReadBack(c.in))
	}
	if !exp.Connected {
		v.Expected += " (not required: connected is false)"
	}
	n := c.breaks.total()
	c.stats["breaks"] = float64(n)
	v.Observed = observedBreaks(n, c.breaks)
	failing := 0
	if len(c.order) > 0 {
		var planted, failingPlanted int
		v.Expected += "; " + c.expectedPlanted(exp)
		v.Observed += "; " + c.observedPlanted(exp, &planted, &failingPlanted)
		failing += failingPlanted
		if exp.Connected && n > planted {
			failing += n - planted
			v.Observed += fmt.Sprintf("; %d %s elsewhere", n-planted, plural(n-planted, "break", "breaks"))
		}
	} else if exp.Connected {
		failing = n
	}
	for k, f := range c.breaks.byKey {
		// Breaks the scenario plants (inside the named fault's windows,
		// when it names one) and breaks under connected: false fail
		// nothing.
		if p := c.planted[k.subject]; !exp.Connected ||
			(p != nil && (exp.DuringFault == 0 || f.FaultNumber == exp.DuringFault)) {
			f.Status = FindingInfo
		}
	}
	v.Findings = merge(c.plantedF, c.breaks, c.info)
	c.stats["unexplained"] = countUnexplained(v.Findings)
	v.Observed += attributionSummary(c.faults, v.Findings)
	if k := c.info.total(); k > 0 {
		v.Observed += fmt.Sprintf("; %d %s explained by other checks", k, plural(k, "finding", "findings"))
	}
	if failing > 0 {
		v.Status = StatusFail
	}
	return v
}

// duringName is "fault #2's windows (30s–45s)".
func (c *propCheck) duringName(n int) string {
	return fmt.Sprintf("fault #%d's %s (%s)", n, plural(len(c.during), "window", "windows"), c.faults.windowList(c.during))
}

// expectedPlanted words what exp.Broken requires.
func (c *propCheck) expectedPlanted(exp topology.PropagationExpect) string {
	names := make([]string, len(c.order))
	for i, p := range c.order {
		names[i] = p.name
	}
	s := "planted breaks required on " + strings.Join(names, ", ")
	if exp.DuringFault > 0 {
		s += " within " + c.duringName(exp.DuringFault) + " (a hop is within when the ledger shows it in flight in one;" +
			" a backend finding when its span starts in one or " + seconds(postGrace) + " after), and none outside them on those edges"
	} else {
		s += " (allowed there)"
	}
	if exp.Connected {
		s += "; no break on any other edge"
	}
	return s
}

// observedPlanted words what happened on the planted edges, adds the failing
// findings, and returns the planted breaks and how many of them fail
// (outside the fault's windows) plus one per planted edge without a break.
func (c *propCheck) observedPlanted(exp topology.PropagationExpect, planted, failing *int) string {
	var parts []string
	missing, outside := 0, 0
	for _, p := range c.order {
		*planted += p.breaks
		required := p.breaks
		if exp.DuringFault > 0 {
			required = p.inside
		}
		if required == 0 {
			missing++
			msg := "planted break on " + p.name + " was not observed"
			if exp.DuringFault > 0 {
				msg += " within " + c.duringName(exp.DuringFault)
			}
			f := c.plantedF.add(p.name, msg, attrNone, nil)
			f.Count, f.Of = 0, c.perEdge[p.e]
			parts = append(parts, msg)
		}
		if exp.DuringFault == 0 {
			if p.breaks > 0 {
				parts = append(parts, fmt.Sprintf("%s broke %d %s (planted)", p.name, p.breaks, plural(p.breaks, "time", "times")))
			}
			continue
		}
		if p.breaks > 0 {
			parts = append(parts, fmt.Sprintf("%s broke %d %s: %d within fault #%d's windows, %d outside",
				p.name, p.breaks, plural(p.breaks, "time", "times"), p.inside, exp.DuringFault, p.outside))
		}
		if p.outside > 0 {
			outside += p.outside
			f := c.plantedF.add(p.name, fmt.Sprintf("break on %s outside fault #%d's windows", p.name, exp.DuringFault), attrNone, nil)
			f.Count, f.Of, f.Examples = p.outside, p.breaks, p.outsideEx
		}
	}
	*failing += missing + outside
	c.stats["planted_breaks"] = float64(*planted)
	c.stats["planted_edges_missing"] = float64(missing)
	c.stats["planted_breaks_outside"] = float64(outside)
	return strings.Join(parts, "; ")
}

// observedBreaks summarises the failing findings: "2 breaks on 1 edge
// (legacy-proxy -> inventory)".
func observedBreaks(n int, fs *findings) string {
	if n == 0 {
		return "no breaks"
	}
	list := fs.list()
	var names []string
	seen := make(map[string]bool)
	for _, f := range list {
		if !seen[f.Subject] {
			seen[f.Subject] = true
			names = append(names, f.Subject)
		}
	}
	where := strings.Join(names, ", ")
	if len(names) > 3 {
		where = strings.Join(names[:3], ", ") + ", …"
	}
	one, many := "edge", "edges"
	for _, s := range names {
		if !strings.Contains(s, " -> ") {
			one, many = "edge or service", "edges or services"
		}
	}
	return fmt.Sprintf("%d %s on %d %s (%s)", n, plural(n, "break", "breaks"),
		len(names), plural(len(names), one, many), where)
}

// plural picks the singular or plural form for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// noReadBack says why the backend was not read.
func noReadBack(in Input) string {
	if in.NoReadBack != "" {
		return in.NoReadBack
	}
	return "no backend read-back"
}
