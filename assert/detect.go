package assert

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// Detect checks that a planted fault's effect is visible during its windows
// and absent outside them. Inside is a window itself; outside is every time
// not within a window widened by its graces (postGrace after, pipelinePre
// before for pipeline faults and for spans lost to a crash or restart), so
// the graces count for neither side. An effect outside that another fault
// explains (by the attribution rules, or another window of the same kind on
// the same target) is counted apart and does not fail the check.
func Detect(in Input, exp topology.DetectExpect) Verdict {
	var idx *spanIndex
	if in.ReadBack {
		idx = newSpanIndex(in.Backend)
	}
	return detect(in, exp, idx, newFaultSet(in))
}

// zone is where a time falls relative to the detected fault's windows.
type zone uint8

const (
	zoneOut   zone = iota // outside every window and its graces
	zoneIn                // inside a window
	zoneGrace             // within a grace: counted on neither side
	zoneOther             // outside, but while another fault can cause the same effect
)

// detectCheck is one run of the detect check.
type detectCheck struct {
	in     Input
	idx    *spanIndex // nil without read-back
	faults *faultSet
	n      int
	plan   *topology.Fault
	tgt    topology.FaultTarget
	wins   []faultWin
	found  *findings
	stats  map[string]float64
	led    *hopLedger
	// notes are added to Measured: what the check could not look at.
	notes []string
}

func detect(in Input, exp topology.DetectExpect, idx *spanIndex, faults *faultSet) Verdict {
	v := Verdict{Check: string(topology.ExpectDetect), Subject: fmt.Sprintf("fault #%d", exp.Fault)}
	if exp.Fault < 1 || exp.Fault > len(in.Planned) {
		v.Status = StatusNotRun
		v.Measured = "the effect of a planted fault inside versus outside its windows"
		v.Reason = fmt.Sprintf("fault #%d is not in the scenario (%d %s planned)", exp.Fault,
			len(in.Planned), plural(len(in.Planned), "fault", "faults"))
		return v
	}
	d := &detectCheck{
		in: in, idx: idx, faults: faults, n: exp.Fault,
		plan:  &in.Planned[exp.Fault-1],
		found: newFindings(faults),
		stats: make(map[string]float64),
	}
	d.tgt = d.plan.Target
	d.wins = faults.numbered(exp.Fault)
	v.Subject = d.subject()
	v.Stats = d.stats
	d.stats["windows"] = float64(len(d.wins))
	if len(d.wins) > 0 && d.needsBackend() && idx == nil {
		v.Status = StatusNotRun
		v.Measured = d.measured()
		v.Reason = fmt.Sprintf("detecting %s needs the backend's spans: %s", d.plan.Kind, noReadBack(in))
		return v
	}
	v.Expected = d.expected()
	var pass bool
	if len(d.wins) == 0 {
		v.Observed = fmt.Sprintf("fault #%d was never active: the run recorded no window for it", d.n)
	} else {
		pass, v.Observed = d.run()
	}
	v.Measured = d.measured()
	if len(d.notes) > 0 {
		v.Measured += " (" + strings.Join(d.notes, "; ") + ")"
	}
	v.Findings = merge(d.found)
	d.stats["unexplained"] = countUnexplained(v.Findings)
	v.Status = StatusFail
	if pass {
		v.Status = StatusPass
	}
	return v
}

// subject names the fault: "fault #3 (strip-headers cart -> inventory)".
func (d *detectCheck) subject() string {
	desc := d.plan.Name
	if desc == "" && len(d.wins) > 0 {
		desc = d.faults.desc(&d.wins[0].Fault)
	}
	if desc == "" {
		desc = string(d.plan.Kind) + " " + targetName(d.tgt)
	}
	return fmt.Sprintf("fault #%d (%s)", d.n, strings.TrimSpace(desc))
}

// targetName renders a fault target.
func targetName(t topology.FaultTarget) string {
	switch {
	case t.From != "" || t.To != "":
		return edgeName(t.From, t.To)
	case t.Service == "":
		return "pipeline"
	case t.Instance >= 0:
		s := instanceName(t.Service, t.Instance)
		if t.Route != "" {
			s += " " + t.Route
		}
		return s
	case t.Route != "":
		return t.Service + " " + t.Route
	}
	return t.Service
}

