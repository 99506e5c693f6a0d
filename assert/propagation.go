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
	var idx *spanIndex
	if in.ReadBack {
		idx = newSpanIndex(in.Backend)
	}
	return propagation(in, exp, idx)
}

// spanRef names one span across traces.
type spanRef struct {
	trace record.TraceID
	id    record.SpanID
}

// propCheck is one run of the propagation check.
type propCheck struct {
	in   Input
	svcs map[string]*topology.Service
	led  *hopLedger
	idx  *spanIndex // nil without read-back

	breaks *findings // failing: hops and trees that broke the trace
	info   *findings // not failing: explained by another check
	// flagged are server spans already blamed on a broken hop, so the tree
	// checks do not report the same break again.
	flagged  map[spanRef]bool
	evidence map[edge]*edgeEvidence
	stats    map[string]float64
}

// edgeEvidence is what the ledger says about one effective edge: hops whose
// expected context was a sampled client span and whose server span was
// sampled, and how many of those continued cleanly with both spans in the
// backend (so the backend must show the edge).
type edgeEvidence struct{ hops, clean int }

func propagation(in Input, exp topology.PropagationExpect, idx *spanIndex) Verdict {
	c := &propCheck{
		in:       in,
		svcs:     services(in.Topology),
		led:      newHopLedger(in.Hops),
		idx:      idx,
		breaks:   newFindings(),
		info:     newFindings(),
		flagged:  make(map[spanRef]bool),
		evidence: make(map[edge]*edgeEvidence),
		stats:    make(map[string]float64),
	}
	c.ledgerBreaks()
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
	perEdge := make(map[edge]int)
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
		msg := explainBreak(h, exp, c.svcs[h.From], c.svcs[h.To])
		name := edgeName(h.From, h.To)
		subjects[name] = e
		c.breaks.add(name, msg, func() string { return hopExample(h, exp) })
		c.flag(h)
	}
	for _, f := range c.breaks.byKey {
		f.Of = perEdge[subjects[f.Subject]]
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
			c.breaks.add(edgeName(h.From, h.To),
				"server span's parent is not the caller's client span",
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

// verdict assembles the Verdict.
func (c *propCheck) verdict(exp topology.PropagationExpect) Verdict {
	v := Verdict{
		Check:    string(topology.ExpectPropagation),
		Status:   StatusPass,
		Expected: "every hop continues its caller's trace; every trace one tree",
		Stats:    c.stats,
		Findings: merge(c.breaks, c.info),
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
	if k := c.info.total(); k > 0 {
		v.Observed += fmt.Sprintf("; %d %s explained by other checks", k, plural(k, "finding", "findings"))
	}
	if exp.Connected && n > 0 {
		v.Status = StatusFail
	}
	return v
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
