package assert

// This file holds the aftermath of the faults that cut an instance or an
// edge off: until each caller gets a request through again, its failures
// are still the fault's.

import (
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// caller is one instance of a calling service.
type caller struct {
	svc  string
	inst int
}

// cutsReach reports whether a fault of kind k makes an instance or an edge
// unreachable for its window.
func cutsReach(k topology.FaultKind) bool {
	switch k {
	case topology.FaultCrash, topology.FaultRestart, topology.FaultPause, topology.FaultPartition:
		return true
	}
	return false
}

// aftermath reports whether hop h, sent after w closed, still met the
// fault: it went out before its caller instance reached w's target again
// (a caller that never did, before the target's next window or the end of
// the run, stayed cut off from it: its stale connections, routes or
// neighbour entries still led to what the fault took away), or on a
// kept-alive connection idle since before the window closed.
func (w *faultWin) aftermath(h *record.Hop) bool {
	if h.SentAt <= w.End || w.recovered == nil || (w.nextCut > 0 && h.SentAt >= w.nextCut) {
		return false
	}
	if h.ConnIdleSince > 0 && h.ConnIdleSince <= w.End {
		return true
	}
	r, ok := w.recovered[caller{h.From, h.FromInstance}]
	return !ok || h.SentAt < r
}

// recoveries fills each reach-cutting window's recovery times from the
// ledger, in one pass over the hops.
func (fs *faultSet) recoveries() {
	type target struct {
		svc      string
		inst     int
		from, to string
	}
	byTarget := make(map[target][]int) // window indexes, by start
	for i := range fs.wins {
		w := &fs.wins[i]
		if !cutsReach(w.kind) {
			continue
		}
		w.recovered = make(map[caller]int64)
		k := target{svc: w.Service, inst: w.Instance, from: w.From, to: w.To}
		if w.From != "" {
			k.svc, k.inst = "", 0
		}
		byTarget[k] = append(byTarget[k], i)
	}
	if len(byTarget) == 0 {
		return
	}
	for _, ws := range byTarget {
		for _, i := range ws {
			w := &fs.wins[i]
			for _, j := range ws {
				if o := &fs.wins[j]; o.Start > w.End && (w.nextCut == 0 || o.Start < w.nextCut) {
					w.nextCut = o.Start
				}
			}
		}
	}
	// last returns the window of ws that closed last at or before t.
	last := func(ws []int, t int64) *faultWin {
		var found *faultWin
		for _, i := range ws {
			if w := &fs.wins[i]; w.End <= t && (found == nil || w.End > found.End) {
				found = w
			}
		}
		return found
	}
	note := func(w *faultWin, h *record.Hop) {
		if w == nil {
			return
		}
		c := caller{h.From, h.FromInstance}
		if r, ok := w.recovered[c]; !ok || h.SentAt < r {
			w.recovered[c] = h.SentAt
		}
	}
	for i := range fs.hops {
		h := &fs.hops[i]
		if !h.Received || h.From == "" || h.FromExternal {
			continue
		}
		note(last(byTarget[target{svc: h.To, inst: h.ToInstance}], h.SentAt), h)
		note(last(byTarget[target{svc: h.To, inst: -1}], h.SentAt), h)
		note(last(byTarget[target{from: h.From, to: h.To}], h.SentAt), h)
	}
}