// needsBackend reports whether the kind cannot be decided from the ledger.
func (d *detectCheck) needsBackend() bool {
	switch d.plan.Kind {
	case topology.FaultLatency, topology.FaultErrors, topology.FaultTimeout, topology.FaultClockSkew,
		topology.FaultExporterOutage, topology.FaultSlowBackend:
		return true
	}
	return false
}

// ledgerOnly notes that the backend half of a kind's rule was skipped.
func (d *detectCheck) ledgerOnly(what string) {
	d.notes = append(d.notes, "ledger only, "+what+" not checked: "+noReadBack(d.in))
}

// windows renders the fault's windows for messages.
func (d *detectCheck) windows() string {
	return fmt.Sprintf("fault #%d's %s (%s)", d.n, plural(len(d.wins), "window", "windows"), d.faults.windowList(d.wins))
}

// zoneOf places t: inside a window, in a grace (pre before, postGrace
// after), outside while another window of the same kind and target is
// open, or outside.
func (d *detectCheck) zoneOf(t, pre int64) (zone, *faultWin) {
	var graced *faultWin
	for i := range d.wins {
		w := &d.wins[i]
		if t >= w.Start && t <= w.End {
			return zoneIn, w
		}
		if graced == nil && t >= w.Start-pre && t <= w.End+postGrace {
			graced = w
		}
	}
	if graced != nil {
		return zoneGrace, graced
	}
	for i := range d.faults.wins {
		w := &d.faults.wins[i]
		if w.Number != d.n && w.kind == d.plan.Kind && w.Service == d.tgt.Service &&
			w.From == d.tgt.From && w.To == d.tgt.To && t >= w.Start-pre && t <= w.End+postGrace {
			return zoneOther, w
		}
	}
	return zoneOut, nil
}

// effect records one occurrence of the fault's effect at t and returns its
// zone. Outside, an effect that another fault explains by q (when q is not
// nil) moves to zoneOther, attributed to that fault.
func (d *detectCheck) effect(t, pre int64, q *query, subject, what string, ex func() string) zone {
	z, w := d.zoneOf(t, pre)
	return d.effectIn(z, w, t, q, subject, what, ex)
}

// lossZone places the end time of a span a pipeline fault or a crash can
// lose: spans still queued when the window opened (up to pipelinePre before
// it) were lost to it, so that lead counts as inside.
func (d *detectCheck) lossZone(t int64) (zone, *faultWin) {
	for i := range d.wins {
		if w := &d.wins[i]; t >= w.Start-pipelinePre && t <= w.End {
			return zoneIn, w
		}
	}
	return d.zoneOf(t, pipelinePre)
}

// effectIn is effect with the zone already decided.
func (d *detectCheck) effectIn(z zone, w *faultWin, t int64, q *query, subject, what string, ex func() string) zone {
	switch z {
	case zoneIn:
		d.found.add(subject, what+" within "+d.windows(), w.attr, ex)
	case zoneOther:
		d.found.add(subject, what+" outside fault #"+itoa(d.n)+"'s windows, during another fault of the same kind", w.attr, ex)
	case zoneOut:
		if q != nil {
			if a := d.faults.explainExcept(*q, t, d.n); a != attrUnexplained {
				d.found.add(subject, what+" outside fault #"+itoa(d.n)+"'s windows, explained by another fault", a, ex)
				return zoneOther
			}
		}
		d.found.add(subject, what+" outside fault #"+itoa(d.n)+"'s windows", attrUnexplained, ex)
	}
	return z
}

func itoa(n int) string { return strconv.Itoa(n) }

// rel renders t relative to the run's start.
func (d *detectCheck) rel(t int64) string { return "at " + seconds(t-d.faults.runStart) }

// tally counts effects and the population they are drawn from per zone.
type tally struct {
	in, out, other int // effects
	popIn, popOut  int // population: hops or spans inside and outside
}

// add counts one member of the population, and the effect when it has it.
func (t *tally) add(z zone, popZ zone, hit bool) {
	switch popZ {
	case zoneIn:
		t.popIn++
	case zoneOut:
		t.popOut++
	}
	if !hit {
		return
	}
	switch z {
	case zoneIn:
		t.in++
	case zoneOut:
		t.out++
	case zoneOther:
		t.other++
	}
}

