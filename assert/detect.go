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

// detectCounts are the detect check's counters, summed over groups; each
// rule uses those it needs.
type detectCounts struct {
	t tally // the rule's effects and their population
	// breaks are the uninstrument rule's breaks on the target's edges.
	breaks tally
	// callsIn counts the target's checked calls out inside a window;
	// spansIn its server spans in the backend inside that no hop started
	// (uninstrument).
	callsIn, spansIn int
	// The header observation: hops across the edge inside, of them broken,
	// tolerated, missing the header, tolerated with the server span in the
	// backend; breaks outside.
	crossed, broke, tolerated, dropped, inBackend, brokeOut int
}

// detectTally is the detect check judged group by group. A group holds
// whole requests with their traces, so whatever a rule looks at for one
// hop or one span (its parent hop, its client span, its trace's pairs) is
// in the same group; the fault set, with the callers' recoveries after
// each window, is the whole run's. What it keeps grows with the fault's
// windows: counters, findings, two distributions with their largest
// samples, the waits of the hops held inside that wait for the run's
// baseline and shortest window (see heldHops), and a pause's waits of the
// received hops outside until the windows are final (see stalledOutside).
type detectTally struct {
	exp        topology.DetectExpect
	planned    []topology.Fault
	readBack   bool
	noReadBack string
	n          int
	plan       *topology.Fault // nil when exp names no planned fault
	tgt        topology.FaultTarget
	route      routeSpans // the spans of the target's route
	// faults and wins come with the first group, and wins again whenever
	// the fault set's windows change (version); until then they are the
	// run's static windows, without the ledger's recoveries.
	given   bool
	version int
	faults  *faultSet
	wins    []faultWin
	found   *findings
	c       detectCounts
	// inside and outside are the measured values of the median rules
	// (latency, slow backend).
	inside, outside sampleSide
	held            heldHops       // timeout, partition, pause
	stalled         stalledOutside // pause, while the windows may change
}

// newDetectTally returns the detect tally for a run with base's static
// evidence.
func newDetectTally(exp topology.DetectExpect, base *Input) *detectTally {
	t := &detectTally{
		exp:        exp,
		planned:    base.Planned,
		readBack:   base.ReadBack,
		noReadBack: noReadBack(*base),
		n:          exp.Fault,
	}
	if exp.Fault >= 1 && exp.Fault <= len(base.Planned) {
		t.plan = &base.Planned[exp.Fault-1]
		t.tgt = t.plan.Target
	}
	t.route = targetRouteSpans(base.Topology, t.tgt)
	static := *base
	static.Hops, static.Ended, static.Backend = nil, nil, nil
	t.setFaults(newFaultSet(static))
	return t
}

// setFaults takes the run's fault set, with new findings.
func (d *detectTally) setFaults(fs *faultSet) {
	d.found = newFindings(fs)
	d.found.expand = func(m string) string { return strings.ReplaceAll(m, windowsMark, d.windows()) }
	d.derive(fs)
}

// bindFaults takes the fault set every group will be judged with: the
// verdict names the fault's windows even when no group came.
func (d *detectTally) bindFaults(fs *faultSet) {
	d.given = true
	d.setFaults(fs)
}

// derive takes the windows of the detected fault as fs has them now.
func (d *detectTally) derive(fs *faultSet) {
	d.faults, d.version = fs, fs.ver()
	d.wins = fs.numbered(d.n)
	d.held.floor, d.held.final = d.shortestWindow()/10, fs.settled()
}

// add judges one group. A group may come before the fault's first window
// is known: it is counted, and the verdict says the fault never was
// active should no window come.
func (d *detectTally) add(in *Input, idx *spanIndex, faults *faultSet) {
	switch {
	case !d.given:
		d.given = true
		d.setFaults(faults)
	case d.version != faults.ver() || d.held.final != faults.settled():
		d.derive(faults) // the windows moved, or are final now
	}
	if d.plan == nil || (d.needsBackend() && idx == nil) {
		return
	}
	g := &detectGroup{detectTally: d, in: in, idx: idx}
	g.count()
	d.held.prune()
}

// detectGroup is the detect tally's working state over one group: the
// group's records, its backend index and its hop ledger, made on first use.
type detectGroup struct {
	*detectTally
	in  *Input
	idx *spanIndex // nil without read-back
	led *hopLedger
}

// detectJudge is one verdict of the detect tally: its stats, notes and the
// findings, copied before a rule adds what it settles only now.
type detectJudge struct {
	*detectTally
	stats map[string]float64
	found *findings
	owned bool // found is a copy the judge may add to
	// notes are added to Measured: what the check could not look at.
	notes []string
}

// own returns findings the judge may add to without changing the tally.
func (j *detectJudge) own() *findings {
	if !j.owned {
		j.found, j.owned = j.found.clone(), true
	}
	return j.found
}

