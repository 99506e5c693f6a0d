package assert

// This file holds the detect rules of the faults that change trace
// context: header faults, propagator switches, uninstrumented windows and
// clock skew.

import (
	"fmt"
	"strings"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// edgeBreaks is strip-headers and corrupt-traceparent: ledger-level breaks
// on the edge.
func (d *detectGroup) edgeBreaks() {
	l := d.ledger()
	subject := targetName(d.tgt)
	for i := range l.hops {
		h := &l.hops[i]
		if !d.onEdge(h) || !l.checked(int32(i)) {
			continue
		}
		z, w := d.hopZone(int32(i))
		if l.state[i] != hopBroken {
			d.c.t.add(z, z, false)
			continue
		}
		q := query{effect: effectHopBreak, from: h.From, to: h.To}
		d.c.t.add(d.effect(z, w, h.SentAt, &q, subject, "trace broke", d.breakEx(l, int32(i))), z, true)
	}
}

// breakEx is evidence for broken hop i.
func (d *detectTally) breakEx(l *hopLedger, i int32) func() string {
	return func() string {
		exp, _ := l.expected(i)
		return d.rel(l.hops[i].SentAt) + ": " + hopExample(&l.hops[i], exp)
	}
}

// headerObservation is duplicate-header, tracestate-overflow and
// baggage-overflow: the callee may break the trace or tolerate the header;
// both are observations.
func (d *detectGroup) headerObservation() {
	l := d.ledger()
	header := d.observedHeader()
	c := &d.c
	subject := targetName(d.tgt)
	for i := range l.hops {
		h := &l.hops[i]
		if !d.onEdge(h) || !h.Received {
			continue
		}
		z, w := d.hopZone(int32(i))
		switch z {
		case zoneIn:
			c.crossed++
			if header != 0 && h.SentHeaders.Has(header) && !h.GotHeaders.Has(header) {
				c.dropped++
			}
			switch {
			case l.state[i] == hopBroken:
				c.broke++
				d.found.add(subject, "callee broke the trace within "+windowsMark, w.attr, d.breakEx(l, int32(i))).Status = FindingInfo
			case l.state[i] == hopContinued:
				c.tolerated++
				if d.idx != nil && h.ServerSpan {
					if _, ok := d.idx.lookup(h.Server.Trace, h.Server.Span); ok {
						c.inBackend++
					}
				}
			}
		case zoneOut:
			if l.state[i] == hopBroken {
				c.brokeOut++
				q := query{effect: effectHopBreak, from: h.From, to: h.To}
				d.found.add(subject, "callee broke the trace outside fault #"+itoa(d.n)+"'s windows",
					d.faults.explainExcept(q, h.SentAt, d.n), d.breakEx(l, int32(i)))
			}
		}
	}
}

// observedHeader is the header the kind overflows, 0 for none.
func (d *detectTally) observedHeader() record.Header {
	switch d.plan.Kind {
	case topology.FaultTracestateOverflow:
		return record.HeaderTracestate
	case topology.FaultBaggageOverflow:
		return record.HeaderBaggage
	}
	return 0
}

// headerObservation says what the callee did with the header. It fails
// only when no hop crossed the edge inside.
func (j *detectJudge) headerObservation() (bool, string) {
	c := &j.c
	header := j.observedHeader()
	subject := targetName(j.tgt)
	j.stats["population_inside"] = float64(c.crossed)
	j.stats["inside_broke"], j.stats["inside_tolerated"] = float64(c.broke), float64(c.tolerated)
	j.stats["outside_broke"] = float64(c.brokeOut)
	if c.crossed == 0 {
		return false, "no hop crossed " + subject + " during the fault: the effect could not show"
	}
	var how []string
	if c.broke > 0 {
		how = append(how, fmt.Sprintf("broke the trace on %d of %d hops", c.broke, c.crossed))
	}
	if c.tolerated > 0 {
		s := fmt.Sprintf("tolerated by the callee on %d of %d hops (trace continued", c.tolerated, c.crossed)
		if j.readBack {
			s += fmt.Sprintf("; %d of their server spans in the backend", c.inBackend)
		}
		how = append(how, s+")")
	}
	if header != 0 {
		how = append(how, fmt.Sprintf("%d %s arrived without the %s header", c.dropped, plural(c.dropped, "hop", "hops"), header))
	}
	s := fmt.Sprintf("%d %s crossed %s inside: %s", c.crossed, plural(c.crossed, "hop", "hops"), subject, strings.Join(how, "; "))
	if c.brokeOut > 0 {
		s += fmt.Sprintf("; %d breaks outside (reported, not judged)", c.brokeOut)
	}
	return true, s
}

// touches reports whether h enters or leaves the target service (instance).
func (d *detectTally) touches(h *record.Hop) bool { return d.hopToTarget(h) || d.isTargetCaller(h) }

// countServiceBreaks counts ledger-level breaks on edges into or out of
// the target service into t.
func (d *detectGroup) countServiceBreaks(t *tally) {
	l := d.ledger()
	for i := range l.hops {
		h := &l.hops[i]
		if !d.touches(h) || !l.checked(int32(i)) {
			continue
		}
		z, w := d.hopZone(int32(i))
		if l.state[i] != hopBroken {
			t.add(z, z, false)
			continue
		}
		q := query{effect: effectHopBreak, from: h.From, to: h.To}
		t.add(d.effect(z, w, h.SentAt, &q, edgeName(h.From, h.To), "trace broke", d.breakEx(l, int32(i))), z, true)
	}
}

// uninstrument: hops into the service inside started no server span and
// none of theirs is in the backend; outside every received hop started
// one; breaks on its edges inside (required when it drops headers) and
// none outside.
func (d *detectGroup) uninstrument() {
	subject := targetName(d.tgt)
	traced := d.uninstrumentedHops(subject)
	if d.idx != nil {
		d.serverSpansInside(traced, subject)
	}
	d.countServiceBreaks(&d.c.breaks)
}

// uninstrument judges the uninstrumented hops, the server spans and the
// breaks.
func (j *detectJudge) uninstrument() (bool, string) {
	j.ledgerOnly("server spans in the backend")
	subject := targetName(j.tgt)
	t, b, callsIn, spansIn := j.c.t, j.c.breaks, j.c.callsIn, j.c.spansIn
	j.stat(t)
	j.stats["breaks_inside"], j.stats["breaks_outside"] = float64(b.in), float64(b.out)
	j.stats["backend_server_spans_inside"] = float64(spansIn)
	s := fmt.Sprintf("%d of %d hops into %s started no server span inside, %d of %d outside; %d server spans of it in the backend inside; breaks on its edges: %d inside, %d outside",
		t.in, t.popIn, subject, t.out, t.popOut, spansIn, b.in, b.out)
	// Without forwarded headers the target's own calls lose the trace; a
	// target that made no call inside has nothing to break.
	needBreaks := !j.plan.Forward && callsIn > 0
	if needBreaks {
		s += fmt.Sprintf(" (headers not forwarded on %d calls out of it inside: breaks inside required)", callsIn)
	}
	if why := uninstrumentWhy(t, b, spansIn, needBreaks); len(why) > 0 {
		return false, s + ": " + strings.Join(why, "; ")
	}
	return true, s + ": visible during the fault only"
}

// uninstrumentedHops tallies the received hops into the target that
// started no server span, counts the target's calls out inside, and
// returns the server spans the ledger says hops into the target started:
// a hop in flight as a window opened may have been judged before the fault
// took hold, and its span, starting just after, is the ledger's to place,
// not the backend's.
func (d *detectGroup) uninstrumentedHops(subject string) (traced map[spanRef]bool) {
	l := d.ledger()
	traced = make(map[spanRef]bool)
	for i := range l.hops {
		h := &l.hops[i]
		if d.isTargetCaller(h) && l.checked(int32(i)) {
			if z, _ := d.hopZone(int32(i)); z == zoneIn {
				d.c.callsIn++
			}
		}
		if !d.hopToTarget(h) || !h.Received {
			continue
		}
		z, w := d.hopZone(int32(i))
		if h.ServerSpan {
			traced[spanRef{h.Server.Trace, h.Server.Span}] = true
			d.c.t.add(z, z, false)
			continue
		}
		d.c.t.add(d.effect(z, w, h.SentAt, nil, subject, "hop started no server span", d.hopEx(h, "")), z, true)
	}
	return traced
}

// serverSpansInside counts the target's server spans in the backend that
// started inside a window and that no hop of the ledger started, noting
// each. An uninstrumented callee has no span ID in the ledger to look up:
// any such span is one too many.
func (d *detectGroup) serverSpansInside(traced map[spanRef]bool, subject string) {
	x := d.idx
	for e := range x.ents {
		s := x.span(int32(e))
		if s.Kind != record.KindServer || s.Service != d.tgt.Service || !d.instanceOK(s.Instance) ||
			traced[spanRef{s.Trace, s.ID}] {
			continue
		}
		if z, w := d.zoneOf(s.Start, 0); z == zoneIn {
			d.c.spansIn++
			d.found.add(subject, "server span in the backend within "+windowsMark, w.attr, d.spanEx(s)).Status = FindingInfo
		}
	}
}

// uninstrumentWhy says why an uninstrument fault was not visible as
// planted, from the uninstrumented hops t, the breaks b on the target's
// edges and its server spans in the backend inside; nothing when it was.
func uninstrumentWhy(t, b tally, spansIn int, needBreaks bool) []string {
	var why []string
	if t.in == 0 {
		why = append(why, "no hop inside went uninstrumented")
	}
	if spansIn > 0 {
		why = append(why, "server spans still reached the backend")
	}
	if t.out > 0 {
		why = append(why, "hops outside went uninstrumented too")
	}
	if b.out > 0 {
		why = append(why, "breaks outside the fault's windows")
	}
	if needBreaks && b.in == 0 {
		why = append(why, "no break although headers are not forwarded")
	}
	return why
}

// skewTolerance is how far a child may leave its parent's time before it
// counts as skewed. The ends of a client span and its server span are
// written by two goroutines, and a busy machine can delay the server's by
// milliseconds: half the planted offset (at most 25ms, at least 1ms) still
// tells a skew apart; a skew by drift alone gets 1ms.
func skewTolerance(f topology.SkewFault) time.Duration {
	off := f.Offset
	if off < 0 {
		off = -off
	}
	return min(max(off/2, time.Millisecond), 25*time.Millisecond)
}

// clockSkew: backend parent/child pairs across an edge touching the service
// whose child starts before its parent or ends after it by more than skewTolerance,
// placed in time by the span that is not the skewed service's.
func (d *detectGroup) clockSkew() {
	tol := int64(skewTolerance(d.plan.Skew))
	x := d.idx
	t := &d.c.t
	svc := d.tgt.Service
	// The ledger holds the skewed service's spans at their true times: a
	// span was skewed when its true start fell in a window, which places
	// its pairs exactly.
	trueStart := make(map[spanRef]int64)
	for i := range d.in.Ended {
		if e := &d.in.Ended[i]; e.Service == svc {
			trueStart[spanRef{e.Trace, e.ID}] = e.Start
		}
	}
	for tr := int32(0); int(tr) < x.numTraces(); tr++ {
		lo, hi := x.segment(tr)
		for e := lo; e < hi; e++ {
			c := x.span(e)
			if !c.Parent.IsValid() {
				continue
			}
			pe, ok := x.find(tr, c.Parent)
			if !ok {
				continue
			}
			p := x.span(pe)
			if p.Service == c.Service || (p.Service != svc && c.Service != svc) {
				continue
			}
			at, skewed := p.Start, c // the unskewed side's clock
			if p.Service == svc {
				if !d.instanceOK(p.Instance) {
					continue
				}
				at, skewed = c.Start, p
			} else if !d.instanceOK(c.Instance) {
				continue
			}
			z, _ := d.zoneOf(at, 0)
			shifted := true
			if real, ok := trueStart[spanRef{skewed.Trace, skewed.ID}]; ok {
				at = real
				z, _ = d.zoneExact(real)
				// A child's end may trail its parent's on a busy machine
				// (a gRPC server span ends after its answer is written):
				// only a span whose time the exporter shifted is skewed.
				shifted = skewed.Start != real
			}
			if !shifted || (c.Start >= p.Start-tol && c.End <= p.End+tol) {
				t.add(z, z, false)
				continue
			}
			q := query{effect: effectTree, svc: svc}
			ex := func() string {
				return fmt.Sprintf("trace %s: %s span %s [%s, %s] under %s span %s [%s, %s]", c.Trace, c.Service, c.ID,
					d.rel(c.Start), d.rel(c.End), p.Service, p.ID, d.rel(p.Start), d.rel(p.End))
			}
			zw, w := z, (*faultWin)(nil)
			if zw == zoneIn || zw == zoneOther {
				_, w = d.zoneExact(at)
				if w == nil {
					zw, w = d.zoneOf(at, 0)
				}
			}
			t.add(d.effect(zw, w, at, &q, edgeName(p.Service, c.Service), "child outside its parent's time", ex), z, true)
		}
	}
}
