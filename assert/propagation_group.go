package assert

import (
	"fmt"

	"github.com/tracerig/tracerig/internal/record"
)

// propGroup judges one group for a propTally. What it holds (the group's
// hop ledger, its index, the server spans already blamed) lives only while
// add runs; what it finds goes into the tally's counters and findings.
type propGroup struct {
	*propTally
	in  *Input
	led *hopLedger
	idx *spanIndex // nil without read-back

	// flagged are server spans already blamed on a broken hop, so the tree
	// checks do not report the same break again.
	flagged map[spanRef]bool
	// serverHop finds a server span's hop in the ledger; built when a
	// pair first needs it.
	serverHop map[spanRef]int32
	// loads are the contexts the load sent external entries, by trace.
	loads map[record.TraceID]loadStart
}

// ledgerBreaks attributes each ledger-level break to the physical edge where
// it happened, explained by the headers each end saw.
func (g *propGroup) ledgerBreaks() {
	g.n.hops += len(g.led.hops)
	for i := range g.led.hops {
		h := &g.led.hops[i]
		if h.From != "" && g.led.state[i] == hopUpstream {
			g.n.upstream++
		}
		if !g.led.checked(int32(i)) {
			continue
		}
		g.n.checked++
		e := edge{h.From, h.To}
		g.perEdge[e]++
		if g.led.state[i] != hopBroken {
			continue
		}
		exp, _ := g.led.expected(int32(i))
		msg := explainBreak(h, exp, g.model.service(h.From, h.FromInstance, h.SentAt), g.model.service(h.To, h.ToInstance, h.SentAt))
		name := edgeName(h.From, h.To)
		g.n.hopBreaks++
		g.broken[name] = true
		t := g.hopTime(int32(i))
		g.found.broke(name, msg, g.faults.hopBreakIn(h.From, h.To, t), t, ofRef{kind: ofEdgeHops, e: e},
			func() string { return hopExample(h, exp) })
		g.flag(h)
	}
}

// flag remembers hop h's server span as already explained.
func (g *propGroup) flag(h *record.Hop) {
	if h.ServerSpan {
		g.flagged[spanRef{h.Server.Trace, h.Server.Span}] = true
	}
}

// hopTime is the time hop i was in flight (hopLedger.inFlight).
func (g *propGroup) hopTime(i int32) when {
	lo, hi := g.led.inFlight(i)
	return when{lo, hi, true}
}

// serverParents checks, for each continued hop whose expectation is a
// sampled client span, that the callee's server span in the backend has that
// client span as parent, and gathers each effective edge's evidence: the
// hops that continued cleanly, both spans in the backend, are counted for
// the predicted edges too (see unseen).
func (g *propGroup) serverParents() {
	for i := range g.led.hops {
		h := &g.led.hops[i]
		if m := h.Message; m != nil && !m.Parent {
			g.consumerLink(int32(i), h)
			continue
		}
		from, ok := g.led.effectiveFrom(int32(i))
		exp, _ := g.led.expected(int32(i))
		if !ok || !exp.Sampled || !h.ServerSpan || !h.Server.Sampled || h.From == "" {
			continue
		}
		e := edge{from, h.To}
		ev := g.evidenceFor(e)
		ev.hops++
		if g.led.state[i] != hopContinued {
			continue
		}
		j, ok := g.idx.lookup(h.Server.Trace, h.Server.Span)
		if !ok {
			continue // lost: completeness reports it
		}
		s := g.idx.span(j)
		if s.Trace != exp.Trace || s.Parent != exp.Span {
			g.n.mismatches++
			t := g.hopTime(int32(i))
			g.found.broke(edgeName(h.From, h.To),
				"server span's parent is not the caller's client span",
				g.faults.hopBreakIn(h.From, h.To, t), t, ofRef{},
				func() string {
					return fmt.Sprintf("request %d hop %x: trace %s server span %s has parent %s, expected caller's client span %s",
						h.Request, h.ID, s.Trace, s.ID, s.Parent, exp.Span)
				})
			g.flag(h)
			continue
		}
		if t, ok := g.idx.trace(exp.Trace); ok {
			if _, ok := g.idx.find(t, exp.Span); ok {
				ev.clean++
				g.cleanHop(e, int32(i))
			}
		}
	}
}

// cleanHop counts hop i, which continued cleanly into the backend over
// effective edge e, for the predicted edges: should no group's backend show
// e, verdict reports one break per such hop, attributed by when the hop was
// sent. Whether e is predicted at some time of the run is known only once
// every window is, so verdict picks the predicted edges.
func (g *propGroup) cleanHop(e edge, i int32) {
	if g.top == nil {
		return
	}
	sent := g.led.hops[i].SentAt
	k := unseenKey{e: e, period: g.periods.of(sent)}
	if len(g.found.during) > 0 {
		k.inside = g.found.duringWindow(g.hopTime(i))
	}
	u := g.unseen[k]
	if u.n == 0 {
		u.at = sent
	}
	u.n++
	g.unseen[k] = u
}

// consumerLink checks, for a message whose consumer links rather than
// continues (mode link), that the consumer span in the backend links to the
// producer's context the message carried: the consumer starts a trace of
// its own, so the link is the only thread back to the producer's.
func (g *propGroup) consumerLink(i int32, h *record.Hop) {
	exp, ok := g.led.expected(i)
	if !ok || g.led.state[i] != hopContinued || !h.ServerSpan || !h.Server.Sampled {
		return
	}
	j, ok := g.idx.lookup(h.Server.Trace, h.Server.Span)
	if !ok {
		return // lost: completeness reports it
	}
	s := g.idx.span(j)
	if hasLink(s, exp) {
		return
	}
	g.n.mismatches++
	t := g.hopTime(i)
	g.found.broke(edgeName(h.From, h.To), "consumer span does not link to the message's producer span",
		g.faults.hopBreakIn(h.From, h.To, t), t, ofRef{},
		func() string {
			return fmt.Sprintf("request %d %s: consumer span %s (trace %s) has %d links, none to the producer span %s (trace %s)",
				h.Request, messageString(h.Message), s.ID, s.Trace, len(s.Links), exp.Span, exp.Trace)
		})
	g.flag(h)
}