// verdict decides and words the result.
func (d *detectTally) verdict() Verdict {
	v := Verdict{Check: string(topology.ExpectDetect), Subject: fmt.Sprintf("fault #%d", d.exp.Fault)}
	if d.plan == nil {
		v.Status = StatusNotRun
		v.Measured = "the effect of a planted fault inside versus outside its windows"
		v.Reason = fmt.Sprintf("fault #%d is not in the scenario (%d %s planned)", d.exp.Fault,
			len(d.planned), plural(len(d.planned), "fault", "faults"))
		return v
	}
	if d.version != d.faults.ver() {
		d.derive(d.faults) // windows changed since the last group
	}
	j := &detectJudge{detectTally: d, stats: make(map[string]float64), found: d.found}
	v.Subject = d.subject()
	v.Stats = j.stats
	j.stats["windows"] = float64(len(d.wins))
	if len(d.wins) > 0 && d.needsBackend() && !d.readBack {
		v.Status = StatusNotRun
		v.Measured = d.measured()
		v.Reason = fmt.Sprintf("detecting %s needs the backend's spans: %s", d.plan.Kind, d.noReadBack)
		return v
	}
	v.Expected = d.expected()
	var pass bool
	if len(d.wins) == 0 {
		v.Observed = fmt.Sprintf("fault #%d was never active: the run recorded no window for it", d.n)
		j.found = newFindings(d.faults)
	} else {
		pass, v.Observed = j.judge()
	}
	v.Measured = d.measured()
	if len(j.notes) > 0 {
		v.Measured += " (" + strings.Join(j.notes, "; ") + ")"
	}
	v.Findings = merge(j.found)
	j.stats["unexplained"] = countUnexplained(v.Findings)
	v.Status = StatusFail
	if pass {
		v.Status = StatusPass
	}
	return v
}

// needsBackend reports whether the kind cannot be decided from the ledger.
func (d *detectTally) needsBackend() bool {
	switch d.plan.Kind {
	case topology.FaultLatency, topology.FaultErrors, topology.FaultTimeout, topology.FaultClockSkew,
		topology.FaultExporterOutage, topology.FaultSlowBackend:
		return true
	}
	return false
}

// ledgerOnly notes that the backend half of a kind's rule was skipped.
func (j *detectJudge) ledgerOnly(what string) {
	if !j.readBack {
		j.notes = append(j.notes, "ledger only, "+what+" not checked: "+j.noReadBack)
	}
}

// count dispatches one group on the kind.
func (d *detectGroup) count() {
	switch d.plan.Kind {
	case topology.FaultLatency:
		d.latency()
	case topology.FaultErrors:
		d.errors()
	case topology.FaultTimeout, topology.FaultPartition:
		d.failingHops()
	case topology.FaultStripHeaders, topology.FaultCorruptTraceparent:
		d.edgeBreaks()
	case topology.FaultDuplicateHeader, topology.FaultTracestateOverflow, topology.FaultBaggageOverflow:
		d.headerObservation()
	case topology.FaultPropagatorSwitch:
		d.countServiceBreaks(&d.c.t)
	case topology.FaultUninstrument:
		d.uninstrument()
	case topology.FaultClockSkew:
		d.clockSkew()
	case topology.FaultExporterOutage:
		d.exporterOutage()
	case topology.FaultSlowBackend:
		d.slowBackend()
	case topology.FaultQueueOverflow:
		d.queueOverflow()
	case topology.FaultCrash, topology.FaultRestart:
		d.crash()
	case topology.FaultPause:
		d.pause()
	case topology.FaultBrokerOutage:
		d.brokerOutage()
	case topology.FaultPoison:
		d.poison()
	}
}

// judge dispatches the verdict on the kind.
func (j *detectJudge) judge() (bool, string) {
	switch j.plan.Kind {
	case topology.FaultLatency:
		return j.latency()
	case topology.FaultErrors:
		return j.errors()
	case topology.FaultTimeout, topology.FaultPartition:
		return j.failingHops()
	case topology.FaultStripHeaders, topology.FaultCorruptTraceparent:
		return j.presence(j.c.t, "breaks", "checked hops")
	case topology.FaultDuplicateHeader, topology.FaultTracestateOverflow, topology.FaultBaggageOverflow:
		return j.headerObservation()
	case topology.FaultPropagatorSwitch:
		return j.presence(j.c.t, "breaks", "checked hops into or out of "+j.tgt.Service)
	case topology.FaultUninstrument:
		return j.uninstrument()
	case topology.FaultClockSkew:
		return j.presence(j.c.t, "skewed pairs", "parent/child pairs across "+j.tgt.Service+"'s edges")
	case topology.FaultExporterOutage:
		return j.presence(j.c.t, "spans lost", "ended spans")
	case topology.FaultSlowBackend:
		return j.slowBackend()
	case topology.FaultQueueOverflow:
		return j.presence(j.c.t, "spans dropped in the SDK queue", "ended spans of "+targetName(j.tgt))
	case topology.FaultCrash, topology.FaultRestart:
		j.ledgerOnly("lost spans")
		return j.presence(j.c.t, "spans lost or hops not received", "spans and hops of "+targetName(j.tgt))
	case topology.FaultPause:
		return j.pause()
	case topology.FaultBrokerOutage:
		return j.presence(j.c.t, "publishes refused or held", "messages published to broker "+j.tgt.Broker+"'s topics")
	case topology.FaultPoison:
		return j.presence(j.c.t, "messages given up on", "messages published over "+targetName(j.tgt))
	}
	return false, "no detection rule for fault kind " + string(j.plan.Kind)
}

