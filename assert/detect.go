package assert

import (
	"fmt"
	"strconv"
	"strings"

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
	return Run(in, []topology.Expect{{Kind: topology.ExpectDetect, Detect: exp}})[0]
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

// effectIn is effect with the zone already decided.
func (d *detectCheck) effectIn(z zone, w *faultWin, t int64, q *query, subject, what string, ex func() string) zone {
	switch z {
	case zoneIn:
		d.found.add(subject, what+" within "+d.windows(), w.attr, ex).Status = FindingInfo
	case zoneOther:
		d.found.add(subject, what+" outside fault #"+itoa(d.n)+"'s windows, during another fault of the same kind", w.attr, ex).Status = FindingInfo
	case zoneOut:
		if q != nil {
			if a := d.faults.explainExcept(*q, t, d.n); a != attrUnexplained {
				d.found.add(subject, what+" outside fault #"+itoa(d.n)+"'s windows, explained by another fault", a, ex).Status = FindingInfo
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
	}
	if d.hopRule() {
		grace = "; by the ledger's times, a hop counts inside when it was in flight at some time in a window " +
			"(from its caller receiving the request that made it to the caller getting its answer or giving up)"
		if cutsReach(d.plan.Kind) {
			grace += ", or was sent after one closed before its caller instance got a request through to the target again " +
				"(the ledger's first received hop from it: the aftermath of reconnecting)"
		}
		grace += "; outside otherwise"
		if d.plan.Kind == topology.FaultCrash || d.plan.Kind == topology.FaultRestart {
			grace += "; a lost span counts inside when it ended in a window or up to " + seconds(pipelinePre) + " before it (still queued)"
		}
	}
	switch d.plan.Kind {
	case topology.FaultLatency:
		return "median own time (from start to its first call, or the whole span without calls) of " + targetName(d.tgt) + " server spans starting " + in + " " + d.latencyRule() +
			" than outside; at least 5 spans on each side" + grace
	case topology.FaultErrors:
		return fmt.Sprintf("error rate of %s server spans %s at least the rate outside + %s (half the planted %s), with at least 1 error inside",
			targetName(d.tgt), in, percent(d.plan.Errors.Rate/2), percent(d.plan.Errors.Rate)) + grace
	case topology.FaultTimeout, topology.FaultPartition:
		held := ""
		if d.plan.Kind == topology.FaultPartition && d.plan.Partition == topology.PartitionBlackhole {
			held = ", or held by the blackhole at least a tenth of the shortest window (twice the longest wait outside when that is more)"
		}
		return "hops " + targetName(d.tgt) + " failing (not received, or client span in error without the callee answering an error" + held + ") " +
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
			fmt.Sprintf(" where the child starts before its parent or ends after it (by more than %s), by the unskewed span's start: at least 1 ", skewTolerance(d.plan.Skew)) + in + ", none outside" + grace
	case topology.FaultSlowBackend:
		return fmt.Sprintf("median time until arrival (Arrived - End) of spans ending %s at least the median outside + %s (half the planted delay); at least 5 spans on each side",
			in, d.plan.Delay/2) + grace
	case topology.FaultPause:
		return "hops to " + targetName(d.tgt) + " in flight " + in + " answered with an error, never received, or held before their answer (or their caller's giving up) " +
			"at least a tenth of the shortest window, or twice the longest wait outside when that is more: at least 1; " +
			"outside, hops that waited as long as the shortest window (or were never received): none" + grace
	}
	return d.effectName() + " " + in + ": at least 1; outside: none" + grace
}

// hopRule reports whether the kind's rule counts hops, placed by hopZone.
func (d *detectCheck) hopRule() bool {
	switch d.plan.Kind {
	case topology.FaultTimeout, topology.FaultPartition, topology.FaultStripHeaders, topology.FaultCorruptTraceparent,
		topology.FaultDuplicateHeader, topology.FaultTracestateOverflow, topology.FaultBaggageOverflow,
		topology.FaultPropagatorSwitch, topology.FaultUninstrument, topology.FaultCrash, topology.FaultRestart, topology.FaultPause:
		return true
	}
	return false
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

// isTargetCaller reports whether h left the target service (instance).
func (d *detectCheck) isTargetCaller(h *record.Hop) bool {
	return h.From == d.tgt.Service && (d.tgt.Instance < 0 || h.FromInstance == d.tgt.Instance)
}

// onEdge reports whether h crossed the target edge.
func (d *detectCheck) onEdge(h *record.Hop) bool { return h.From == d.tgt.From && h.To == d.tgt.To }
