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

// target is what a reach-cutting window cuts off: an instance (inst, -1
// for every instance) of svc, or the edge from → to.
type target struct {
	svc      string
	inst     int
	from, to string
}

// cutTarget returns what w cuts off.
func cutTarget(w *faultWin) target {
	if w.From != "" {
		return target{from: w.From, to: w.To}
	}
	return target{svc: w.Service, inst: w.Instance}
}

// refreshCuts sets each reach-cutting window's nextCut from the windows
// known now, and gives it a recovery map.
func (fs *faultSet) refreshCuts() {
	for i := range fs.wins {
		w := &fs.wins[i]
		if !cutsReach(w.kind) {
			continue
		}
		if w.recovered == nil {
			w.recovered = make(map[caller]int64)
		}
		w.nextCut = 0
		k := cutTarget(w)
		for j := range fs.wins {
			o := &fs.wins[j]
			if cutsReach(o.kind) && cutTarget(o) == k && o.Start > w.End && (w.nextCut == 0 || o.Start < w.nextCut) {
				w.nextCut = o.Start
			}
		}
	}
}

// closed reports whether w's end is final.
func (fs *faultSet) closed(w *faultWin) bool { return fs.final || !w.Open }

// observe notes, for each closed reach-cutting window, the hops that got
// through from a caller instance to its target after it closed (the first
// of them per caller is its recovery), and the edges the hops show.
//
// A recovery is a minimum, so hops may come in any order and in parts. A
// window still open is skipped: the caller takes the ledger's records
// (simulator.Ledger.Drain) before it reads the windows, so a window that
// closes after the take has no hop of that take sent after its close, and
// the records of later takes are observed once the window is known closed.
func (fs *faultSet) observe(hops []record.Hop) {
	var last edge
	for i := range hops {
		h := &hops[i]
		if h.From != "" && (h.From != last.from || h.To != last.to) {
			last = edge{h.From, h.To}
			fs.called[last] = true
		}
	}
	byTarget := make(map[target][]int) // closed window indexes
	for i := range fs.wins {
		if w := &fs.wins[i]; cutsReach(w.kind) && fs.closed(w) {
			byTarget[cutTarget(w)] = append(byTarget[cutTarget(w)], i)
		}
	}
	if len(byTarget) == 0 {
		return
	}
	for i := range hops {
		h := &hops[i]
		if !h.Received || h.From == "" || h.FromExternal {
			continue
		}
		fs.note(byTarget[target{svc: h.To, inst: h.ToInstance}], h)
		fs.note(byTarget[target{svc: h.To, inst: -1}], h)
		fs.note(byTarget[target{from: h.From, to: h.To}], h)
	}
}

// note records h as its caller's recovery from the window of ws that
// closed last at or before h was sent, when it is the earliest.
func (fs *faultSet) note(ws []int, h *record.Hop) {
	var w *faultWin
	for _, i := range ws {
		if o := &fs.wins[i]; o.End <= h.SentAt && (w == nil || o.End > w.End) {
			w = o
		}
	}
	if w == nil {
		return
	}
	c := caller{h.From, h.FromInstance}
	if r, ok := w.recovered[c]; !ok || h.SentAt < r {
		w.recovered[c] = h.SentAt
	}
}