// windows renders the fault's windows for messages.
func (d *detectTally) windows() string {
	return fmt.Sprintf("fault #%d's %s (%s)", d.n, plural(len(d.wins), "window", "windows"), d.faults.windowList(d.wins))
}

// effectIn records one occurrence of the fault's effect in zone z, in f,
// and returns its zone. Outside, an effect that another fault explains by
// q (when q is not nil) moves to zoneOther, attributed to that fault.
func (d *detectTally) effectIn(f *findings, z zone, w *faultWin, at int64, q *query, subject, what string, ex func() string) zone {
	switch z {
	case zoneIn:
		f.add(subject, what+" within "+windowsMark, w.attr, ex).Status = FindingInfo
	case zoneOther:
		f.add(subject, what+" outside fault #"+itoa(d.n)+"'s windows, during another fault of the same kind", w.attr, ex).Status = FindingInfo
	case zoneOut:
		if q != nil {
			if a := d.faults.explainExcept(*q, at, d.n); a != attrUnexplained {
				f.add(subject, what+" outside fault #"+itoa(d.n)+"'s windows, explained by another fault", a, ex).Status = FindingInfo
				return zoneOther
			}
		}
		f.add(subject, what+" outside fault #"+itoa(d.n)+"'s windows", attrUnexplained, ex)
	}
	return z
}

// effect records, in the tally's findings, one occurrence of the fault's
// effect at t and returns its zone.
func (d *detectGroup) effect(z zone, w *faultWin, t int64, q *query, subject, what string, ex func() string) zone {
	return d.effectIn(d.found, z, w, t, q, subject, what, ex)
}

func itoa(n int) string { return strconv.Itoa(n) }

// rel renders t relative to the run's start.
func (d *detectTally) rel(at int64) string { return "at " + seconds(at-d.faults.runStart) }

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
func (j *detectJudge) stat(t tally) {
	j.stats["inside"] = float64(t.in)
	j.stats["outside"] = float64(t.out)
	j.stats["outside_other_faults"] = float64(t.other)
	j.stats["population_inside"] = float64(t.popIn)
	j.stats["population_outside"] = float64(t.popOut)
}

// presence is the rule of most kinds: at least one effect inside, none
// outside. It returns the verdict and Observed.
func (j *detectJudge) presence(t tally, effects, population string) (bool, string) {
	j.stat(t)
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

// ledger returns the group's resolved hop ledger.
func (d *detectGroup) ledger() *hopLedger {
	if d.led == nil {
		d.led = newHopLedger(d.in.Hops)
	}
	return d.led
}

// spanEx is evidence for one span.
func (d *detectTally) spanEx(s *record.Span) func() string {
	return func() string {
		return fmt.Sprintf("trace %s span %s (%s %s) %s", s.Trace, s.ID, s.Service, s.Name, d.rel(s.Start))
	}
}

// hopEx is evidence for one hop.
func (d *detectTally) hopEx(h *record.Hop, what string) func() string {
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
func (d *detectTally) targetServer(s *record.Span) bool {
	// A consume route's run is a consumer span, its server span.
	return (s.Kind == record.KindServer || s.Kind == record.KindConsumer) && s.Service == d.tgt.Service &&
		d.route.match(s) && d.instanceOK(s.Instance)
}

// instanceOK reports whether a span instance matches the target's.
func (d *detectTally) instanceOK(inst string) bool {
	return d.tgt.Instance < 0 || inst == instanceName(d.tgt.Service, d.tgt.Instance)
}

// hopToTarget reports whether h was sent to the target instance.
func (d *detectTally) hopToTarget(h *record.Hop) bool {
	return h.To == d.tgt.Service && (d.tgt.Instance < 0 || h.ToInstance == d.tgt.Instance)
}

// isTargetCaller reports whether h left the target service (instance).
func (d *detectTally) isTargetCaller(h *record.Hop) bool {
	return h.From == d.tgt.Service && (d.tgt.Instance < 0 || h.FromInstance == d.tgt.Instance)
}

// onEdge reports whether h crossed the target edge.
func (d *detectTally) onEdge(h *record.Hop) bool { return h.From == d.tgt.From && h.To == d.tgt.To }
