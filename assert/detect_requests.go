package assert

// This file holds the detect rules of the faults that change requests:
// latency, errors, timeouts and partitions.

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tracerig/tracerig/internal/durfmt"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// sample is one measured value with its span, for medians and evidence.
type sample struct {
	v int64
	e int32 // backend entry
	w *faultWin
}

// split sorts samples inside and outside by value and returns their
// medians; ok is false with fewer than 5 on a side.
func split(in, out []sample) (mIn, mOut int64, ok bool) {
	by := func(a, b sample) int { return cmp.Compare(a.v, b.v) }
	slices.SortFunc(in, by)
	slices.SortFunc(out, by)
	if len(in) < 5 || len(out) < 5 {
		return 0, 0, false
	}
	return in[(len(in)-1)/2].v, out[(len(out)-1)/2].v, true
}

// evidence adds the largest samples of each side as findings: inside
// attributed to the fault, outside as baseline (no attribution).
func (d *detectCheck) evidence(in, out []sample, subject, what string) {
	for i := len(in) - 1; i >= 0 && i >= len(in)-maxExamples; i-- {
		s := d.idx.span(in[i].e)
		f := d.found.add(subject, what+" within "+d.windows(), in[i].w.attr, d.spanEx(s))
		f.Of = len(in)
		f.Status = FindingInfo
	}
	for i := len(out) - 1; i >= 0 && i >= len(out)-maxExamples; i-- {
		s := d.idx.span(out[i].e)
		f := d.found.add(subject, "baseline: "+what+" outside fault #"+itoa(d.n)+"'s windows", attrNone, d.spanEx(s))
		f.Of = len(out)
		f.Status = FindingInfo
	}
}

// latencyRule words the latency threshold.
func (d *detectCheck) latencyRule() string {
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
func (d *detectCheck) latency() (bool, string) {
	var in, out []sample
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
			in = append(in, sample{own, int32(e), w})
		case zoneOut:
			out = append(out, sample{own, int32(e), nil})
		}
	}
	mIn, mOut, ok := split(in, out)
	d.stats["population_inside"], d.stats["population_outside"] = float64(len(in)), float64(len(out))
	d.evidence(in, out, targetName(d.tgt), "slowest server spans")
	if !ok {
		return false, fmt.Sprintf("too few spans to decide: %d inside, %d outside (at least 5 each)", len(in), len(out))
	}
	d.stats["median_inside_seconds"] = time.Duration(mIn).Seconds()
	d.stats["median_outside_seconds"] = time.Duration(mOut).Seconds()
	l := d.plan.Latency
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
		durfmt.Human(time.Duration(mIn)), len(in), durfmt.Human(time.Duration(mOut)), len(out), want)
	if !pass {
		s += ": the latency change is not visible"
	}
	return pass, s
}

// firstCalls maps each target server span's entry to the start of the
// earliest client span under it in its own service: when its route began
// its calls.
func (d *detectCheck) firstCalls() map[int32]int64 {
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

// errors compares server span error rates inside and outside.
func (d *detectCheck) errors() (bool, string) {
	var t tally
	x := d.idx
	subject := targetName(d.tgt)
	for e := range x.ents {
		s := x.span(int32(e))
		if !d.targetServer(s) {
			continue
		}
		z, w := d.zoneOf(s.Start, 0)
		hit := s.Status == record.StatusError
		t.add(z, z, hit)
		if !hit {
			continue
		}
		switch z {
		case zoneIn:
			d.found.add(subject, "server span in error within "+d.windows(), w.attr, d.spanEx(s)).Status = FindingInfo
		case zoneOut:
			d.found.add(subject, "baseline: server span in error outside fault #"+itoa(d.n)+"'s windows", attrNone, d.spanEx(s)).Status = FindingInfo
		}
	}
	d.stat(t)
	rIn, rOut := ratio(t.in, t.popIn), ratio(t.out, t.popOut)
	d.stats["rate_inside"], d.stats["rate_outside"] = rIn, rOut
	need := rOut + d.plan.Errors.Rate/2
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
func (d *detectCheck) clientSpan(h *record.Hop) (*record.Span, bool) {
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
func (d *detectCheck) failingHops() (bool, string) {
	if d.idx == nil {
		d.ledgerOnly("client spans' error status")
	}
	var t tally
	subject := targetName(d.tgt)
	l := d.ledger()
	// A blackhole holds a call until the caller gives up or the
	// partition heals; a call it held for less than its timeout then
	// goes through, so a held call is an effect too.
	blackhole := d.plan.Kind == topology.FaultPartition && d.plan.Partition == topology.PartitionBlackhole
	hops, held := d.placeHops(d.onEdge, d.shortestWindow())
	for _, p := range hops {
		h, z, w := &l.hops[p.i], p.z, p.w
		why := ""
		switch {
		case !h.Received:
			why = "never received"
		case blackhole && z == zoneIn && p.waited >= held:
			why = "held " + time.Duration(p.waited).String() + " by the blackhole"
		}
		if s, ok := d.clientSpan(h); why == "" && ok && s.Status == record.StatusError && !h.CalleeError {
			why = "client span in error, the callee gave no error answer"
		}
		if why == "" {
			t.add(z, z, false)
			continue
		}
		t.add(d.effectIn(z, w, h.SentAt, nil, subject, "hop without answer", d.hopEx(h, why)), z, true)
	}
	d.stat(t)
	sIn, sOut := ratio(t.in, t.popIn), ratio(t.out, t.popOut)
	d.stats["share_inside"], d.stats["share_outside"] = sIn, sOut
	pass := t.in > 0 && sOut <= sIn/10
	s := fmt.Sprintf("%d of %d hops failed inside (%s), %d of %d outside (%s); outside share allowed up to %s",
		t.in, t.popIn, percent(sIn), t.out, t.popOut, percent(sOut), percent(sIn/10))
	if t.other > 0 {
		s += fmt.Sprintf("; %d more outside during another %s fault", t.other, d.plan.Kind)
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
