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
// check that is judged on the whole run at once.
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
// judged when it is added and then released, so what a long run keeps is
// bounded by its edges, windows and seconds rather than its spans. A check
// that has no group-by-group form, and every check of a run with faults
// (attributing an effect to a fault window needs the whole run's hops: a
// caller's recovery after a window is its first hop through, whenever that
// comes), keeps the groups it is given and is judged on all of them when
// Verdicts is called. Either way the verdicts are the ones Run gives on the
// groups' union.
//
// A Stream is not safe for concurrent use.
type Stream struct {
	base    Input // the static evidence: no hops, spans or backend spans
	expects []topology.Expect
	tallies []checkTally // per expect; nil for a check judged on the whole run
	// deferred: every check waits for the whole run (faults were planted).
	deferred bool
	// keep: some check needs the whole run, so groups are kept in kept.
	keep    bool
	kept    Group
	checked Checked
}

// NewStream returns a Stream judging expects. base is the run's static
// evidence: Topology, ReadBack and NoReadBack, BackendLoss, Faults,
// Planned and RunStart; its Hops, Ended and Backend are ignored.
func NewStream(base Input, expects []topology.Expect) *Stream {
	base.Hops, base.Ended, base.Backend = nil, nil, nil
	s := &Stream{
		base:     base,
		expects:  expects,
		tallies:  make([]checkTally, len(expects)),
		deferred: len(base.Faults) > 0 || len(base.Planned) > 0,
	}
	for i, e := range expects {
		if e.Kind == topology.ExpectLoad {
			continue // checked by Load
		}
		if !s.deferred {
			s.tallies[i] = newCheckTally(e, &s.base)
		}
		if s.tallies[i] == nil {
			s.keep = true
		}
	}
	return s
}

// Add judges one group. Groups must be whole (see Group); their order does
// not matter.
func (s *Stream) Add(g Group) {
	s.checked.Groups++
	s.checked.Hops += len(g.Hops)
	s.checked.Spans += len(g.Ended)
	s.checked.BackendSpans += len(g.Backend)
	if s.keep {
		s.kept.Hops = append(s.kept.Hops, g.Hops...)
		s.kept.Ended = append(s.kept.Ended, g.Ended...)
		s.kept.Backend = append(s.kept.Backend, g.Backend...)
	}
	if s.deferred {
		return
	}
	in := s.base
	in.Hops, in.Ended, in.Backend = g.Hops, g.Ended, g.Backend
	if g.BackendLoss != "" {
		in.BackendLoss = g.BackendLoss
	}
	var idx *spanIndex
	for _, t := range s.tallies {
		if t == nil {
			continue
		}
		if idx == nil && in.ReadBack {
			idx = newSpanIndex(in.Backend)
		}
		t.add(&in, idx, nil)
	}
}

// Checked returns how much evidence the stream has judged so far.
func (s *Stream) Checked() Checked { return s.checked }

// Streaming reports whether every check judges groups as they come and
// keeps none of them.
func (s *Stream) Streaming() bool { return !s.keep }

// Verdicts returns one Verdict per Expect but load, in order, for the
// groups added so far. It may be called at any time and again later.
func (s *Stream) Verdicts() []Verdict {
	whole := s.base
	whole.Hops, whole.Ended, whole.Backend = s.kept.Hops, s.kept.Ended, s.kept.Backend
	if s.deferred {
		return evaluate(whole, s.expects)
	}
	out := make([]Verdict, 0, len(s.expects))
	for i, e := range s.expects {
		switch {
		case e.Kind == topology.ExpectLoad:
		case s.tallies[i] != nil:
			v := s.tallies[i].verdict()
			annotate(&v, s.base.Topology)
			out = append(out, v)
		default:
			out = append(out, evaluate(whole, []topology.Expect{e})...)
		}
	}
	return out
}
