package assert

import (
	"fmt"
	"time"

	"github.com/tracerig/tracerig/internal/durfmt"
	"github.com/tracerig/tracerig/topology"
)

// Completeness compares the ledger with the backend span by span: each span
// that ended sampled is delivered exactly once, duplicated, or missing, and
// a missing span is attributed to the stage that lost it (SDK queue, export,
// backend). It also counts partial traces and spans the ledger does not
// know, and measures how long traces took to become queryable. It does not
// run without a backend read-back.
func Completeness(in Input, exp topology.CompletenessExpect) Verdict {
	return Run(in, []topology.Expect{{Kind: topology.ExpectCompleteness, Completeness: exp}})[0]
}

// compCounts are the completeness check's counters, summed over groups.
type compCounts struct {
	ended, once, dups, copies   int // spans ended; delivered once; duplicated; their extra copies
	pending, failed, backend    int // spans missing by stage: SDK queue, export, backend
	traces, partial, tracesLost int // ledger traces; of them partial; absent from the backend
	unexpected, backendSpans    int // backend spans the ledger does not know; all distinct backend spans
}

// compTally is the completeness check judged group by group. A trace and
// all its spans are in one group, so partial traces and spans the ledger
// does not know are settled inside a group; what it keeps across groups
// grows with services, export failure reasons and fault windows, and the
// queryable delays with traces only up to distCap (see dist).
type compTally struct {
	exp      topology.CompletenessExpect
	readBack bool
	notRun   string // why it does not run without read-back
	n        compCounts
	endedBy  map[string]int // ended spans per ledger service
	// failed counts the spans lost on export by reason, then service.
	failed map[string]map[string]int
	// losses and other collect findings; made on the first group, which
	// brings the fault set that names their attributions.
	losses, other *findings
	faults        *faultSet // nil without faults
	queryable     dist      // per trace, its delay until queryable (ns)
	// real judges the traces the run started in external entries, for a
	// run with no ledger inside them (see realTally).
	real realTally
}

// newCompTally returns the completeness tally for a run with base's static
// evidence.
func newCompTally(exp topology.CompletenessExpect, base *Input) *compTally {
	return &compTally{
		exp:      exp,
		readBack: base.ReadBack,
		notRun:   noReadBack(*base),
		endedBy:  make(map[string]int),
		failed:   make(map[string]map[string]int),
		real:     newRealTally(base.Topology),
	}
}

// add judges one group; without read-back (idx nil) there is nothing to
// compare.
func (t *compTally) add(in *Input, idx *spanIndex, faults *faultSet) {
	if idx == nil {
		return
	}
	if t.losses == nil {
		t.faults = faults
		t.losses, t.other = newFindings(faults), newInfo(faults)
	}
	g := newCompGroup(t, in, idx)
	g.match()
	g.partial()
	g.unexpected()
	g.queryable()
	t.real.add(in, idx, faults)
	t.n.backendSpans += len(idx.ents)
}

// expectedCompleteness renders the expectation.
func expectedCompleteness(exp topology.CompletenessExpect) string {
	s := fmt.Sprintf("at least %s of ended spans delivered exactly once", percent(exp.Min))
	if exp.Within > 0 {
		s += fmt.Sprintf("; p99 time until queryable at most %s", exp.Within)
	}
	return s
}

// ratio is the share of ended spans delivered exactly once; 1 when none
// ended.
func (t *compTally) ratio() float64 {
	if t.n.ended == 0 {
		return 1
	}
	return float64(t.n.once) / float64(t.n.ended)
}

