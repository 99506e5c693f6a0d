package assert

import (
	"fmt"

	"github.com/tracerig/tracerig/internal/record"
)

// Subjects and messages the completeness tally words its findings by.
const (
	compTracesSubject = "traces"
	compPartialMsg    = "partial: some spans delivered, others missing"
	compUnknownMsg    = "span unknown to the ledger"
	compDuplicateMsg  = "delivered more than once"
)

// traceTally is what completeness learns about one backend trace.
type traceTally struct {
	maxEnd    int64       // latest End of its ledger spans
	known     bool        // the ledger has spans of it
	delivered bool        // at least one ledger span arrived
	missing   bool        // at least one ledger span did not
	why       attribution // what explains its first missing span
}

// compGroup is the working state of the completeness tally over one group:
// it lives only while the group is judged, and what it finds goes into the
// tally's counters, findings and distribution.
type compGroup struct {
	t      *compTally
	in     *Input
	idx    *spanIndex
	seen   []bool       // per backend entry: the ledger knows it
	traces []traceTally // per backend trace
	lost   map[record.TraceID]bool
}

func newCompGroup(t *compTally, in *Input, idx *spanIndex) *compGroup {
	return &compGroup{
		t:      t,
		in:     in,
		idx:    idx,
		seen:   make([]bool, len(idx.ents)),
		traces: make([]traceTally, idx.numTraces()),
		lost:   make(map[record.TraceID]bool),
	}
}

// match looks every ended span up in the backend and sorts it into
// delivered once, duplicated, or missing by stage.
func (g *compGroup) match() {
	t, n := g.t, &g.t.n
	var last record.TraceID
	lastT, lastOK := int32(-1), false
	for i := range g.in.Ended {
		e := &g.in.Ended[i]
		n.ended++
		t.endedBy[e.Service]++
		if i == 0 || e.Trace != last {
			last = e.Trace
			lastT, lastOK = g.idx.trace(e.Trace)
		}
		if lastOK {
			tt := &g.traces[lastT]
			tt.known = true
			tt.maxEnd = max(tt.maxEnd, e.End)
			if j, ok := g.idx.find(lastT, e.ID); ok {
				tt.delivered = true
				g.seen[j] = true
				g.delivered(e, int(g.idx.ents[j].copies))
				continue
			}
			tt.missing = true
			if tt.why == attrNone {
				tt.why = t.faults.loss(e.Service, e.Instance, e.End)
			}
		} else {
			g.lost[e.Trace] = true
		}
		switch e.Export {
		case record.ExportPending:
			n.pending++
		case record.ExportFailed:
			n.failed++
			t.countFailed(e)
		default:
			n.backend++
		}
		t.losses.add(e.Service, t.lossMessage(g.in, e), t.faults.loss(e.Service, e.Instance, e.End), func() string {
			return fmt.Sprintf("trace %s span %s (%s)", e.Trace, e.ID, e.Name)
		})
	}
	n.tracesLost += len(g.lost)
	n.traces += len(g.lost)
}

// delivered counts a span the backend holds in copies copies.
func (g *compGroup) delivered(e *record.Ended, copies int) {
	t, n := g.t, &g.t.n
	if copies <= 1 {
		n.once++
		return
	}
	n.dups++
	n.copies += copies - 1
	f := t.other.add(e.Service, compDuplicateMsg, t.faults.duplicate(e.End), func() string {
		return fmt.Sprintf("trace %s span %s (%s) ×%d", e.Trace, e.ID, e.Name, copies)
	})
	f.Status = FindingFailing // not delivered exactly once
}

// lossMessage names the stage that lost a span, for an export the reason
// it failed, and for the backend the cause when one is known.
func (t *compTally) lossMessage(in *Input, e *record.Ended) string {
	switch e.Export {
	case record.ExportPending:
		return "dropped in SDK queue"
	case record.ExportFailed:
		if e.ExportReason != "" {
			return "export failed: " + e.ExportReason
		}
		return "export failed"
	}
	if in.BackendLoss != "" {
		return "lost in the backend: " + in.BackendLoss
	}
	return "lost in the backend (exported, never arrived)"
}

// partial counts the group's traces with both delivered and missing spans.
// A trace is whole in its group, so whether it is partial is settled here.
func (g *compGroup) partial() {
	t := g.t
	for i := range g.traces {
		tt := &g.traces[i]
		if tt.known {
			t.n.traces++
		}
		if !tt.delivered || !tt.missing {
			continue
		}
		t.n.partial++
		t.other.add(compTracesSubject, compPartialMsg, tt.why, func() string {
			return "trace " + g.idx.traceID(int32(i)).String()
		})
	}
}

// unexpected reports the group's backend spans the ledger does not know;
// they do not fail the check. Their traces are in this group, so a span
// unknown here is unknown to the whole ledger.
func (g *compGroup) unexpected() {
	t := g.t
	for j := range g.idx.ents {
		if g.seen[j] {
			continue
		}
		t.n.unexpected++
		s := g.idx.span(int32(j))
		t.other.add(s.Service, compUnknownMsg, t.faults.unexplained(), func() string {
			return fmt.Sprintf("trace %s span %s (%s)", s.Trace, s.ID, s.Name)
		})
	}
}

// queryable adds, per trace of the group, the delay from its last ledger
// span ending to its last span arriving in the backend. Traces without
// arrival times are skipped.
func (g *compGroup) queryable() {
	x := g.idx
	for t := range g.traces {
		tt := &g.traces[t]
		if !tt.known || !tt.delivered {
			continue
		}
		lo, hi := x.segment(int32(t))
		var arrived int64
		for e := lo; e < hi; e++ {
			arrived = max(arrived, x.span(e).Arrived)
		}
		if arrived != 0 {
			g.t.queryable.add(arrived - tt.maxEnd)
		}
	}
}
