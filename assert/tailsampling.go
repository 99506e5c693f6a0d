package assert

import (
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// TailSampling checks what a tail-sampling collector between the services and the backend kept,
// against the ledger. The unit is a trace the ledger saw spans of (so its root was head-sampled);
// a trace is kept when any of its spans reached the backend, and whole when every one of its spans
// that the collector acknowledged receiving (the exporter's ExportOK) is there. Spans lost before
// the collector (dropped in the SDK queue, export failed) are the completeness check's business:
// they are counted in Stats, not held against the collector, and a trace none of whose spans
// reached the collector is left out.
//
//   - KeepErrors: every trace with a span of status error is kept, whole.
//   - KeepSlowerThan: every trace whose root span (no parent; without a root in the ledger, the
//     trace's extent from its first start to its last end) lasted longer, in whole milliseconds,
//     is kept, whole. The collector's latency policy compares whole milliseconds (a trace of
//     100.6ms is 100ms to it, not over threshold_ms: 100), so a root over the threshold by less
//     than a millisecond is borderline, like a root within it whose trace's extent is not.
//   - Probabilistic: among the other traces (no error span when KeepErrors, and an extent of at
//     most KeepSlowerThan when set, so that no latency decision can be involved), the share kept
//     k/n is tested with the Wilson score interval at Confidence (default 0.99) around k/n: the
//     check passes when the interval contains Probabilistic. Borderline traces are left out of
//     both and counted apart.
//   - Always: no kept trace is partial.
//
// Without read-back the check does not run.
func TailSampling(in Input, exp topology.TailSamplingExpect) Verdict {
	return Run(in, []topology.Expect{{Kind: topology.ExpectTailSampling, TailSampling: exp}})[0]
}

// expectedTailSampling renders the expectation.
func expectedTailSampling(exp topology.TailSamplingExpect, conf float64) string {
	var expected []string
	if exp.KeepErrors {
		expected = append(expected, "every trace with an error span kept whole")
	}
	if exp.KeepSlowerThan > 0 {
		expected = append(expected, fmt.Sprintf("every trace whose root lasted over %s kept whole", exp.KeepSlowerThan))
	}
	if exp.Probabilistic > 0 {
		expected = append(expected, fmt.Sprintf("%s of the other traces kept (within the %s Wilson score interval of the observed share)",
			tailPct(exp.Probabilistic), tailPct(conf)))
	}
	expected = append(expected, "no kept trace partial")
	return strings.Join(expected, "; ")
}

// tailTally is the tail-sampling check judged group by group. A group
// holds whole traces, so whether a trace reached the collector, was kept
// and is whole is settled inside one group; across groups the tally keeps
// counters and findings.
type tailTally struct {
	exp      topology.TailSamplingExpect
	conf     float64
	readBack bool
	notRun   string // why it does not run without read-back
	// faults and found are set on the first group, which brings the fault
	// set that names the findings' attributions.
	faults *faultSet
	found  *findings

	// The subjects of the findings of each rule.
	errSubject, slowSubject, otherSubject string
	slowDropped                           string // the finding of a slow trace dropped

	n tailCounts
}

// tailCounts counts the traces the check judged.
type tailCounts struct {
	traces       int // reached the collector
	notDelivered int // of the ledger's, none of whose spans reached the collector
	lostBefore   int // spans lost before the collector
	unknown      int // traces in the backend that the ledger does not know
	allPartial   int // kept traces missing spans, whatever the rule
	borderline   int // slow by their extent or by under a millisecond only
	err          ruleTally
	slow         ruleTally
	other        ruleTally
}

// ruleTally counts the traces one rule judged.
type ruleTally struct {
	n, kept, partial int
}

// newTailTally returns the tail-sampling tally for a run with base's static
// evidence.
func newTailTally(exp topology.TailSamplingExpect, base *Input) *tailTally {
	conf := exp.Confidence
	if conf <= 0 || conf >= 1 {
		conf = topology.DefaultConfidence
	}
	c := &tailTally{exp: exp, conf: conf, readBack: base.ReadBack, notRun: noReadBack(*base)}
	c.errSubject = "keep-errors"
	c.slowSubject = fmt.Sprintf("keep-slower-than %s", exp.KeepSlowerThan)
	c.slowDropped = fmt.Sprintf("trace whose root lasted over %s dropped", exp.KeepSlowerThan)
	c.otherSubject = "other traces"
	if exp.Probabilistic > 0 {
		c.otherSubject = fmt.Sprintf("probabilistic %s", tailPct(exp.Probabilistic))
	}
	return c
}

// add judges the traces of one group: the ledger's, against what of them
// reached the backend. Without read-back there is nothing to compare.
func (c *tailTally) add(in *Input, _ *spanIndex, faults *faultSet) {
	if !c.readBack {
		return
	}
	if c.found == nil {
		c.faults, c.found = faults, newFindings(faults)
	}
	traces, order := tailTraces(in.Ended)
	arrived := make(map[tailSpanKey]struct{}, len(in.Backend))
	keptIDs := make(map[record.TraceID]struct{})
	for i := range in.Backend {
		sp := &in.Backend[i]
		arrived[tailSpanKey{sp.Trace, sp.ID}] = struct{}{}
		keptIDs[sp.Trace] = struct{}{}
	}
	for _, id := range order {
		t := traces[id]
		_, t.kept = keptIDs[id]
	}
	for _, e := range in.Ended {
		t := traces[e.Trace]
		if e.Export != record.ExportOK {
			continue
		}
		if _, ok := arrived[tailSpanKey{e.Trace, e.ID}]; ok {
			t.present++
		} else if !t.missing.ID.IsValid() {
			t.missing = e.Span
		}
	}
	for id := range keptIDs {
		if _, ok := traces[id]; !ok {
			c.n.unknown++
		}
	}
	for _, id := range order {
		c.judge(traces[id])
	}
}

// judge sorts a trace that reached the collector under the rule that
// decides it, first match first: an error span, a slow root, borderline,
// or the others.
func (c *tailTally) judge(t *tailTrace) {
	exp := c.exp
	c.n.lostBefore += t.ended - t.delivered
	if t.delivered == 0 {
		c.n.notDelivered++
		return
	}
	c.n.traces++
	isPartial := t.kept && t.present < t.delivered
	if isPartial {
		c.n.allPartial++
	}
	switch {
	case exp.KeepErrors && t.hasError:
		c.mustKeep(&c.n.err, c.errSubject, "trace with an error span dropped", t, isPartial, (*tailTrace).example)
	case exp.KeepSlowerThan > 0 && t.rootDur.Truncate(time.Millisecond) > exp.KeepSlowerThan:
		c.mustKeep(&c.n.slow, c.slowSubject, c.slowDropped, t, isPartial, (*tailTrace).rootExample)
	case exp.KeepSlowerThan > 0 && t.extent > exp.KeepSlowerThan:
		// Not slow in whole milliseconds, or the root was not slow but the trace as the
		// collector sees it (first start to last end) was: the latency policy may have
		// kept it either way.
		c.n.borderline++
		if isPartial {
			c.partial(c.otherSubject, t)
		}
	default:
		c.n.other.n++
		if t.kept {
			c.n.other.kept++
			if isPartial {
				c.n.other.partial++
				c.partial(c.otherSubject, t)
			}
		}
	}
}

// mustKeep judges t under a rule that keeps it whole: a finding on
// subject when it was dropped (with an example made by example) or kept
// partial.
func (c *tailTally) mustKeep(r *ruleTally, subject, dropped string, t *tailTrace, isPartial bool, example func(*tailTrace) string) {
	r.n++
	if !t.kept {
		c.found.add(subject, dropped, c.faults.unexplained(), func() string { return example(t) })
		return
	}
	r.kept++
	if isPartial {
		r.partial++
		c.partial(subject, t)
	}
}

// partial notes that the kept trace t misses spans the collector received.
func (c *tailTally) partial(subject string, t *tailTrace) {
	c.found.add(subject, "kept trace partial: spans the collector received are missing from the backend",
		c.faults.loss(t.missing.Service, t.missing.Instance, t.missing.End), func() string {
			return fmt.Sprintf("%s (%d of %d spans; missing %s %q)", t.id, t.present, t.delivered, t.missing.Service, t.missing.Name)
		})
}

// verdict decides and words the result.
func (c *tailTally) verdict() Verdict {
	v := Verdict{Check: string(topology.ExpectTailSampling), Stats: make(map[string]float64)}
	v.Expected = expectedTailSampling(c.exp, c.conf)
	v.Measured = "the ledger's head-sampled traces against the backend behind the collector: which were kept (any span arrived) and whether whole (every span the collector received arrived)"
	if !c.readBack {
		v.Status = StatusNotRun
		v.Reason = c.notRun
		return v
	}
	n := &c.n
	s := v.Stats
	s["traces"] = float64(n.traces)
	s["traces_not_delivered"] = float64(n.notDelivered)
	s["spans_lost_before_collector"] = float64(n.lostBefore)
	s["partial_traces"] = float64(n.allPartial)
	s["backend_traces_unknown"] = float64(n.unknown)
	s["confidence"] = c.conf
	if n.traces == 0 {
		v.Status = StatusNotRun
		v.Reason = "no head-sampled trace reached the collector: the ledger has nothing to compare"
		if n.notDelivered > 0 {
			v.Reason = fmt.Sprintf("none of the %d head-sampled traces reached the collector (every span lost before it)", n.notDelivered)
		}
		return v
	}
	observed, failed := c.keepRules(s)
	o, outside := c.share(s)
	observed = append(observed, o)
	failed = failed || outside != nil || n.allPartial > 0
	if n.lostBefore > 0 {
		observed = append(observed, fmt.Sprintf("%d spans lost before the collector, not counted against it", n.lostBefore))
	}
	v.Observed = strings.Join(observed, "; ")
	v.Findings = c.findings(outside)
	v.Status = StatusPass
	if failed {
		v.Status = StatusFail
	}
	return v
}

// findings lists the findings with, when the share is outside its
// interval, the finding saying so (share sets its count). The collector is
// copied so that the tally stays as it was.
func (c *tailTally) findings(outside *Finding) []Finding {
	if outside == nil {
		return c.found.list()
	}
	found := &findings{byKey: maps.Clone(c.found.byKey), faults: c.found.faults, status: c.found.status, expand: c.found.expand}
	// The share's message is written nowhere else, so add makes a new
	// Finding rather than counting into one the tally holds.
	f := found.add(c.otherSubject, outside.Message, c.faults.unexplained(), nil)
	f.Count, f.Of = outside.Count, outside.Of
	return found.list()
}

// keepRules describes the traces the error and latency rules had to keep
// into s, and reports whether any was dropped or partial.
func (c *tailTally) keepRules(s map[string]float64) (observed []string, failed bool) {
	n := &c.n
	if c.exp.KeepErrors {
		e := n.err
		s["error_traces"], s["error_kept"], s["error_partial"] = float64(e.n), float64(e.kept), float64(e.partial)
		failed = failed || e.kept < e.n || e.partial > 0
		observed = append(observed, fmt.Sprintf("%d of %d error traces kept, %d partial", e.kept, e.n, e.partial))
	}
	if c.exp.KeepSlowerThan > 0 {
		sl := n.slow
		s["slow_traces"], s["slow_kept"], s["slow_partial"] = float64(sl.n), float64(sl.kept), float64(sl.partial)
		s["borderline_traces"] = float64(n.borderline)
		failed = failed || sl.kept < sl.n || sl.partial > 0
		o := fmt.Sprintf("%d of %d slow traces kept, %d partial", sl.kept, sl.n, sl.partial)
		if n.borderline > 0 {
			o += fmt.Sprintf(" (%d borderline traces, over the threshold by under a millisecond or only by their extent, left out of the share)", n.borderline)
		}
		observed = append(observed, o)
	}
	return observed, failed
}

// share describes the other traces into s and, with a probabilistic
// expectation, tests their kept share; when the share is outside the
// interval it returns the finding's message, count and out of how many.
func (c *tailTally) share(s map[string]float64) (observed string, outside *Finding) {
	o, exp, conf := c.n.other, c.exp, c.conf
	s["other_traces"], s["other_kept"], s["other_partial"] = float64(o.n), float64(o.kept), float64(o.partial)
	if o.n > 0 {
		s["other_share"] = float64(o.kept) / float64(o.n)
	}
	if exp.Probabilistic <= 0 {
		return fmt.Sprintf("%d of %d other traces kept, %d partial", o.kept, o.n, o.partial), nil
	}
	s["expected_share"] = exp.Probabilistic
	if o.n == 0 {
		return "no other traces to measure the probabilistic share on", nil
	}
	lo, hi := wilson(o.kept, o.n, conf)
	s["interval_lo"], s["interval_hi"] = lo, hi
	inside := exp.Probabilistic >= lo && exp.Probabilistic <= hi
	verb := "contains"
	if !inside {
		verb = "excludes"
		outside = &Finding{Message: fmt.Sprintf("kept share %s outside the expected %s: %s Wilson interval %s–%s",
			tailPct(s["other_share"]), tailPct(exp.Probabilistic), tailPct(conf), tailPct(lo), tailPct(hi)), Count: o.kept, Of: o.n}
	}
	return fmt.Sprintf("%d of %d other traces kept = %s (%s Wilson interval %s–%s %s %s), %d partial",
		o.kept, o.n, tailPct(s["other_share"]), tailPct(conf), tailPct(lo), tailPct(hi), verb, tailPct(exp.Probabilistic), o.partial), outside
}

// tailSpanKey identifies a span across traces.
type tailSpanKey struct {
	trace record.TraceID
	span  record.SpanID
}

// tailTrace is what the tail-sampling check knows of one ledger trace.
type tailTrace struct {
	id        record.TraceID
	ended     int // spans the ledger saw end
	delivered int // of which the collector acknowledged
	present   int // of those, found in the backend
	hasError  bool
	rootDur   time.Duration // the root span's length; without a root, the extent
	extent    time.Duration // first start to last end
	kept      bool
	missing   record.Span // the first delivered span not in the backend
}

func (t *tailTrace) example() string { return t.id.String() }

// rootExample is t with the length of its root.
func (t *tailTrace) rootExample() string {
	return fmt.Sprintf("%s (root %s)", t.id, t.rootDur.Round(time.Millisecond))
}

// tailTraces groups the ledger's ended spans by trace, in first-seen order.
func tailTraces(ended []record.Ended) (map[record.TraceID]*tailTrace, []record.TraceID) {
	type acc struct {
		minStart, maxEnd int64
		root             bool
	}
	traces := make(map[record.TraceID]*tailTrace)
	accs := make(map[record.TraceID]*acc)
	var order []record.TraceID
	for i := range ended {
		e := &ended[i]
		t := traces[e.Trace]
		a := accs[e.Trace]
		if t == nil {
			t = &tailTrace{id: e.Trace}
			a = &acc{minStart: e.Start, maxEnd: e.End}
			traces[e.Trace], accs[e.Trace] = t, a
			order = append(order, e.Trace)
		}
		t.ended++
		if e.Export == record.ExportOK {
			t.delivered++
		}
		if e.Status == record.StatusError {
			t.hasError = true
		}
		a.minStart, a.maxEnd = min(a.minStart, e.Start), max(a.maxEnd, e.End)
		if !e.Parent.IsValid() && !a.root {
			a.root = true
			t.rootDur = time.Duration(e.End - e.Start)
		}
	}
	for id, t := range traces {
		a := accs[id]
		t.extent = time.Duration(a.maxEnd - a.minStart)
		if !a.root {
			t.rootDur = t.extent
		}
	}
	return traces, order
}

// pct formats a share as a percentage with up to one decimal.
func tailPct(x float64) string {
	s := fmt.Sprintf("%.1f", 100*x)
	return strings.TrimSuffix(s, ".0") + "%"
}