// stats returns the counters as a verdict's stats.
func (t *compTally) stats() map[string]float64 {
	n := &t.n
	s := map[string]float64{
		"spans_ended":       float64(n.ended),
		"delivered":         float64(n.once + n.dups),
		"delivered_once":    float64(n.once),
		"duplicates":        float64(n.dups),
		"duplicate_copies":  float64(n.copies),
		"missing":           float64(n.pending + n.failed + n.backend),
		"missing_sdk_queue": float64(n.pending),
		"missing_export":    float64(n.failed),
		"missing_backend":   float64(n.backend),
		"completeness":      t.ratio(),
		"traces":            float64(n.traces),
		"partial_traces":    float64(n.partial),
		"traces_lost":       float64(n.tracesLost),
		"unexpected":        float64(n.unexpected),
	}
	if q := &t.queryable; q.count() > 0 {
		s["queryable_traces"] = float64(q.count())
		s["queryable_p50_seconds"] = time.Duration(q.quantile(0.50)).Seconds()
		s["queryable_p99_seconds"] = time.Duration(q.quantile(0.99)).Seconds()
	}
	return s
}

// findings returns the findings, each per-service one out of the spans its
// service ended and a partial trace out of the run's traces.
func (t *compTally) findings() []Finding {
	if t.losses == nil {
		return nil
	}
	losses, other := t.losses.list(), t.other.list()
	for i := range losses {
		losses[i].Of = t.endedBy[losses[i].Subject]
	}
	for i := range other {
		f := &other[i]
		switch {
		case f.Message == compUnknownMsg: // not out of anything
		case f.Subject == compTracesSubject:
			f.Of = t.n.traces
		default:
			f.Of = t.endedBy[f.Subject]
		}
	}
	return append(losses, other...)
}

// verdict decides and words the result.
func (t *compTally) verdict() Verdict {
	v := Verdict{
		Check:    string(topology.ExpectCompleteness),
		Expected: expectedCompleteness(t.exp),
	}
	if !t.readBack {
		v.Status = StatusNotRun
		v.Measured = "ledger versus backend, span by span"
		v.Reason = t.notRun
		return v
	}
	n := &t.n
	v.Stats = t.stats()
	v.Findings = t.findings()
	v.Stats["unexplained"] = countUnexplained(v.Findings)
	v.Measured = fmt.Sprintf("ledger versus backend, span by span, over %d ended spans in %d traces", n.ended, n.traces)
	q := &t.queryable
	if q.folded() {
		v.Measured += fmt.Sprintf("; time until queryable over %d traces, its quantiles within %s",
			q.count(), percent(distError))
	}
	if n.ended == 0 && t.real.started > 0 {
		t.real.verdict(&v, t.exp, n.backendSpans)
		return v
	}
	if n.ended == 0 {
		v.Status = StatusFail
		v.Observed = fmt.Sprintf("no spans ended: the run produced nothing to check (backend holds %d spans)", n.backendSpans)
		return v
	}
	v.Observed = fmt.Sprintf("%s delivered exactly once (%d of %d); missing: %d dropped in SDK queue, %d export failed%s, %d lost in the backend; %d duplicated; %d partial %s; %d unexpected",
		percent(t.ratio()), n.once, n.ended, n.pending, n.failed, t.failedSummary(), n.backend,
		n.dups, n.partial, plural(n.partial, "trace", "traces"), n.unexpected)
	v.Observed += attributionSummary(t.faults, v.Findings)
	var p99 time.Duration
	if q.count() > 0 {
		p50 := time.Duration(q.quantile(0.50))
		p99 = time.Duration(q.quantile(0.99))
		v.Observed += fmt.Sprintf("; queryable p50 %s, p99 %s", durfmt.Human(p50), durfmt.Human(p99))
	} else {
		v.Observed += "; time until queryable not measured (the backend gives no arrival times)"
	}
	v.Status = StatusPass
	if t.ratio() < t.exp.Min || (t.exp.Within > 0 && q.count() > 0 && p99 > t.exp.Within) {
		v.Status = StatusFail
	}
	return v
}

// percent renders a ratio as a percentage without false precision.
func percent(r float64) string {
	return fmt.Sprintf("%.4g%%", r*100)
}