// stat stores a tally in the stats.
func (d *detectCheck) stat(t tally) {
	d.stats["inside"] = float64(t.in)
	d.stats["outside"] = float64(t.out)
	d.stats["outside_other_faults"] = float64(t.other)
	d.stats["population_inside"] = float64(t.popIn)
	d.stats["population_outside"] = float64(t.popOut)
}

// presence is the rule of most kinds: at least one effect inside, none
// outside. It returns the verdict and Observed.
func (d *detectCheck) presence(t tally, effects, population string) (bool, string) {
	d.stat(t)
	s := fmt.Sprintf("%d %s inside (of %d %s), %d outside (of %d)", t.in, effects, t.popIn, population, t.out, t.popOut)
	if t.other > 0 {
		s += fmt.Sprintf("; %d more outside explained by other faults", t.other)
	}
	switch {
	case t.in == 0 && t.popIn == 0:
		return false, s + ": no " + population + " inside the windows, so the effect could not show"
	case t.in == 0:
		return false, s + ": the effect is not visible during the fault"
	case t.out > 0:
		return false, s + ": the effect also appears outside the fault's windows"
	}
	return true, s + ": visible during the fault only"
}

// expected words the rule of the kind.
func (d *detectCheck) expected() string {
	in := "within " + d.windows()
	grace := "; outside = beyond " + seconds(postGrace) + " after a window"
	switch d.plan.Kind {
	case topology.FaultExporterOutage, topology.FaultSlowBackend:
		grace += " and " + seconds(pipelinePre) + " before it"
	case topology.FaultCrash, topology.FaultRestart:
		grace += " (" + seconds(pipelinePre) + " before it for lost spans)"
	}
	switch d.plan.Kind {
	case topology.FaultLatency:
		return "median duration of " + targetName(d.tgt) + " server spans starting " + in + " " + d.latencyRule() +
			" than outside; at least 5 spans on each side" + grace
	case topology.FaultErrors:
		return fmt.Sprintf("error rate of %s server spans %s at least the rate outside + %s (half the planted %s), with at least 1 error inside",
			targetName(d.tgt), in, percent(d.plan.Errors.Rate/2), percent(d.plan.Errors.Rate)) + grace
	case topology.FaultTimeout, topology.FaultPartition:
		return "hops " + targetName(d.tgt) + " failing (not received, or client span in error without the callee answering an error) " +
			in + ": at least 1, and the failing share outside at most a tenth of the share inside" + grace
	case topology.FaultDuplicateHeader, topology.FaultTracestateOverflow, topology.FaultBaggageOverflow:
		return "hops across " + targetName(d.tgt) + " received " + in +
			": at least 1; whether the callee broke the trace or tolerated the header is reported, not judged" + grace
	case topology.FaultUninstrument:
		s := "hops into " + targetName(d.tgt) + " " + in + " that started no server span: at least 1, and none of their server spans in the backend; none outside"
		if !d.plan.Forward {
			s += "; trace breaks on edges into or out of it: at least 1 inside"
		}
		return s + "; no breaks on those edges outside" + grace
	case topology.FaultClockSkew:
		return "backend parent/child pairs across an edge touching " + targetName(d.tgt) +
			" where the child starts before its parent or ends after it (by more than 1ms), by the unskewed span's start: at least 1 " + in + ", none outside" + grace
	case topology.FaultSlowBackend:
		return fmt.Sprintf("median time until arrival (Arrived - End) of spans ending %s at least the median outside + %s (half the planted delay); at least 5 spans on each side",
			in, d.plan.Delay/2) + grace
	case topology.FaultPause:
		return "hops to " + targetName(d.tgt) + " sent " + in + " answered with an error or only after the window closed: at least 1; " +
			"outside, hops stalled as long as the shortest window (or never received): none" + grace
	}
	return d.effectName() + " " + in + ": at least 1; outside: none" + grace
}

