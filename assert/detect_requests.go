package assert

// This file holds the detect rules of the faults that change requests:
// latency, errors, timeouts and partitions.

import (
	"fmt"
	"strings"
	"time"

	"github.com/tracerig/tracerig/internal/durfmt"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// latencyRule words the latency threshold.
func (d *detectTally) latencyRule() string {
	l := d.plan.Latency
	switch {
	case l.Replace.Dist != "" || (l.Add <= 0 && l.Multiply <= 0):
		return "differs by a factor of at least 1.5"
	case l.Add <= 0 && l.Multiply < 1:
		return fmt.Sprintf("at most ×%.3g (half the planted ×%g speed-up)", 1-(1-l.Multiply)/2, l.Multiply)
	}
	var parts []string
	if l.Multiply > 1 {
		parts = append(parts, fmt.Sprintf("×%.3g (half the planted ×%g)", 1+(l.Multiply-1)/2, l.Multiply))
	}
	if l.Add > 0 {
		parts = append(parts, fmt.Sprintf("+%s (half the planted +%s)", l.Add/2, l.Add))
	}
	return "at least " + strings.Join(parts, " and ") + " longer"
}

// latency compares the route's own time inside and outside: a server
// span's time before its first call (a handler draws its latency and
// sleeps, then makes its calls), or its whole duration when it made none.
// The fault changes that time only, so a service whose span is mostly its
// calls' time still shows a multiplied latency in full.
func (d *detectGroup) latency() {
	x := d.idx
	firstCall := d.firstCalls()
	for e := range x.ents {
		s := x.span(int32(e))
		if !d.targetServer(s) {
			continue
		}
		own := s.End - s.Start
		if c, ok := firstCall[int32(e)]; ok && c >= s.Start {
			own = c - s.Start
		}
		switch z, w := d.zoneOf(s.Start, 0); z {
		case zoneIn:
			d.inside.add(own, w.attr, d.spanEx(s))
		case zoneOut:
			d.outside.add(own, attrNone, d.spanEx(s))
		}
	}
}

// medians returns the medians inside and outside; ok is false with fewer
// than 5 values on a side. It states the populations and adds the largest
// values of each side as evidence, under subject.
func (j *detectJudge) medians(subject, what string) (mIn, mOut int64, ok bool) {
	in, out := &j.inside, &j.outside
	j.stats["population_inside"], j.stats["population_outside"] = float64(in.count()), float64(out.count())
	f := j.own()
	for _, s := range in.top {
		x := f.add(subject, what+" within "+j.windows(), s.attr, func() string { return s.ex })
		x.Of = in.count()
		x.Status = FindingInfo
	}
	for _, s := range out.top {
		x := f.add(subject, "baseline: "+what+" outside fault #"+itoa(j.n)+"'s windows", attrNone, func() string { return s.ex })
		x.Of = out.count()
		x.Status = FindingInfo
	}
	if in.d.folded() || out.d.folded() {
		j.notes = append(j.notes, fmt.Sprintf("medians within %s: over %d values on a side", percent(distError), distCap))
	}
	if in.count() < 5 || out.count() < 5 {
		return 0, 0, false
	}
	mIn, mOut = in.d.quantile(0.5), out.d.quantile(0.5)
	j.stats["median_inside_seconds"] = time.Duration(mIn).Seconds()
	j.stats["median_outside_seconds"] = time.Duration(mOut).Seconds()
	return mIn, mOut, true
}

// latency judges the medians of the route's own time.
func (j *detectJudge) latency() (bool, string) {
	mIn, mOut, ok := j.medians(targetName(j.tgt), "slowest server spans")
	nIn, nOut := j.inside.count(), j.outside.count()
	if !ok {
		return false, fmt.Sprintf("too few spans to decide: %d inside, %d outside (at least 5 each)", nIn, nOut)
	}
	l := j.plan.Latency
	fIn, fOut := float64(mIn), float64(mOut)
	var pass bool
	var want string
	switch {
	case l.Replace.Dist != "" || (l.Add <= 0 && l.Multiply <= 0):
		pass = fIn >= 1.5*fOut || fOut >= 1.5*fIn
		want = "a factor of 1.5 either way"
	case l.Add <= 0 && l.Multiply < 1:
		lim := fOut * (1 - (1-l.Multiply)/2)
		pass, want = fIn <= lim, "at most "+durfmt.Human(time.Duration(lim)).String()
	default:
		lim := fOut
		if l.Multiply > 1 {
			lim *= 1 + (l.Multiply-1)/2
		}
		lim += float64(l.Add) / 2
		pass, want = fIn >= lim, "at least "+durfmt.Human(time.Duration(lim)).String()
	}
	s := fmt.Sprintf("median %s inside (%d spans) versus %s outside (%d spans); needed %s",
		durfmt.Human(time.Duration(mIn)), nIn, durfmt.Human(time.Duration(mOut)), nOut, want)
	if !pass {
		s += ": the latency change is not visible"
	}
	return pass, s
}

// firstCalls maps each target server span's entry to the start of the
// earliest client span under it in its own service: when its route began
// its calls.
func (d *detectGroup) firstCalls() map[int32]int64 {
	x := d.idx
	out := make(map[int32]int64)
	for t := int32(0); int(t) < x.numTraces(); t++ {
		lo, hi := x.segment(t)
		for e := lo; e < hi; e++ {
			c := x.span(e)
			if c.Kind != record.KindClient || c.Service != d.tgt.Service || !c.Parent.IsValid() {
				continue
			}
			p, ok := x.find(t, c.Parent)
			if !ok || !d.targetServer(x.span(p)) {
				continue
			}
			if v, seen := out[p]; !seen || c.Start < v {
				out[p] = c.Start
			}
		}
	}
	return out
}

// errors counts the target's server spans in error inside and outside.
func (d *detectGroup) errors() {
	x := d.idx
	subject := targetName(d.tgt)
	for e := range x.ents {
		s := x.span(int32(e))
		if !d.targetServer(s) {
			continue
		}
		z, w := d.zoneOf(s.Start, 0)
		hit := s.Status == record.StatusError
		d.c.t.add(z, z, hit)
		if !hit {
			continue
		}
		switch z {
		case zoneIn:
			d.found.add(subject, "server span in error within "+windowsMark, w.attr, d.spanEx(s)).Status = FindingInfo
		case zoneOut:
			d.found.add(subject, "baseline: server span in error outside fault #"+itoa(d.n)+"'s windows", attrNone, d.spanEx(s)).Status = FindingInfo
		}
	}
}

// errors compares server span error rates inside and outside.
func (j *detectJudge) errors() (bool, string) {
	t := j.c.t
	j.stat(t)
	rIn, rOut := ratio(t.in, t.popIn), ratio(t.out, t.popOut)
	j.stats["rate_inside"], j.stats["rate_outside"] = rIn, rOut
	need := rOut + j.plan.Errors.Rate/2
	pass := t.in >= 1 && rIn >= need
	s := fmt.Sprintf("error rate %s inside (%d of %d) versus %s outside (%d of %d); needed at least %s",
		percent(rIn), t.in, t.popIn, percent(rOut), t.out, t.popOut, percent(need))
	if !pass {
		s += ": the errors are not visible"
	}
	return pass, s
}

// ratio is n/of, 0 for an empty population.
func ratio(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

// clientSpan returns hop h's client span in the backend.
func (d *detectGroup) clientSpan(h *record.Hop) (*record.Span, bool) {
	if d.idx == nil || !h.ClientSpan {
		return nil, false
	}
	j, ok := d.idx.lookup(h.Sent.Trace, h.Sent.Span)
	if !ok {
		return nil, false
	}
	return d.idx.span(j), true
}

// failingHops is timeout and partition: hops on the edge that got no
// answer: never received, or the client span in error while the callee did
// not answer with an error.
func (d *detectGroup) failingHops() {
	subject := targetName(d.tgt)
	l := d.ledger()
	// A blackhole holds a call until the caller gives up or the
	// partition heals; a call it held for less than its timeout then
	// goes through, so a held call is an effect too.
	blackhole := d.plan.Kind == topology.FaultPartition && d.plan.Partition == topology.PartitionBlackhole
	for i := range l.hops {
		h := &l.hops[i]
		if !d.onEdge(h) {
			continue
		}
		z, w, waited := d.place(int32(i))
		why := ""
		if !h.Received {
			why = "never received"
		} else if s, ok := d.clientSpan(h); ok && s.Status == record.StatusError && !h.CalleeError {
			why = "client span in error, the callee gave no error answer"
		}
		if why == "" && blackhole && z == zoneIn {
			d.held.hold(w.attr, waited, d.hopEx(h, "held "+time.Duration(waited).String()+" by the blackhole"))
		}
		if why == "" {
			d.c.t.add(z, z, false)
			continue
		}
		d.c.t.add(d.effect(z, w, h.SentAt, nil, subject, "hop without answer", d.hopEx(h, why)), z, true)
	}
}

// place places hop i by hopZone and returns how long its caller waited for
// the answer; a received hop outside raises the held baseline.
func (d *detectGroup) place(i int32) (zone, *faultWin, int64) {
	h := &d.ledger().hops[i]
	z, w := d.hopZone(i)
	_, answered := d.inFlight(i)
	waited := answered - h.SentAt
	if z == zoneOut && h.Received {
		d.held.outside(waited)
	}
	return z, w, waited
}

// heldHops settles the hops held inside (see heldHops) into the findings
// under what and returns the tally with them, stating the threshold.
func (j *detectJudge) heldHops(t tally, what string) tally {
	j.stats["held_threshold_seconds"] = time.Duration(j.held.threshold()).Seconds()
	j.stats["baseline_wait_seconds"] = time.Duration(j.held.baseline).Seconds()
	if len(j.held.waits) > 0 {
		t.in += j.held.settle(j.own(), targetName(j.tgt), what+" within "+j.windows())
	}
	return t
}

// failingHops judges the failing share inside against outside.
func (j *detectJudge) failingHops() (bool, string) {
	j.ledgerOnly("client spans' error status")
	t := j.heldHops(j.c.t, "hop without answer")
	j.stat(t)
	sIn, sOut := ratio(t.in, t.popIn), ratio(t.out, t.popOut)
	j.stats["share_inside"], j.stats["share_outside"] = sIn, sOut
	pass := t.in > 0 && sOut <= sIn/10
	s := fmt.Sprintf("%d of %d hops failed inside (%s), %d of %d outside (%s); outside share allowed up to %s",
		t.in, t.popIn, percent(sIn), t.out, t.popOut, percent(sOut), percent(sIn/10))
	if t.other > 0 {
		s += fmt.Sprintf("; %d more outside during another %s fault", t.other, j.plan.Kind)
	}
	if !pass {
		if t.in == 0 {
			s += ": no hop failed during the fault"
		} else {
			s += ": hops fail outside the fault's windows too"
		}
	}
	return pass, s
}
