package assert

import (
	"github.com/tracerig/tracerig/topology"
)

// checkTally is a check that judges a run group by group: add takes one
// group's evidence, verdict says what the groups seen so far amount to. What
// a tally
// keeps grows with the run's edges, services, windows and seconds, never
// with its spans: counters, per-edge tallies, mergeable distributions and a
// bounded sample of examples. verdict must leave the tally as it was, so a
// long run can show running verdicts.
type checkTally interface {
	// add judges one group. in holds the run's static evidence and the
	// group's records; idx indexes the group's backend spans (nil without
	// read-back); faults is the run's fault set (nil without faults).
	add(in *Input, idx *spanIndex, faults *faultSet)
	verdict() Verdict
}

// newCheckTally returns the tally judging e group by group, or nil for a
// check tracerig does not know.
func newCheckTally(e topology.Expect, base *Input) checkTally {
	switch e.Kind {
	case topology.ExpectCompleteness:
		return newCompTally(e.Completeness, base)
	case topology.ExpectPropagation:
		return newPropTally(e.Propagation, base)
	case topology.ExpectSampling:
		return newSamplingTally(e.Sampling, base)
	case topology.ExpectTailSampling:
		return newTailTally(e.TailSampling, base)
	case topology.ExpectSpans:
		return newSpansTally(e.Spans, base)
	case topology.ExpectDetect:
		return newDetectTally(e.Detect, base)
	case topology.ExpectMessaging:
		return newMsgTally(e.Messaging, base)
	}
	return nil
}

// Checked counts the evidence a Stream has judged.
type Checked struct {
	Groups       int `json:"groups"`
	Hops         int `json:"hops"`
	Spans        int `json:"spans"`
	BackendSpans int `json:"backend_spans"`
}

// Stream verifies a run as its groups settle: each group (see Partition) is
// judged and then released, so what a long run keeps is bounded by its
// edges, windows and seconds rather than its spans. The verdicts are the
// ones Run gives on the groups' union.
//
// Without faults a group is judged when it is added. With faults (planned,
// or added live: see NewFaultStream) attributing an effect to a window
// needs what the run shows up to a while after it: the window itself,
// whose end moves while it is open, and each caller's first request
// through after a window that cut it off. A group then waits until Advance
// says the run has been added up to past its end by the horizon, or until
// Finish.
//
// A Stream is not safe for concurrent use.
type Stream struct {
	base    Input // the static evidence: no hops, spans or backend spans
	expects []topology.Expect
	tallies []checkTally // per expect; nil for load and unknown checks
	checked Checked
	// traces counts the traces read back and the run's among them.
	traces traceCounts
	judged Checked     // what the tallies have been given (held groups wait)
	live   *liveFaults // nil without faults
}

// NewStream returns a Stream judging expects. base is the run's static
// evidence: Topology, ReadBack and NoReadBack, BackendLoss, Faults,
// Planned and RunStart; its Hops, Ended and Backend are ignored. With
// Faults or Planned it is NewFaultStream's.
func NewStream(base Input, expects []topology.Expect) *Stream {
	if len(base.Faults) > 0 || len(base.Planned) > 0 {
		return NewFaultStream(base, expects)
	}
	return newStream(base, expects, nil)
}

func newStream(base Input, expects []topology.Expect, live *liveFaults) *Stream {
	base.Hops, base.Ended, base.Backend = nil, nil, nil
	s := &Stream{
		base:    base,
		expects: expects,
		tallies: make([]checkTally, len(expects)),
		live:    live,
	}
	for i, e := range expects {
		if e.Kind == topology.ExpectLoad {
			continue // checked by Load
		}
		s.tallies[i] = newCheckTally(e, &s.base)
		if b, ok := s.tallies[i].(faultBinder); ok && live != nil {
			b.bindFaults(live.faults)
		}
	}
	return s
}

// Add takes one group. Groups must be whole (see Group); their order does
// not matter.
func (s *Stream) Add(g Group) {
	s.checked.Groups++
	s.checked.Hops += len(g.Hops)
	s.checked.Spans += len(g.Ended)
	s.checked.BackendSpans += len(g.Backend)
	if s.live != nil {
		s.live.hold(g)
		return
	}
	s.judge(g, nil)
}

// judge gives one group to every tally.
func (s *Stream) judge(g Group, faults *faultSet) {
	s.judged.Groups++
	s.judged.Hops += len(g.Hops)
	s.judged.Spans += len(g.Ended)
	s.judged.BackendSpans += len(g.Backend)
	in := s.base
	in.Hops, in.Ended, in.Backend = g.Hops, g.Ended, g.Backend
	if g.BackendLoss != "" {
		in.BackendLoss = g.BackendLoss
	}
	s.traces.add(keepRunTraces(&in))
	var idx *spanIndex
	for _, t := range s.tallies {
		if t == nil {
			continue
		}
		if idx == nil && in.ReadBack {
			idx = newSpanIndex(in.Backend)
		}
		t.add(&in, idx, faults)
	}
}

// Checked returns how much evidence the stream has taken so far.
func (s *Stream) Checked() Checked { return s.checked }

// Judged returns how much of it the checks have judged: less than Checked
// while a run with faults holds groups until the windows that could
// explain them are known.
func (s *Stream) Judged() Checked { return s.judged }

// Verdicts returns one Verdict per Expect but load, in order, for the
// groups judged so far. It may be called at any time and again later.
func (s *Stream) Verdicts() []Verdict {
	out := make([]Verdict, 0, len(s.expects))
	for i, e := range s.expects {
		switch {
		case e.Kind == topology.ExpectLoad:
		case s.tallies[i] != nil:
			v := s.tallies[i].verdict()
			addTraceStats(&v, s.traces)
			annotate(&v, s.base.Topology)
			out = append(out, v)
		default:
			out = append(out, unknownCheck(e))
		}
	}
	return out
}