// effectName names the counted effect of the presence kinds.
func (d *detectCheck) effectName() string {
	switch d.plan.Kind {
	case topology.FaultStripHeaders, topology.FaultCorruptTraceparent:
		return "ledger-level trace breaks on " + targetName(d.tgt)
	case topology.FaultPropagatorSwitch:
		return "ledger-level trace breaks on edges into or out of " + targetName(d.tgt)
	case topology.FaultExporterOutage:
		return "spans lost (missing from the backend, any stage) by their end time"
	case topology.FaultQueueOverflow:
		return "spans of " + targetName(d.tgt) + " dropped in the SDK queue by their end time"
	case topology.FaultCrash, topology.FaultRestart:
		return "spans of " + targetName(d.tgt) + " lost, and hops to it not received"
	}
	return string(d.plan.Kind) + " effects"
}

// measured words what the kind measures.
func (d *detectCheck) measured() string {
	return fmt.Sprintf("the effect of %s inside versus outside its %d %s", d.subject(), len(d.wins), plural(len(d.wins), "window", "windows"))
}

// run dispatches on the kind.
func (d *detectCheck) run() (bool, string) {
	switch d.plan.Kind {
	case topology.FaultLatency:
		return d.latency()
	case topology.FaultErrors:
		return d.errors()
	case topology.FaultTimeout, topology.FaultPartition:
		return d.failingHops()
	case topology.FaultStripHeaders, topology.FaultCorruptTraceparent:
		return d.edgeBreaks()
	case topology.FaultDuplicateHeader, topology.FaultTracestateOverflow, topology.FaultBaggageOverflow:
		return d.headerObservation()
	case topology.FaultPropagatorSwitch:
		return d.serviceBreaks()
	case topology.FaultUninstrument:
		return d.uninstrument()
	case topology.FaultClockSkew:
		return d.clockSkew()
	case topology.FaultExporterOutage:
		return d.exporterOutage()
	case topology.FaultSlowBackend:
		return d.slowBackend()
	case topology.FaultQueueOverflow:
		return d.queueOverflow()
	case topology.FaultCrash, topology.FaultRestart:
		return d.crash()
	case topology.FaultPause:
		return d.pause()
	}
	return false, "no detection rule for fault kind " + string(d.plan.Kind)
}

// ledger returns the resolved hop ledger.
func (d *detectCheck) ledger() *hopLedger {
	if d.led == nil {
		d.led = newHopLedger(d.in.Hops)
	}
	return d.led
}

// spanEx is evidence for one span.
func (d *detectCheck) spanEx(s *record.Span) func() string {
	return func() string {
		return fmt.Sprintf("trace %s span %s (%s %s) %s", s.Trace, s.ID, s.Service, s.Name, d.rel(s.Start))
	}
}

// hopEx is evidence for one hop.
func (d *detectCheck) hopEx(h *record.Hop, what string) func() string {
	return func() string {
		s := fmt.Sprintf("request %d hop %x %s -> %s %s", h.Request, h.ID, h.From, h.To, d.rel(h.SentAt))
		if h.Sent.Trace.IsValid() {
			s += " trace " + h.Sent.Trace.String()
		}
		if what != "" {
			s += ": " + what
		}
		return s
	}
}

// targetServer reports whether s is a server span of the target service
// (route and instance when the target names them).
func (d *detectCheck) targetServer(s *record.Span) bool {
	return s.Kind == record.KindServer && s.Service == d.tgt.Service &&
		(d.tgt.Route == "" || s.Name == d.tgt.Route) && d.instanceOK(s.Instance)
}

// instanceOK reports whether a span instance matches the target's.
func (d *detectCheck) instanceOK(inst string) bool {
	return d.tgt.Instance < 0 || inst == instanceName(d.tgt.Service, d.tgt.Instance)
}

// hopToTarget reports whether h was sent to the target instance.
func (d *detectCheck) hopToTarget(h *record.Hop) bool {
	return h.To == d.tgt.Service && (d.tgt.Instance < 0 || h.ToInstance == d.tgt.Instance)
}

