package assert

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// streamed judges in the way a Stream does, group by group, with the groups
// of Partition shuffled and some of them merged (seed picks how), except
// that every tally is given the whole run's fault set: it tests the tallies'
// arithmetic on runs with faults too, which a Stream defers to the end.
func streamed(in Input, expects []topology.Expect, seed uint64) []Verdict {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	groups := Partition(in)
	rng.Shuffle(len(groups), func(i, j int) { groups[i], groups[j] = groups[j], groups[i] })
	var merged []Group
	for _, g := range groups {
		if n := len(merged); n > 0 && rng.IntN(3) == 0 {
			last := &merged[n-1]
			last.Hops = append(last.Hops, g.Hops...)
			last.Ended = append(last.Ended, g.Ended...)
			last.Backend = append(last.Backend, g.Backend...)
			continue
		}
		merged = append(merged, g)
	}
	faults := newFaultSet(in)
	var out []Verdict
	for _, e := range expects {
		if e.Kind == topology.ExpectLoad {
			continue
		}
		t := newCheckTally(e, &in)
		if t == nil {
			out = append(out, evaluate(in, []topology.Expect{e})...)
			continue
		}
		var traces traceCounts
		for _, g := range merged {
			gin := in
			gin.Hops, gin.Ended, gin.Backend = g.Hops, g.Ended, g.Backend
			traces.add(keepRunTraces(&gin))
			var idx *spanIndex
			if gin.ReadBack {
				idx = newSpanIndex(gin.Backend)
			}
			t.add(&gin, idx, faults)
		}
		v := t.verdict()
		addTraceStats(&v, traces)
		annotate(&v, in.Topology)
		out = append(out, v)
	}
	return out
}

