package assert

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

// Completeness compares the ledger with the backend span by span: each span
// that ended sampled is delivered exactly once, duplicated, or missing, and
// a missing span is attributed to the stage that lost it (SDK queue, export,
// backend). It also counts partial traces and spans the ledger does not
// know, and measures how long traces took to become queryable. It does not
// run without a backend read-back.
func Completeness(in Input, exp topology.CompletenessExpect) Verdict {
	return Run(in, []topology.Expect{{Kind: topology.ExpectCompleteness, Completeness: exp}})[0]
}

// traceTally is what completeness learns about one backend trace.
type traceTally struct {
	maxEnd    int64       // latest End of its ledger spans
	known     bool        // the ledger has spans of it
	delivered bool        // at least one ledger span arrived
	missing   bool        // at least one ledger span did not
	why       attribution // what explains its first missing span
}

// compCheck is one run of the completeness check.
type compCheck struct {
	in     Input
	idx    *spanIndex
	seen   []bool // per backend entry: the ledger knows it
	traces []traceTally
	lost   map[record.TraceID]bool // ledger traces absent from the backend
	names  interner                // ledger service names
	ended  []int                   // ended spans per ledger service
	losses *findings
	other  *findings
	faults *faultSet // nil without faults
	stats  map[string]float64
	// failed counts the spans lost on export by reason, then service.
	failed map[string]map[string]int
}

func completeness(in Input, exp topology.CompletenessExpect, idx *spanIndex, faults *faultSet) Verdict {
	v := Verdict{
		Check:    string(topology.ExpectCompleteness),
		Expected: expectedCompleteness(exp),
	}
	if idx == nil {
		v.Status = StatusNotRun
		v.Measured = "ledger versus backend, span by span"
		v.Reason = noReadBack(in)
		return v
	}
	c := &compCheck{
		in:     in,
		idx:    idx,
		seen:   make([]bool, len(idx.ents)),
		traces: make([]traceTally, idx.numTraces()),
		lost:   make(map[record.TraceID]bool),
		names:  newInterner(),
		losses: newFindings(faults),
		other:  newInfo(faults),
		faults: faults,
		stats:  make(map[string]float64),
		failed: make(map[string]map[string]int),
	}
	c.match()
	c.partial()
	c.unexpected()
	p50, p99, ok := c.queryable()
	return c.verdict(v, exp, p50, p99, ok)
}

// expectedCompleteness renders the expectation.
func expectedCompleteness(exp topology.CompletenessExpect) string {
	s := fmt.Sprintf("at least %s of ended spans delivered exactly once", percent(exp.Min))
	if exp.Within > 0 {
		s += fmt.Sprintf("; p99 time until queryable at most %s", exp.Within)
	}
	return s
}

// match looks every ended span up in the backend and sorts it into
// delivered once, duplicated, or missing by stage.
func (c *compCheck) match() {
	var once, dups, copies, pending, failed, backend int
	var last record.TraceID
	lastT, lastOK := int32(-1), false
	for i := range c.in.Ended {
		e := &c.in.Ended[i]
		svc := c.names.id(e.Service)
		for int(svc) >= len(c.ended) {
			c.ended = append(c.ended, 0)
		}
		c.ended[svc]++
		if i == 0 || e.Trace != last {
			last = e.Trace
			lastT, lastOK = c.idx.trace(e.Trace)
		}
		if lastOK {
			tt := &c.traces[lastT]
			tt.known = true
			tt.maxEnd = max(tt.maxEnd, e.End)
			if j, ok := c.idx.find(lastT, e.ID); ok {
				tt.delivered = true
				c.seen[j] = true
				if n := int(c.idx.ents[j].copies); n > 1 {
					dups++
					copies += n - 1
					f := c.other.add(e.Service, "delivered more than once", c.faults.duplicate(e.End), func() string {
						return fmt.Sprintf("trace %s span %s (%s) ×%d", e.Trace, e.ID, e.Name, n)
					})
					f.Status = FindingFailing // not delivered exactly once
				} else {
					once++
				}
				continue
			}
			tt.missing = true
			if tt.why == attrNone {
				tt.why = c.faults.loss(e.Service, e.Instance, e.End)
			}
		} else {
			c.lost[e.Trace] = true
		}
		switch e.Export {
		case record.ExportPending:
			pending++
		case record.ExportFailed:
			failed++
			c.countFailed(e)
		default:
			backend++
		}
		c.losses.add(e.Service, c.lossMessage(e), c.faults.loss(e.Service, e.Instance, e.End), func() string {
			return fmt.Sprintf("trace %s span %s (%s)", e.Trace, e.ID, e.Name)
		})
	}
	c.setOf(c.losses)
	c.setOf(c.other)
	c.stats["spans_ended"] = float64(len(c.in.Ended))
	c.stats["delivered"] = float64(once + dups)
	c.stats["delivered_once"] = float64(once)
	c.stats["duplicates"] = float64(dups)
	c.stats["duplicate_copies"] = float64(copies)
	c.stats["missing"] = float64(pending + failed + backend)
	c.stats["missing_sdk_queue"] = float64(pending)
	c.stats["missing_export"] = float64(failed)
	c.stats["missing_backend"] = float64(backend)
	ratio := 1.0
	if n := len(c.in.Ended); n > 0 {
		ratio = float64(once) / float64(n)
	}
	c.stats["completeness"] = ratio
}

