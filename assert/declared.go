package assert

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/tracerig/tracerig/internal/record"
)

// Declared edges of the user's services. tracerig keeps no ledger inside a
// service of the user's, so the edges the topology declares into and out of
// one (a call into it from a simulated route or from the load, each of its
// own calls, to simulated and external services alike) are confirmed from
// the spans in the backend: in one of the run's traces, a span of the
// callee whose parent is a span of the caller (for the load, whose parent
// is the context the load sent). A trace in which the caller took part
// without the edge showing counts against the edge.

// loadCaller names the load generator as the caller of an edge.
const loadCaller = "load"

// loadStart is the context the load sent an external entry.
type loadStart struct {
	span  record.SpanID
	entry string
	at    int64
}

// loadStarts returns, by trace, the contexts the load sent external
// entries: the traces the run started there.
func loadStarts(hops []record.Hop) map[record.TraceID]loadStart {
	var out map[record.TraceID]loadStart
	for i := range hops {
		h := &hops[i]
		if h.From != "" || !h.External || !h.Sent.IsValid() {
			continue
		}
		if out == nil {
			out = make(map[record.TraceID]loadStart)
		}
		out[h.Sent.Trace] = loadStart{span: h.Sent.Span, entry: h.To, at: h.SentAt}
	}
	return out
}

// traceShape is what one backend trace shows: the services with a span in
// it (and the earliest start of each), the cross-service edges, its roots
// (spans without a parent, or whose parent is the load's context) and its
// orphans (a parent that is not in the trace).
type traceShape struct {
	first          map[string]int64
	edges          map[edge]bool
	roots, orphans int
	// entryRoots counts the spans of the load's entry whose parent is the
	// context the load sent.
	entryRoots int
}

// shapeOf reads trace t of x; ls is the load's context for it, if any.
func shapeOf(x *spanIndex, t int32, ls loadStart, fromLoad bool) traceShape {
	sh := traceShape{first: make(map[string]int64), edges: make(map[edge]bool)}
	lo, hi := x.segment(t)
	for e := lo; e < hi; e++ {
		s := x.span(e)
		if f, ok := sh.first[s.Service]; !ok || s.Start < f {
			sh.first[s.Service] = s.Start
		}
		switch p, ok := x.find(t, s.Parent); {
		case !s.Parent.IsValid():
			sh.roots++
		case fromLoad && s.Parent == ls.span:
			sh.roots++
			sh.edges[edge{loadCaller, s.Service}] = true
			if s.Service == ls.entry {
				sh.entryRoots++
			}
		case !ok:
			sh.orphans++
		case x.span(p).Service != s.Service:
			sh.edges[edge{x.span(p).Service, s.Service}] = true
		}
	}
	return sh
}

// declKey sorts a declared edge's traces by what a finding about them
// says: confirmed or missing, and for a missing one its fault period and
// whether it fell in a DuringFault window.
type declKey struct {
	e         edge
	confirmed bool
	period    int
	inside    bool
}

// declTally counts, per declared edge of the user's services, the run's
// traces in which the edge showed and those in which its caller took part
// without it.
type declTally struct {
	edges  map[edge]bool // declared: from the topology, and load -> external entry
	counts map[declKey]*extBucket
	seen   map[edge]int // traces in which the caller took part
}

func newDeclTally() declTally {
	return declTally{edges: make(map[edge]bool), counts: make(map[declKey]*extBucket), seen: make(map[edge]int)}
}

// declare adds the edges of pred that touch a service of the user's.
func (d *declTally) declare(pred map[edge]bool, user func(string) bool) {
	for e := range pred {
		if user(e.from) || user(e.to) {
			d.edges[e] = true
		}
	}
}

// count counts one trace for e at time t.
func (d *declTally) count(k declKey, t int64, example func() string) {
	if k.confirmed {
		example = nil // a confirmed edge is a count, without examples
	}
	countIn(d.counts, k, t, example)
}

// confirmed returns how many traces confirmed e.
func (d *declTally) confirmed(e edge) int {
	n := 0
	for k, b := range d.counts {
		if k.e == e && k.confirmed {
			n += b.n
		}
	}
	return n
}

// sorted returns the declared edges in name order.
func (d *declTally) sorted() []edge {
	out := make([]edge, 0, len(d.edges))
	for e := range d.edges {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b edge) int { return cmp.Or(cmp.Compare(a.from, b.from), cmp.Compare(a.to, b.to)) })
	return out
}

// declaredEdges counts, in every trace of the group, the declared edges of
// the user's services: confirmed where the trace shows them, missing where
// their caller took part without them (a simulated caller when the ledger
// has its call in the trace, the load when it started the trace).
func (g *propGroup) declaredEdges() {
	x := g.idx
	calls := simulatedCalls(g.in.Hops)
	g.decl.declare(g.model.union, g.externalPart)
	for ls := range g.loads {
		g.decl.edges[edge{loadCaller, g.loads[ls].entry}] = true
	}
	for t := int32(0); int(t) < x.numTraces(); t++ {
		id := x.traceID(t)
		ls, fromLoad := g.loads[id]
		sh := shapeOf(x, t, ls, fromLoad)
		for e := range g.decl.edges {
			at, took := sh.first[e.from]
			switch {
			case e.from == loadCaller:
				at, took = ls.at, fromLoad && ls.entry == e.to
			case !g.externalPart(e.from):
				at, took = sh.first[e.from], calls[id][e]
			}
			if !took {
				continue
			}
			g.decl.seen[e]++
			k := declKey{e: e, confirmed: sh.edges[e] || g.forwarded(sh, e), period: g.periods.of(at)}
			if !k.confirmed && len(g.found.during) > 0 {
				k.inside = g.found.duringWindow(when{lo: at, hi: at})
			}
			g.decl.count(k, at, func() string {
				return fmt.Sprintf("trace %s: %s took part, no %s span is a child of a %s span", id, e.from, e.to, e.from)
			})
		}
	}
}

// forwarded reports whether the trace shows edge e into a service of the
// user's as that service forwarding the context without a span of its
// own: a span of a callee it declares is a child of e's caller's span.
func (g *propGroup) forwarded(sh traceShape, e edge) bool {
	for through, via := range g.model.static.through {
		if via == e.to && through.from == e.from && sh.edges[through] {
			return true
		}
	}
	return false
}

// simulatedCalls returns, by trace, the calls simulated services made into
// external services, from the ledger.
func simulatedCalls(hops []record.Hop) map[record.TraceID]map[edge]bool {
	out := make(map[record.TraceID]map[edge]bool)
	for i := range hops {
		h := &hops[i]
		if h.From == "" || !h.External || !h.Sent.IsValid() {
			continue
		}
		m := out[h.Sent.Trace]
		if m == nil {
			m = make(map[edge]bool)
			out[h.Sent.Trace] = m
		}
		m[edge{h.From, h.To}] = true
	}
	return out
}