// sameVerdicts reports how got differs from want: every field equal but the
// findings' examples, which only have to be as many (each tally keeps the
// first it meets, and the groups came in another order), and stats, which
// may differ in the last bits of a float summed in another order.
func sameVerdicts(want, got []Verdict) error {
	if len(want) != len(got) {
		return fmt.Errorf("%d verdicts, want %d", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if err := sameStats(w.Stats, g.Stats); err != nil {
			return fmt.Errorf("%s: %w", w.Check, err)
		}
		if len(w.Findings) != len(g.Findings) {
			return fmt.Errorf("%s: %d findings, want %d:\n got %+v\nwant %+v", w.Check, len(g.Findings), len(w.Findings), g.Findings, w.Findings)
		}
		wf, gf := slices.Clone(w.Findings), slices.Clone(g.Findings)
		for j := range wf {
			if len(wf[j].Examples) != len(gf[j].Examples) {
				return fmt.Errorf("%s: finding %q has %d examples, want %d", w.Check, gf[j].Subject, len(gf[j].Examples), len(wf[j].Examples))
			}
			wf[j].Examples, gf[j].Examples = nil, nil
			if fmt.Sprint(wf[j]) != fmt.Sprint(gf[j]) {
				return fmt.Errorf("%s: finding\n got %+v\nwant %+v", w.Check, gf[j], wf[j])
			}
		}
		w.Findings, g.Findings, w.Stats, g.Stats = nil, nil, nil, nil
		if fmt.Sprint(w) != fmt.Sprint(g) {
			return fmt.Errorf("verdict\n got %+v\nwant %+v", g, w)
		}
	}
	return nil
}

func sameStats(want, got map[string]float64) error {
	if len(want) != len(got) {
		return fmt.Errorf("stats %v, want %v", got, want)
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || math.Abs(g-w) > 1e-9*max(1, math.Abs(w)) {
			return fmt.Errorf("stat %s = %v, want %v", k, g, w)
		}
	}
	return nil
}

// checkStreamed fails t when judging in group by group, with a few
// different groupings, or with a Stream fed as the run went, does not give
// Run's verdicts.
func checkStreamed(t *testing.T, in Input, expects []topology.Expect) {
	t.Helper()
	want := Run(in, expects)
	for seed := range uint64(3) {
		if err := sameVerdicts(want, streamed(in, expects, seed)); err != nil {
			t.Errorf("grouping %d: %v", seed, err)
		}
		if err := sameVerdicts(want, streamedLive(in, expects, seed)); err != nil {
			t.Errorf("live %d: %v", seed, err)
		}
	}
}

func TestPartitionKeepsRequestsAndTracesWhole(t *testing.T) {
	in := faultChain(nil).in
	groups := Partition(in)
	if len(groups) < 2 {
		t.Fatalf("%d groups, want one per request", len(groups))
	}
	owner := map[any]int{}
	claim := func(g int, k any) {
		if k == uint64(0) || k == (record.TraceID{}) {
			return
		}
		if o, ok := owner[k]; ok && o != g {
			t.Errorf("%v is in groups %d and %d", k, o, g)
		}
		owner[k] = g
	}
	var hops, ended, backend int
	for g, grp := range groups {
		hops += len(grp.Hops)
		ended += len(grp.Ended)
		backend += len(grp.Backend)
		for _, h := range grp.Hops {
			claim(g, h.Request)
			claim(g, h.Sent.Trace)
		}
		for _, e := range grp.Ended {
			claim(g, e.Trace)
		}
		for _, s := range grp.Backend {
			claim(g, s.Trace)
		}
	}
	if hops != len(in.Hops) || ended != len(in.Ended) || backend != len(in.Backend) {
		t.Errorf("groups hold %d hops, %d spans, %d backend spans; want %d, %d, %d",
			hops, ended, backend, len(in.Hops), len(in.Ended), len(in.Backend))
	}
}

func TestStreamMatchesRun(t *testing.T) {
	in := faultChain(nil).in
	expects := []topology.Expect{
		{Kind: topology.ExpectPropagation, Propagation: topology.PropagationExpect{Connected: true}},
		{Kind: topology.ExpectCompleteness, Completeness: topology.CompletenessExpect{Min: 1}},
	}
	checkStreamed(t, in, expects)
	base := in
	base.Faults, base.Planned = nil, nil
	s := NewStream(base, expects)
	for _, g := range Partition(base) {
		s.Add(g)
	}
	if err := sameVerdicts(Run(base, expects), s.Verdicts()); err != nil {
		t.Error(err)
	}
	if c := s.Checked(); c.Spans != len(in.Ended) || c.Hops != len(in.Hops) {
		t.Errorf("checked %+v, want %d spans and %d hops", c, len(in.Ended), len(in.Hops))
	}
}

// TestStreamGroupBackendLoss: a group's own known cause of backend loss
// names its lost spans, where the run's would have; a group without one
// keeps the run's.
func TestStreamGroupBackendLoss(t *testing.T) {
	in := lose(chain(2), record.ExportOK, 0, 5).in
	groups := Partition(in)
	if len(groups) != 2 {
		t.Fatalf("%d groups, want 2", len(groups))
	}
	in.BackendLoss = "the run's cause"
	s := NewStream(in, completenessExpects(topology.CompletenessExpect{Min: 1}))
	groups[0].BackendLoss = "the group's cause"
	for _, g := range groups {
		s.Add(g)
	}
	got := map[string]int{}
	for _, f := range s.Verdicts()[0].Findings {
		if strings.HasPrefix(f.Message, "lost in the backend") {
			got[f.Message]++
		}
	}
	want := map[string]int{"lost in the backend: the group's cause": 1, "lost in the backend: the run's cause": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("loss findings %v, want %v", got, want)
	}
}

// TestStreamJudgedWaitsForWindows: a Stream with faults counts a group when
// it is added but judges it only once Advance or Finish lets it, and
// Judged says so, so that a progress line never shows the verdicts of
// nothing as the run's.
func TestStreamJudgedWaitsForWindows(t *testing.T) {
	in := faultChain(nil).plant(fault(topology.FaultStripHeaders, onEdge("cart", "inventory")), [2]float64{20, 30}).in
	expects := []topology.Expect{{Kind: topology.ExpectCompleteness, Completeness: topology.CompletenessExpect{Min: 1}}}
	base := in
	base.Hops, base.Ended, base.Backend = nil, nil, nil
	s := NewFaultStream(base, expects)
	for _, g := range Partition(in) {
		s.Add(g)
	}
	if c, j := s.Checked(), s.Judged(); c.Spans != len(in.Ended) || j.Spans != 0 {
		t.Fatalf("checked %+v, judged %+v before any Advance: want every span taken and none judged", c, j)
	}
	s.Finish(in.Faults)
	if c, j := s.Checked(), s.Judged(); j != c {
		t.Errorf("judged %+v after Finish, want all of %+v", j, c)
	}
	if err := sameVerdicts(Run(in, expects), s.Verdicts()); err != nil {
		t.Error(err)
	}
}
