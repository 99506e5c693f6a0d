package infer

import "slices"

// logicalCalls folds a request's client spans (sorted by start) into
// calls: an attempt to the callee of the previous call, after that call's
// last attempt failed and ended, is a retry of it. Calls whose intervals
// overlap share a group. Intervals without a callee are left out.
func (a *aggregates) logicalCalls(calls []call) []logicalCall {
	lc := a.logical[:0]
	clear(a.last)
	for _, c := range calls {
		if c.callee == noCallee {
			continue
		}
		if i, ok := a.last[c.callee]; ok && lc[i].failed && c.start >= lc[i].end {
			p := &lc[i]
			p.attempts++
			p.failed = c.failed
			p.backoff += c.start - p.end
			p.end = max(p.end, c.end)
			continue
		}
		a.last[c.callee] = len(lc)
		lc = append(lc, logicalCall{callee: c.callee, start: c.start, end: c.end, attempts: 1, failed: c.failed})
	}
	group, groupEnd := -1, int64(0)
	for i := range lc { // still sorted by start
		if group < 0 || lc[i].start >= groupEnd {
			group++
			groupEnd = lc[i].end
		} else {
			groupEnd = max(groupEnd, lc[i].end)
		}
		lc[i].group = group
	}
	a.logical = lc
	return lc
}

// pairs counts, for every two distinct callees of the request, that both
// were called and whether some call of one ran in parallel with some call
// of the other (shared a group). The request has at most maxPairCallees
// distinct callees, numbered in a.seenCallee by first call.
func (a *aggregates) pairs(r *routeAgg, lc []logicalCall) {
	var rows [maxPairCallees]uint64 // rows[i] bit j: callees i and j shared a group
	a.distinct = a.distinct[:0]
	for i := 0; i < len(lc); {
		var mask uint64
		j := i
		for ; j < len(lc) && lc[j].group == lc[i].group; j++ {
			mask |= 1 << a.seenCallee[lc[j].callee]
		}
		for k := i; k < j; k++ {
			rows[a.seenCallee[lc[k].callee]] |= mask
		}
		i = j
	}
	for _, c := range lc {
		if !slices.Contains(a.distinct, c.callee) {
			a.distinct = append(a.distinct, c.callee)
		}
	}
	for i, x := range a.distinct {
		for j, y := range a.distinct[i+1:] {
			j += i + 1
			k := [2]uint64{min(x, y), max(x, y)}
			p := r.pairs[k]
			if p == nil {
				p = &pairAgg{}
				r.pairs[k] = p
			}
			p.both++
			if rows[i]>>j&1 != 0 {
				p.overlap++
			}
		}
	}
}
