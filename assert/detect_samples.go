package assert

// This file holds what the detect rules keep across groups beyond
// counters: the measured values of the median rules with their largest
// samples, and the hops whose effect waits for the run's baseline.

import (
	"maps"
	"slices"
)

// sampleSide is one side (inside or outside the windows) of a median
// rule: the distribution of its values, for the median, and its largest
// few values with their evidence.
type sampleSide struct {
	d   dist
	top []topSample // largest first, at most maxExamples
}

// topSample is one of the largest values, with the window it fell in and
// the evidence for it.
type topSample struct {
	v    int64
	attr attribution
	ex   string
}

// add records value v, attributed to a; ex is called only when v is
// among the largest so far.
func (s *sampleSide) add(v int64, a attribution, ex func() string) {
	s.d.add(v)
	s.top = keepTop(s.top, v, a, ex)
}

// count returns how many values the side holds.
func (s *sampleSide) count() int { return int(s.d.count()) }

// keepTop inserts v into top (largest first, at most maxExamples), after
// the values equal to it, when it is among the largest.
func keepTop(top []topSample, v int64, a attribution, ex func() string) []topSample {
	if len(top) == maxExamples && v <= top[len(top)-1].v {
		return top
	}
	i, _ := slices.BinarySearchFunc(top, v, func(s topSample, v int64) int {
		if s.v >= v {
			return -1
		}
		return 1
	})
	top = slices.Insert(top, i, topSample{v: v, attr: a, ex: ex()})
	if len(top) > maxExamples {
		top = top[:maxExamples]
	}
	return top
}

// heldHops are the hops inside a window that a timeout, partition or pause
// rule counts as an effect only when they waited at least the held
// threshold: a tenth of the shortest window (floor), or twice the longest
// wait of a received hop outside the windows (baseline) when that is
// more. Both are the whole run's, so whether such a hop is an effect is
// settled only at the verdict, and the hops wait here meanwhile: one wait
// per hop, the only state of these rules that grows with hops, and only
// with hops inside a window. While windows may still come or move the
// floor may fall as well as rise (an open window lengthens, a later
// shorter one shortens the shortest), so only twice the baseline, which
// only rises, tells a wait that can never count: such waits are dropped
// as they come and as the baseline rises. Once the windows are final
// (final) the floor is too, and the whole threshold known so far drops
// them.
type heldHops struct {
	floor    int64 // a tenth of the shortest window, as the windows stand
	baseline int64 // the longest wait of a received hop outside
	final    bool  // the windows, and so the floor, are final
	// waits holds the pending hops' waits by the window they were in;
	// top the longest few of them with their evidence.
	waits map[attribution][]int64
	top   map[attribution][]topSample
}

// threshold is the held threshold given the baseline so far.
func (h *heldHops) threshold() int64 { return max(h.floor, 2*h.baseline) }

// bar is the wait below which a hop can never reach the threshold,
// whatever windows are still to come.
func (h *heldHops) bar() int64 {
	if h.final {
		return h.threshold()
	}
	return 2 * h.baseline
}

// outside counts the wait of a received hop outside the windows.
func (h *heldHops) outside(waited int64) { h.baseline = max(h.baseline, waited) }

// hold keeps a hop inside window a that waited waited, when it may still
// reach the threshold; ex renders its evidence, given the hop's wait.
func (h *heldHops) hold(a attribution, waited int64, ex func() string) {
	if waited < h.bar() {
		return
	}
	if h.waits == nil {
		h.waits = make(map[attribution][]int64)
		h.top = make(map[attribution][]topSample)
	}
	h.waits[a] = append(h.waits[a], waited)
	h.top[a] = keepTop(h.top[a], waited, a, ex)
}

// prune drops the waits that can no longer reach the threshold (see bar).
func (h *heldHops) prune() {
	lim := h.bar()
	for a, ws := range h.waits {
		ws = slices.DeleteFunc(ws, func(w int64) bool { return w < lim })
		top := slices.DeleteFunc(h.top[a], func(s topSample) bool { return s.v < lim })
		if len(ws) == 0 {
			delete(h.waits, a)
			delete(h.top, a)
			continue
		}
		h.waits[a], h.top[a] = ws, top
	}
}

// settle adds the pending hops that reached the threshold to f as the
// fault's effect within its windows (subject, message), and returns how
// many did.
func (h *heldHops) settle(f *findings, subject, message string) int {
	lim, n := h.threshold(), 0
	for _, a := range slices.Sorted(maps.Keys(h.waits)) {
		held := 0
		for _, w := range h.waits[a] {
			if w >= lim {
				held++
			}
		}
		if held == 0 {
			continue
		}
		n += held
		var fd *Finding
		for _, s := range h.top[a] {
			if s.v < lim || held == 0 {
				break
			}
			fd = f.add(subject, message, a, func() string { return s.ex })
			held--
		}
		if fd == nil {
			fd = f.add(subject, message, a, nil)
			held--
		}
		fd.Count += held
		fd.Status = FindingInfo
	}
	return n
}