// onEdge reports whether h crossed the target edge.
func (d *detectCheck) onEdge(h *record.Hop) bool { return h.From == d.tgt.From && h.To == d.tgt.To }

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
	}
	for i := len(out) - 1; i >= 0 && i >= len(out)-maxExamples; i-- {
		s := d.idx.span(out[i].e)
		f := d.found.add(subject, "baseline: "+what+" outside fault #"+itoa(d.n)+"'s windows", attrNone, d.spanEx(s))
		f.Of = len(out)
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

// latency compares server span durations inside and outside.
func (d *detectCheck) latency() (bool, string) {
	var in, out []sample
	x := d.idx
	for e := range x.ents {
		s := x.span(int32(e))
		if !d.targetServer(s) {
			continue
		}
		switch z, w := d.zoneOf(s.Start, 0); z {
		case zoneIn:
			in = append(in, sample{s.End - s.Start, int32(e), w})
		case zoneOut:
			out = append(out, sample{s.End - s.Start, int32(e), nil})
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
		pass, want = fIn <= lim, "at most "+time.Duration(lim).String()
	default:
		lim := fOut
		if l.Multiply > 1 {
			lim *= 1 + (l.Multiply-1)/2
		}
		lim += float64(l.Add) / 2
		pass, want = fIn >= lim, "at least "+time.Duration(lim).String()
	}
	s := fmt.Sprintf("median %s inside (%d spans) versus %s outside (%d spans); needed %s",
		time.Duration(mIn), len(in), time.Duration(mOut), len(out), want)
	if !pass {
		s += ": the latency change is not visible"
	}
	return pass, s
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
			d.found.add(subject, "server span in error within "+d.windows(), w.attr, d.spanEx(s))
		case zoneOut:
			d.found.add(subject, "baseline: server span in error outside fault #"+itoa(d.n)+"'s windows", attrNone, d.spanEx(s))
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
	for i := range d.in.Hops {
		h := &d.in.Hops[i]
		if !d.onEdge(h) {
			continue
		}
		why := ""
		if !h.Received {
			why = "never received"
		} else if s, ok := d.clientSpan(h); ok && s.Status == record.StatusError && !h.CalleeError {
			why = "client span in error, the callee gave no error answer"
		}
		z, _ := d.zoneOf(h.SentAt, 0)
		if why == "" {
			t.add(z, z, false)
			continue
		}
		t.add(d.effect(h.SentAt, 0, nil, subject, "hop without answer", d.hopEx(h, why)), z, true)
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

// edgeBreaks is strip-headers and corrupt-traceparent: ledger-level breaks
// on the edge.
func (d *detectCheck) edgeBreaks() (bool, string) {
	l := d.ledger()
	var t tally
	subject := targetName(d.tgt)
	for i := range l.hops {
		h := &l.hops[i]
		if !d.onEdge(h) || !l.checked(int32(i)) {
			continue
		}
		z, _ := d.zoneOf(h.SentAt, 0)
		if l.state[i] != hopBroken {
			t.add(z, z, false)
			continue
		}
		q := query{effect: effectHopBreak, from: h.From, to: h.To}
		t.add(d.effect(h.SentAt, 0, &q, subject, "trace broke", d.breakEx(l, int32(i))), z, true)
	}
	return d.presence(t, "breaks", "checked hops")
}

// breakEx is evidence for broken hop i.
func (d *detectCheck) breakEx(l *hopLedger, i int32) func() string {
	return func() string {
		exp, _ := l.expected(i)
		return d.rel(l.hops[i].SentAt) + ": " + hopExample(&l.hops[i], exp)
	}
}

// headerObservation is duplicate-header, tracestate-overflow and
// baggage-overflow: the callee may break the trace or tolerate the header;
// both are observations. It fails only when no hop crossed the edge inside.
func (d *detectCheck) headerObservation() (bool, string) {
	l := d.ledger()
	var header record.Header
	switch d.plan.Kind {
	case topology.FaultTracestateOverflow:
		header = record.HeaderTracestate
	case topology.FaultBaggageOverflow:
		header = record.HeaderBaggage
	}
	var crossed, broke, tolerated, dropped, inBackend, brokeOut int
	subject := targetName(d.tgt)
	for i := range l.hops {
		h := &l.hops[i]
		if !d.onEdge(h) || !h.Received {
			continue
		}
		z, w := d.zoneOf(h.SentAt, 0)
		switch z {
		case zoneIn:
			crossed++
			if header != 0 && h.SentHeaders.Has(header) && !h.GotHeaders.Has(header) {
				dropped++
			}
			switch {
			case l.state[i] == hopBroken:
				broke++
				d.found.add(subject, "callee broke the trace within "+d.windows(), w.attr, d.breakEx(l, int32(i)))
			case l.state[i] == hopContinued:
				tolerated++
				if d.idx != nil && h.ServerSpan {
					if _, ok := d.idx.lookup(h.Server.Trace, h.Server.Span); ok {
						inBackend++
					}
				}
			}
		case zoneOut:
			if l.state[i] == hopBroken {
				brokeOut++
				q := query{effect: effectHopBreak, from: h.From, to: h.To}
				d.found.add(subject, "callee broke the trace outside fault #"+itoa(d.n)+"'s windows",
					d.faults.explainExcept(q, h.SentAt, d.n), d.breakEx(l, int32(i)))
			}
		}
	}
	d.stats["population_inside"] = float64(crossed)
	d.stats["inside_broke"], d.stats["inside_tolerated"] = float64(broke), float64(tolerated)
	d.stats["outside_broke"] = float64(brokeOut)
	if crossed == 0 {
		return false, "no hop crossed " + subject + " during the fault: the effect could not show"
	}
	var how []string
	if broke > 0 {
		how = append(how, fmt.Sprintf("broke the trace on %d of %d hops", broke, crossed))
	}
	if tolerated > 0 {
		s := fmt.Sprintf("tolerated by the callee on %d of %d hops (trace continued", tolerated, crossed)
		if d.idx != nil {
			s += fmt.Sprintf("; %d of their server spans in the backend", inBackend)
		}
		how = append(how, s+")")
	}
	if header != 0 {
		how = append(how, fmt.Sprintf("%d %s arrived without the %s header", dropped, plural(dropped, "hop", "hops"), header))
	}
	s := fmt.Sprintf("%d %s crossed %s inside: %s", crossed, plural(crossed, "hop", "hops"), subject, strings.Join(how, "; "))
	if brokeOut > 0 {
		s += fmt.Sprintf("; %d breaks outside (reported, not judged)", brokeOut)
	}
	return true, s
}

// touches reports whether h enters or leaves the target service (instance).
func (d *detectCheck) touches(h *record.Hop) bool {
	return (h.To == d.tgt.Service && (d.tgt.Instance < 0 || h.ToInstance == d.tgt.Instance)) ||
		(h.From == d.tgt.Service && (d.tgt.Instance < 0 || h.FromInstance == d.tgt.Instance))
}

// serviceBreaks counts ledger-level breaks on edges into or out of the
// target service into t.
func (d *detectCheck) serviceBreaks() (bool, string) {
	t := d.countServiceBreaks()
	return d.presence(t, "breaks", "checked hops into or out of "+d.tgt.Service)
}

func (d *detectCheck) countServiceBreaks() tally {
	l := d.ledger()
	var t tally
	for i := range l.hops {
		h := &l.hops[i]
		if !d.touches(h) || !l.checked(int32(i)) {
			continue
		}
		z, _ := d.zoneOf(h.SentAt, 0)
		if l.state[i] != hopBroken {
			t.add(z, z, false)
			continue
		}
		q := query{effect: effectHopBreak, from: h.From, to: h.To}
		t.add(d.effect(h.SentAt, 0, &q, edgeName(h.From, h.To), "trace broke", d.breakEx(l, int32(i))), z, true)
	}
	return t
}

// uninstrument: hops into the service inside started no server span and
// none of theirs is in the backend; outside every received hop started
// one; breaks on its edges inside (required when it drops headers) and
// none outside.
func (d *detectCheck) uninstrument() (bool, string) {
	if d.idx == nil {
		d.ledgerOnly("server spans in the backend")
	}
	var t tally
	spansIn := 0
	subject := targetName(d.tgt)
	for i := range d.in.Hops {
		h := &d.in.Hops[i]
		if !d.hopToTarget(h) || !h.Received {
			continue
		}
		z, _ := d.zoneOf(h.SentAt, 0)
		if h.ServerSpan {
			t.add(z, z, false)
			continue
		}
		t.add(d.effect(h.SentAt, 0, nil, subject, "hop started no server span", d.hopEx(h, "")), z, true)
	}
	if d.idx != nil {
		// An uninstrumented callee has no span ID in the ledger to look up:
		// any server span of the service starting inside a window is one
		// too many.
		x := d.idx
		for e := range x.ents {
			s := x.span(int32(e))
			if s.Kind != record.KindServer || s.Service != d.tgt.Service || !d.instanceOK(s.Instance) {
				continue
			}
			if z, w := d.zoneOf(s.Start, 0); z == zoneIn {
				spansIn++
				d.found.add(subject, "server span in the backend within "+d.windows(), w.attr, d.spanEx(s))
			}
		}
	}
	b := d.countServiceBreaks()
	d.stat(t)
	d.stats["breaks_inside"], d.stats["breaks_outside"] = float64(b.in), float64(b.out)
	d.stats["backend_server_spans_inside"] = float64(spansIn)
	s := fmt.Sprintf("%d of %d hops into %s started no server span inside, %d of %d outside; %d server spans of it in the backend inside; breaks on its edges: %d inside, %d outside",
		t.in, t.popIn, subject, t.out, t.popOut, spansIn, b.in, b.out)
	if !d.plan.Forward {
		s += " (headers not forwarded: breaks inside required)"
	}
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
	if !d.plan.Forward && b.in == 0 {
		why = append(why, "no break although headers are not forwarded")
	}
	if len(why) > 0 {
		return false, s + ": " + strings.Join(why, "; ")
	}
	return true, s + ": visible during the fault only"
}

// clockSkew: backend parent/child pairs across an edge touching the service
// whose child starts before its parent or ends after it by more than 1ms,
// placed in time by the span that is not the skewed service's.
func (d *detectCheck) clockSkew() (bool, string) {
	const tol = int64(time.Millisecond)
	x := d.idx
	var t tally
	svc := d.tgt.Service
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
			at := p.Start // the unskewed side's clock
			if p.Service == svc {
				if !d.instanceOK(p.Instance) {
					continue
				}
				at = c.Start
			} else if !d.instanceOK(c.Instance) {
				continue
			}
			z, _ := d.zoneOf(at, 0)
			if c.Start >= p.Start-tol && c.End <= p.End+tol {
				t.add(z, z, false)
				continue
			}
			q := query{effect: effectTree, svc: svc}
			ex := func() string {
				return fmt.Sprintf("trace %s: %s span %s [%s, %s] under %s span %s [%s, %s]", c.Trace, c.Service, c.ID,
					d.rel(c.Start), d.rel(c.End), p.Service, p.ID, d.rel(p.Start), d.rel(p.End))
			}
			t.add(d.effect(at, 0, &q, edgeName(p.Service, c.Service), "child outside its parent's time", ex), z, true)
		}
	}
	return d.presence(t, "skewed pairs", "parent/child pairs across "+svc+"'s edges")
}

// lost reports whether ended span e is missing from the backend.
func (d *detectCheck) lost(e *record.Ended) bool {
	_, ok := d.idx.lookup(e.Trace, e.ID)
	return !ok
}

// exporterOutage: spans lost by their end time; spans queued when the
// outage began count as inside.
func (d *detectCheck) exporterOutage() (bool, string) {
	var t tally
	for i := range d.in.Ended {
		e := &d.in.Ended[i]
		z, w := d.lossZone(e.End)
		if !d.lost(e) {
			t.add(z, z, false)
			continue
		}
		q := query{effect: effectLoss, svc: e.Service, inst: e.Instance}
		t.add(d.effectIn(z, w, e.End, &q, e.Service, "span lost ("+e.Export.String()+")", d.spanEx(&e.Span)), z, true)
	}
	return d.presence(t, "spans lost", "ended spans")
}

// slowBackend compares the time until arrival inside and outside.
func (d *detectCheck) slowBackend() (bool, string) {
	var in, out []sample
	x := d.idx
	for e := range x.ents {
		s := x.span(int32(e))
		if s.Arrived == 0 {
			continue
		}
		switch z, w := d.zoneOf(s.End, pipelinePre); z {
		case zoneIn:
			in = append(in, sample{s.Arrived - s.End, int32(e), w})
		case zoneOut:
			out = append(out, sample{s.Arrived - s.End, int32(e), nil})
		}
	}
	mIn, mOut, ok := split(in, out)
	d.stats["population_inside"], d.stats["population_outside"] = float64(len(in)), float64(len(out))
	d.evidence(in, out, "backend", "slowest arrivals")
	if !ok {
		return false, fmt.Sprintf("too few spans with arrival times to decide: %d inside, %d outside (at least 5 each)", len(in), len(out))
	}
	d.stats["median_inside_seconds"] = time.Duration(mIn).Seconds()
	d.stats["median_outside_seconds"] = time.Duration(mOut).Seconds()
	need := mOut + int64(d.plan.Delay/2)
	pass := mIn >= need
	s := fmt.Sprintf("median time until arrival %s inside (%d spans) versus %s outside (%d spans); needed at least %s",
		time.Duration(mIn), len(in), time.Duration(mOut), len(out), time.Duration(need))
	if !pass {
		s += ": the export delay is not visible"
	}
	return pass, s
}

// queueOverflow: spans of the service dropped in the SDK queue.
func (d *detectCheck) queueOverflow() (bool, string) {
	var t tally
	for i := range d.in.Ended {
		e := &d.in.Ended[i]
		if e.Service != d.tgt.Service || !d.instanceOK(e.Instance) {
			continue
		}
		z, _ := d.zoneOf(e.End, 0)
		if e.Export != record.ExportPending {
			t.add(z, z, false)
			continue
		}
		q := query{effect: effectLoss, svc: e.Service, inst: e.Instance}
		t.add(d.effect(e.End, 0, &q, e.Service, "span dropped in SDK queue", d.spanEx(&e.Span)), z, true)
	}
	return d.presence(t, "spans dropped in the SDK queue", "ended spans of "+targetName(d.tgt))
}

// crash is crash and restart: spans of the instance lost (by end time,
// pipelinePre before a window counting as grace) and hops to it not
// received (by send time).
func (d *detectCheck) crash() (bool, string) {
	var t tally
	subject := targetName(d.tgt)
	if d.idx == nil {
		d.ledgerOnly("lost spans")
	} else {
		for i := range d.in.Ended {
			e := &d.in.Ended[i]
			if e.Service != d.tgt.Service || !d.instanceOK(e.Instance) {
				continue
			}
			z, w := d.lossZone(e.End)
			if !d.lost(e) {
				t.add(z, z, false)
				continue
			}
			q := query{effect: effectLoss, svc: e.Service, inst: e.Instance}
			t.add(d.effectIn(z, w, e.End, &q, subject, "span lost ("+e.Export.String()+")", d.spanEx(&e.Span)), z, true)
		}
	}
	for i := range d.in.Hops {
		h := &d.in.Hops[i]
		if !d.hopToTarget(h) {
			continue
		}
		z, _ := d.zoneOf(h.SentAt, 0)
		if h.Received {
			t.add(z, z, false)
			continue
		}
		t.add(d.effect(h.SentAt, 0, nil, subject, "hop not received", d.hopEx(h, "")), z, true)
	}
	return d.presence(t, "spans lost or hops not received", "spans and hops of "+subject)
}

// pause: hops to the instance sent inside that were answered with an error
// or only after the window closed; outside, hops stalled at least as long
// as the shortest window, or never received.
func (d *detectCheck) pause() (bool, string) {
	if d.idx == nil {
		d.ledgerOnly("client span durations")
	}
	shortest := int64(-1)
	for _, w := range d.wins {
		if l := w.End - w.Start; shortest < 0 || l < shortest {
			shortest = l
		}
	}
	var t tally
	subject := targetName(d.tgt)
	for i := range d.in.Hops {
		h := &d.in.Hops[i]
		if !d.hopToTarget(h) {
			continue
		}
		z, w := d.zoneOf(h.SentAt, 0)
		cs, haveCS := d.clientSpan(h)
		why := ""
		switch z {
		case zoneIn:
			switch {
			case h.CalleeError:
				why = "callee answered with an error"
			case haveCS && cs.End-cs.Start >= w.End-h.SentAt:
				why = "answered after the window closed (client span " + time.Duration(cs.End-cs.Start).String() + ")"
			case !h.Received:
				why = "never received"
			}
		default:
			switch {
			case !h.Received:
				why = "never received"
			case haveCS && cs.End-cs.Start >= shortest:
				why = "stalled " + time.Duration(cs.End-cs.Start).String()
			}
		}
		if why == "" {
			t.add(z, z, false)
			continue
		}
		t.add(d.effect(h.SentAt, 0, nil, subject, "hop stalled", d.hopEx(h, why)), z, true)
	}
	return d.presence(t, "stalled hops", "hops to "+subject)
}