// lossMessage names the stage that lost a span, for an export the reasons
// it failed for in the span's service, and for the backend the cause when
// one is known.
func (c *compCheck) lossMessage(e *record.Ended) string {
	switch e.Export {
	case record.ExportPending:
		return "dropped in SDK queue"
	case record.ExportFailed:
		if e.ExportReason != "" {
			return "export failed: " + e.ExportReason
		}
		return "export failed"
	}
	if c.in.BackendLoss != "" {
		return "lost in the backend: " + c.in.BackendLoss
	}
	return "lost in the backend (exported, never arrived)"
}

// reasonUnknown stands for the reason of a failed export the ledger did not
// record.
const reasonUnknown = "reason not recorded"

// countFailed counts a span lost on export under its reason and service.
func (c *compCheck) countFailed(e *record.Ended) {
	reason := e.ExportReason
	if reason == "" {
		reason = reasonUnknown
	}
	at := c.failed[reason]
	if at == nil {
		at = make(map[string]int)
		c.failed[reason] = at
	}
	at[e.Service]++
}

// failedSummary says why exports failed, reason by reason from the most
// spans, with where: " (grpc Unauthenticated: 100 at checkout, connection
// refused: 30 (20 at cart, 10 at web))"; "" when none failed or no
// reason was recorded (a ledger from before reasons were). A reason names
// its first three services.
func (c *compCheck) failedSummary() string {
	if _, unknown := c.failed[reasonUnknown]; unknown && len(c.failed) == 1 {
		return ""
	}
	type count struct {
		name  string
		spans int
	}
	byCount := func(a, b count) int { return cmp.Or(b.spans-a.spans, cmp.Compare(a.name, b.name)) }
	var reasons []count
	for r, at := range c.failed {
		n := 0
		for _, k := range at {
			n += k
		}
		reasons = append(reasons, count{r, n})
	}
	slices.SortFunc(reasons, byCount)
	parts := make([]string, 0, len(reasons))
	for _, r := range reasons {
		var at []count
		for svc, n := range c.failed[r.name] {
			at = append(at, count{svc, n})
		}
		slices.SortFunc(at, byCount)
		if len(at) == 1 {
			parts = append(parts, fmt.Sprintf("%s: %d at %s", r.name, r.spans, at[0].name))
			continue
		}
		where := make([]string, 0, 4)
		for i, a := range at {
			if i == 3 {
				n := len(at) - i
				where = append(where, fmt.Sprintf("%d more %s", n, plural(n, "service", "services")))
				break
			}
			where = append(where, fmt.Sprintf("%d at %s", a.spans, a.name))
		}
		parts = append(parts, fmt.Sprintf("%s: %d (%s)", r.name, r.spans, strings.Join(where, ", ")))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// setOf sets each per-service finding's Of to the spans that service ended.
func (c *compCheck) setOf(fs *findings) {
	for _, f := range fs.byKey {
		if n, ok := c.names.ids[f.Subject]; ok {
			f.Of = c.ended[n]
		}
	}
}

// partial counts traces with both delivered and missing spans, and traces
// the ledger has that never reached the backend at all.
func (c *compCheck) partial() {
	known := len(c.lost)
	n := 0
	for t := range c.traces {
		tt := &c.traces[t]
		if tt.known {
			known++
		}
		if !tt.delivered || !tt.missing {
			continue
		}
		n++
		c.other.add("traces", "partial: some spans delivered, others missing", tt.why, func() string {
			return "trace " + c.idx.traceID(int32(t)).String()
		})
	}
	for k, f := range c.other.byKey {
		if k.subject == "traces" {
			f.Of = known
		}
	}
	c.stats["traces"] = float64(known)
	c.stats["partial_traces"] = float64(n)
	c.stats["traces_lost"] = float64(len(c.lost))
}

// unexpected reports backend spans the ledger does not know; they do not
// fail the check.
func (c *compCheck) unexpected() {
	n := 0
	x := c.idx
	for j := range x.ents {
		if c.seen[j] {
			continue
		}
		n++
		s := x.span(int32(j))
		c.other.add(s.Service, "span unknown to the ledger", c.faults.unexplained(), func() string {
			return fmt.Sprintf("trace %s span %s (%s)", s.Trace, s.ID, s.Name)
		})
	}
	c.stats["unexpected"] = float64(n)
}

// queryable returns the p50 and p99, across traces, of the delay from a
// trace's last ledger span ending to its last span arriving in the backend.
// Traces without arrival times are skipped; ok is false when none is left.
func (c *compCheck) queryable() (p50, p99 time.Duration, ok bool) {
	x := c.idx
	var delays []int64
	for t := range c.traces {
		if !c.traces[t].known || !c.traces[t].delivered {
			continue
		}
		lo, hi := x.segment(int32(t))
		var arrived int64
		for e := lo; e < hi; e++ {
			arrived = max(arrived, x.span(e).Arrived)
		}
		if arrived != 0 {
			delays = append(delays, arrived-c.traces[t].maxEnd)
		}
	}
	if len(delays) == 0 {
		return 0, 0, false
	}
	slices.Sort(delays)
	p50, p99 = time.Duration(rank(delays, 0.50)), time.Duration(rank(delays, 0.99))
	c.stats["queryable_traces"] = float64(len(delays))
	c.stats["queryable_p50_seconds"] = p50.Seconds()
	c.stats["queryable_p99_seconds"] = p99.Seconds()
	return p50, p99, true
}

// rank returns the nearest-rank q-quantile of sorted values.
func rank(sorted []int64, q float64) int64 {
	i := int(q*float64(len(sorted))+0.999999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// verdict decides and words the result.
func (c *compCheck) verdict(v Verdict, exp topology.CompletenessExpect, p50, p99 time.Duration, haveQ bool) Verdict {
	ended := len(c.in.Ended)
	ratio := c.stats["completeness"]
	v.Stats = c.stats
	v.Findings = merge(c.losses, c.other)
	c.stats["unexplained"] = countUnexplained(v.Findings)
	v.Measured = fmt.Sprintf("ledger versus backend, span by span, over %d ended spans in %d traces",
		ended, int(c.stats["traces"]))
	if ended == 0 {
		v.Status = StatusFail
		v.Observed = fmt.Sprintf("no spans ended: the run produced nothing to check (backend holds %d spans)", len(c.idx.ents))
		return v
	}
	failed := int(c.stats["missing_export"])
	why := c.failedSummary()
	v.Observed = fmt.Sprintf("%s delivered exactly once (%d of %d); missing: %d dropped in SDK queue, %d export failed%s, %d lost in the backend; %d duplicated; %d partial %s; %d unexpected",
		percent(ratio), int(c.stats["delivered_once"]), ended,
		int(c.stats["missing_sdk_queue"]), failed, why, int(c.stats["missing_backend"]),
		int(c.stats["duplicates"]), int(c.stats["partial_traces"]), plural(int(c.stats["partial_traces"]), "trace", "traces"),
		int(c.stats["unexpected"]))
	v.Observed += attributionSummary(c.faults, v.Findings)
	if haveQ {
		v.Observed += fmt.Sprintf("; queryable p50 %s, p99 %s", durfmt.Human(p50), durfmt.Human(p99))
	} else {
		v.Observed += "; time until queryable not measured (the backend gives no arrival times)"
	}
	v.Status = StatusPass
	if ratio < exp.Min || (exp.Within > 0 && haveQ && p99 > exp.Within) {
		v.Status = StatusFail
	}
	return v
}

// percent renders a ratio as a percentage without false precision.
func percent(r float64) string {
	return fmt.Sprintf("%.4g%%", r*100)
}
