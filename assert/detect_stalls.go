package assert

// This file holds the received hops outside a pause's windows whose
// effect waits for the run's shortest window.

import (
	"maps"
	"slices"
)

// stalledOutside are the received hops to a paused instance outside the
// fault's windows, which the pause rule counts as stalled when they waited
// at least as long as the shortest window. While windows may still come or
// move that length may fall as well as rise, so no wait can be told apart
// before the windows are final: each waits here, by what explains it
// (attrUnexplained outside every window, a window of another fault of the
// same kind otherwise), in a dist (exact up to distCap waits, then folded
// into buckets: see atLeast) with its longest few for examples. Once the
// windows are final a hop is judged as it comes and never kept.
type stalledOutside struct {
	waits map[attribution]*dist
	top   map[attribution][]topSample
}

// hold keeps the wait of a received hop outside, explained by a; ex
// renders its evidence, called only when the wait is among the longest.
func (s *stalledOutside) hold(a attribution, waited int64, ex func() string) {
	if s.waits == nil {
		s.waits = make(map[attribution]*dist)
		s.top = make(map[attribution][]topSample)
	}
	d := s.waits[a]
	if d == nil {
		d = &dist{}
		s.waits[a] = d
	}
	d.add(waited)
	s.top[a] = keepTop(s.top[a], waited, a, ex)
}

// folded reports whether any kept wait distribution passed its cap, so
// that waits within distError of the limit may be miscounted.
func (s *stalledOutside) folded() bool {
	for _, d := range s.waits {
		if d.folded() {
			return true
		}
	}
	return false
}

// atLeast counts d's values of at least lim: exactly while d keeps its
// values, and once folded by the buckets whose value is at least lim, so
// that only waits within distError of lim may be miscounted.
func (d *dist) atLeast(lim int64) int {
	n := 0
	if d.buckets == nil {
		for _, v := range d.exact {
			if v >= lim {
				n++
			}
		}
		return n
	}
	for k, c := range d.buckets {
		if bucketValue(k) >= lim {
			n += int(c)
		}
	}
	return n
}

// settle adds the kept hops that waited at least lim to t and f as
// effectIn would have (their population was counted as they came), and
// leaves s as it was.
func (s *stalledOutside) settle(d *detectTally, t *tally, f *findings, subject, what string, lim int64) {
	for _, a := range slices.Sorted(maps.Keys(s.waits)) {
		n := s.waits[a].atLeast(lim)
		if n == 0 {
			continue
		}
		z, msg := zoneOther, what+" outside fault #"+itoa(d.n)+"'s windows, during another fault of the same kind"
		if a == attrUnexplained {
			z, msg = zoneOut, what+" outside fault #"+itoa(d.n)+"'s windows"
		}
		if z == zoneOut {
			t.out += n
		} else {
			t.other += n
		}
		var fd *Finding
		for _, ts := range s.top[a] {
			if ts.v < lim || n == 0 {
				break
			}
			fd = f.add(subject, msg, a, func() string { return ts.ex })
			n--
		}
		if fd == nil {
			fd = f.add(subject, msg, a, nil)
			n--
		}
		fd.Count += n
		if z == zoneOther {
			fd.Status = FindingInfo
		}
	}
}
