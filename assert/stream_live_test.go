package assert

import (
	"cmp"
	"math/rand/v2"
	"slices"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// liveGroup is a group of a replayed run with the span of time its records
// cover.
type liveGroup struct {
	g          Group
	start, end int64
}

// streamedLive judges in with a Stream as a live run would feed it: it
// walks the run's time in steps (seed picks their length and the order of
// the groups that end in the same step), adds each group once its end has
// passed, shows the windows as they stood then (an open one ends at the
// step), advances with the earliest start of the groups still to come as
// the watermark, and finishes with the run's windows.
func streamedLive(in Input, expects []topology.Expect, seed uint64) []Verdict {
	rng := rand.New(rand.NewPCG(seed, seed^0x51ed270b27a4f3c9))
	base := in
	base.Hops, base.Ended, base.Backend, base.Faults = nil, nil, nil, nil
	if base.RunStart == 0 {
		base.RunStart = earliest(in)
	}
	var groups []liveGroup
	lo, hi := int64(math64), int64(0)
	for _, g := range Partition(in) {
		lg := liveGroup{g: g, start: groupStart(&g), end: groupEnd(&g)}
		groups = append(groups, lg)
		lo, hi = min(lo, lg.start, lg.end), max(hi, lg.end)
	}
	for _, f := range in.Faults {
		lo, hi = min(lo, f.Start), max(hi, f.End)
	}
	rng.Shuffle(len(groups), func(i, j int) { groups[i], groups[j] = groups[j], groups[i] })
	slices.SortStableFunc(groups, func(a, b liveGroup) int { return cmp.Compare(a.end, b.end) })
	s := NewFaultStream(base, expects)
	step := max((hi-lo)/int64(20+rng.IntN(40)), 1)
	next := 0
	for t := lo; next < len(groups) || t <= hi; t += step {
		// Groups ending in this step come in any order.
		n := next
		for n < len(groups) && groups[n].end <= t {
			n++
		}
		batch := groups[next:n]
		rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
		for _, g := range batch {
			s.Add(g.g)
		}
		next = n
		watermark := t
		for _, g := range groups[next:] {
			watermark = min(watermark, g.start)
		}
		s.Advance(windowsAt(in.Faults, t), watermark)
		if rng.IntN(4) == 0 {
			s.Verdicts()
		}
	}
	s.Finish(in.Faults)
	return s.Verdicts()
}

const math64 = 1<<63 - 1

// groupStart is the earliest time g's ledger records carry: a ledger
// drained up to a time has given every group that started before it.
func groupStart(g *Group) int64 {
	start := int64(math64)
	for i := range g.Hops {
		if t := g.Hops[i].SentAt; t != 0 {
			start = min(start, t)
		}
	}
	for i := range g.Ended {
		start = min(start, g.Ended[i].Start)
	}
	return start
}

// windowsAt returns the windows as a run shows them at t: those opened by
// then, an open one ending at t.
func windowsAt(faults []record.Fault, t int64) []record.Fault {
	var out []record.Fault
	for _, f := range faults {
		if f.Start > t {
			continue
		}
		if f.End > t {
			f.End, f.Open = t, true
		}
		out = append(out, f)
	}
	return out
}
