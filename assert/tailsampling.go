package assert

import (
	"fmt"
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

func tailSampling(in Input, exp topology.TailSamplingExpect) Verdict {
	v := Verdict{Check: string(topology.ExpectTailSampling), Stats: make(map[string]float64)}
	conf := exp.Confidence
	if conf <= 0 || conf >= 1 {
		conf = topology.DefaultConfidence
	}
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
	v.Expected = strings.Join(expected, "; ")
	v.Measured = "the ledger's head-sampled traces against the backend behind the collector: which were kept (any span arrived) and whether whole (every span the collector received arrived)"
	if !in.ReadBack {
		v.Status = StatusNotRun
		v.Reason = in.NoReadBack
		if v.Reason == "" {
			v.Reason = "no backend read-back"
		}
		return v
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

	faults := newFaultSet(in)
	found := newFindings(faults)
	var (
		nTraces, notDelivered, lostBefore, unknown              int
		errN, errKept, errPartial                               int
		slowN, slowKept, slowPartial                            int
		otherN, otherKept, otherPartial, borderline, allPartial int
	)
	for id := range keptIDs {
		if _, ok := traces[id]; !ok {
			unknown++
		}
	}
	partial := func(subject string, t *tailTrace) {
		found.add(subject, "kept trace partial: spans the collector received are missing from the backend",
			faults.loss(t.missing.Service, t.missing.Instance, t.missing.End), func() string {
				return fmt.Sprintf("%s (%d of %d spans; missing %s %q)", t.id, t.present, t.delivered, t.missing.Service, t.missing.Name)
			})
	}
	errSubject := "keep-errors"
	slowSubject := fmt.Sprintf("keep-slower-than %s", exp.KeepSlowerThan)
	otherSubject := "other traces"
	if exp.Probabilistic > 0 {
		otherSubject = fmt.Sprintf("probabilistic %s", tailPct(exp.Probabilistic))
	}
	for _, id := range order {
		t := traces[id]
		lostBefore += t.ended - t.delivered
		if t.delivered == 0 {
			notDelivered++
			continue
		}
		nTraces++
		isPartial := t.kept && t.present < t.delivered
		if isPartial {
			allPartial++
		}
		switch {
		case exp.KeepErrors && t.hasError:
			errN++
			if !t.kept {
				found.add(errSubject, "trace with an error span dropped", faults.unexplained(), t.example)
				continue
			}
			errKept++
			if isPartial {
				errPartial++
				partial(errSubject, t)
			}
		case exp.KeepSlowerThan > 0 && t.rootDur.Truncate(time.Millisecond) > exp.KeepSlowerThan:
			slowN++
			if !t.kept {
				found.add(slowSubject, fmt.Sprintf("trace whose root lasted over %s dropped", exp.KeepSlowerThan), faults.unexplained(), func() string {
					return fmt.Sprintf("%s (root %s)", t.id, t.rootDur.Round(time.Millisecond))
				})
				continue
			}
			slowKept++
			if isPartial {
				slowPartial++
				partial(slowSubject, t)
			}
		case exp.KeepSlowerThan > 0 && t.extent > exp.KeepSlowerThan:
			// Not slow in whole milliseconds, or the root was not slow but the trace as the
			// collector sees it (first start to last end) was: the latency policy may have
			// kept it either way.
			borderline++
			if isPartial {
				partial(otherSubject, t)
			}
		default:
			otherN++
			if t.kept {
				otherKept++
				if isPartial {
					otherPartial++
					partial(otherSubject, t)
				}
			}
		}
	}

	s := v.Stats
	s["traces"] = float64(nTraces)
	s["traces_not_delivered"] = float64(notDelivered)
	s["spans_lost_before_collector"] = float64(lostBefore)
	s["partial_traces"] = float64(allPartial)
	s["backend_traces_unknown"] = float64(unknown)
	s["confidence"] = conf
	if nTraces == 0 {
		v.Status = StatusNotRun
		v.Reason = "no head-sampled trace reached the collector: the ledger has nothing to compare"
		if notDelivered > 0 {
			v.Reason = fmt.Sprintf("none of the %d head-sampled traces reached the collector (every span lost before it)", notDelivered)
		}
		return v
	}

	failed := false
	var observed []string
	if exp.KeepErrors {
		s["error_traces"], s["error_kept"], s["error_partial"] = float64(errN), float64(errKept), float64(errPartial)
		failed = failed || errKept < errN || errPartial > 0
		observed = append(observed, fmt.Sprintf("%d of %d error traces kept, %d partial", errKept, errN, errPartial))
	}
	if exp.KeepSlowerThan > 0 {
		s["slow_traces"], s["slow_kept"], s["slow_partial"] = float64(slowN), float64(slowKept), float64(slowPartial)
		s["borderline_traces"] = float64(borderline)
		failed = failed || slowKept < slowN || slowPartial > 0
		o := fmt.Sprintf("%d of %d slow traces kept, %d partial", slowKept, slowN, slowPartial)
		if borderline > 0 {
			o += fmt.Sprintf(" (%d borderline traces, over the threshold by under a millisecond or only by their extent, left out of the share)", borderline)
		}
		observed = append(observed, o)
	}
	s["other_traces"], s["other_kept"], s["other_partial"] = float64(otherN), float64(otherKept), float64(otherPartial)
	if otherN > 0 {
		s["other_share"] = float64(otherKept) / float64(otherN)
	}
	if exp.Probabilistic > 0 {
		s["expected_share"] = exp.Probabilistic
		if otherN == 0 {
			observed = append(observed, "no other traces to measure the probabilistic share on")
		} else {
			lo, hi := wilson(otherKept, otherN, conf)
			s["interval_lo"], s["interval_hi"] = lo, hi
			inside := exp.Probabilistic >= lo && exp.Probabilistic <= hi
			verb := "contains"
			if !inside {
				verb = "excludes"
				failed = true
				f := found.add(otherSubject, fmt.Sprintf("kept share %s outside the expected %s: %s Wilson interval %s–%s",
					tailPct(s["other_share"]), tailPct(exp.Probabilistic), tailPct(conf), tailPct(lo), tailPct(hi)), faults.unexplained(), nil)
				f.Count, f.Of = otherKept, otherN
			}
			observed = append(observed, fmt.Sprintf("%d of %d other traces kept = %s (%s Wilson interval %s–%s %s %s), %d partial",
				otherKept, otherN, tailPct(s["other_share"]), tailPct(conf), tailPct(lo), tailPct(hi), verb, tailPct(exp.Probabilistic), otherPartial))
		}
	} else {
		observed = append(observed, fmt.Sprintf("%d of %d other traces kept, %d partial", otherKept, otherN, otherPartial))
	}
	if allPartial > 0 {
		failed = true
	}
	if lostBefore > 0 {
		observed = append(observed, fmt.Sprintf("%d spans lost before the collector, not counted against it", lostBefore))
	}
	v.Observed = strings.Join(observed, "; ")
	v.Findings = found.list()
	v.Status = StatusPass
	if failed {
		v.Status = StatusFail
	}
	return v
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
