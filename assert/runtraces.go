package assert

import (
	"fmt"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// The run's traces. A backend that services of the user's export to holds
// what else they do too (health checks, their own jobs), and a backend
// they share holds other runs' traces and the backend's own: of what is
// read back, the checks judge only the run's traces, those the ledger
// names (the load started them, a simulated service took part in them,
// or one received them from an external service) and those whose spans
// carry a run ID resource attribute (a read-back asked for one run's
// traces returns those alone).

// traceCounts say how many traces the read-back returned and how many of
// them were the run's.
type traceCounts struct {
	read, run int
	filtered  bool // the topology has services of the user's: the rest were left out
}

// add sums the counts of another group.
func (c *traceCounts) add(o traceCounts) {
	c.read += o.read
	c.run += o.run
	c.filtered = c.filtered || o.filtered
}

// keepRunTraces leaves in in.Backend only the run's traces when the
// topology has services of the user's, and counts them.
func keepRunTraces(in *Input) traceCounts {
	ids := make(map[record.TraceID]bool)
	for i := range in.Backend {
		ids[in.Backend[i].Trace] = true
	}
	c := traceCounts{read: len(ids), run: len(ids)}
	if !in.ReadBack || !hasUserServices(in) {
		return c
	}
	run := ledgerTraces(in)
	for i := range in.Backend {
		if _, ok := in.Backend[i].ResourceAttr(record.RunIDKey); ok {
			run[in.Backend[i].Trace] = true
		}
	}
	kept := make([]record.Span, 0, len(in.Backend))
	for i := range in.Backend {
		if run[in.Backend[i].Trace] {
			kept = append(kept, in.Backend[i])
		}
	}
	in.Backend = kept
	c.filtered, c.run = true, 0
	for id := range ids {
		if run[id] {
			c.run++
		}
	}
	return c
}

// hasUserServices reports whether the topology has a service of the
// user's.
func hasUserServices(in *Input) bool {
	if in.Topology == nil {
		return false
	}
	for _, s := range in.Topology.Services {
		if s.IsExternal() {
			return true
		}
	}
	return false
}

// ledgerTraces returns the traces the ledger names.
func ledgerTraces(in *Input) map[record.TraceID]bool {
	out := make(map[record.TraceID]bool)
	add := func(t record.TraceID) {
		if t.IsValid() {
			out[t] = true
		}
	}
	for i := range in.Hops {
		h := &in.Hops[i]
		add(h.Sent.Trace)
		add(h.Got.Trace)
		add(h.Server.Trace)
	}
	for i := range in.Ended {
		add(in.Ended[i].Trace)
	}
	return out
}

// addTraceStats adds the counts to the stats of v when it judges the
// backend (propagation, completeness).
func addTraceStats(v *Verdict, c traceCounts) {
	if !c.filtered || v.Stats == nil ||
		(v.Check != string(topology.ExpectPropagation) && v.Check != string(topology.ExpectCompleteness)) {
		return
	}
	v.Stats["backend_traces_read"] = float64(c.read)
	v.Stats["run_traces"] = float64(c.run)
	if c.read > c.run {
		v.Measured += fmt.Sprintf(" (the run's %d of %d traces read back)", c.run, c.read)
	}
}
