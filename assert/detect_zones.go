package assert

// This file places the times and hops detect counts on one side or the
// other of the detected fault's windows.

// sameKindTarget reports whether w is a window of another planted fault of
// the detected fault's kind on its target: an effect in it is explained.
func (d *detectTally) sameKindTarget(w *faultWin) bool {
	return w.Number != d.n && w.kind == d.plan.Kind && w.Service == d.tgt.Service &&
		w.From == d.tgt.From && w.To == d.tgt.To
}

// zoneOf places t: inside a window, in a grace (pre before, postGrace
// after), outside while another window of the same kind and target is
// open, or outside.
func (d *detectTally) zoneOf(t, pre int64) (zone, *faultWin) {
	var graced *faultWin
	for i := range d.wins {
		w := &d.wins[i]
		if t >= w.Start && t <= w.End {
			return zoneIn, w
		}
		if graced == nil && t >= w.Start-pre && t <= w.End+postGrace {
			graced = w
		}
	}
	if graced != nil {
		return zoneGrace, graced
	}
	for i := range d.faults.wins {
		w := &d.faults.wins[i]
		if d.sameKindTarget(w) && t >= w.Start-pre && t <= w.End+postGrace {
			return zoneOther, w
		}
	}
	return zoneOut, nil
}

// hopZone places hop i of the ledger from the ledger's own times, with no
// fixed grace: inside a window when the hop was in flight at some time in
// it (see inFlight), or, for a fault that cuts an instance or an edge off,
// when it was sent after the window closed but before its caller instance
// got a request through to the target again (the aftermath: the caller's
// connections were still reconnecting). Outside otherwise, or while
// another window of the same kind on the same target holds it the same way.
func (d *detectGroup) hopZone(i int32) (zone, *faultWin) {
	h := &d.ledger().hops[i]
	lo, hi := d.inFlight(i)
	inside := func(w *faultWin) bool {
		return (lo <= w.End && hi >= w.Start) ||
			(cutsReach(w.kind) && w.aftermath(h))
	}
	for j := range d.wins {
		if w := &d.wins[j]; inside(w) {
			return zoneIn, w
		}
	}
	for j := range d.faults.wins {
		w := &d.faults.wins[j]
		if d.sameKindTarget(w) && w.Instance == d.tgt.Instance && inside(w) {
			return zoneOther, w
		}
	}
	return zoneOut, nil
}

// inFlight is the hop ledger's inFlight, ending at the hop's client span's
// end where the ledger has no answer time.
func (d *detectGroup) inFlight(i int32) (lo, hi int64) {
	l := d.ledger()
	lo, hi = l.inFlight(i)
	if h := &l.hops[i]; h.AnsweredAt == 0 {
		if cs, ok := d.clientSpan(h); ok {
			hi = max(hi, cs.End)
		}
	}
	return lo, hi
}

// zoneExact places a time the ledger knows exactly: inside a window, in
// another window of the same kind on the same target, or outside; no grace.
func (d *detectTally) zoneExact(t int64) (zone, *faultWin) {
	for i := range d.wins {
		if w := &d.wins[i]; t >= w.Start && t <= w.End {
			return zoneIn, w
		}
	}
	for i := range d.faults.wins {
		w := &d.faults.wins[i]
		if d.sameKindTarget(w) && t >= w.Start && t <= w.End {
			return zoneOther, w
		}
	}
	return zoneOut, nil
}

// lossZone places the end time of a span a pipeline fault or a crash can
// lose: spans still queued when the window opened (up to pipelinePre before
// it) were lost to it, so that lead counts as inside.
func (d *detectTally) lossZone(t int64) (zone, *faultWin) {
	for i := range d.wins {
		if w := &d.wins[i]; t >= w.Start-pipelinePre && t <= w.End {
			return zoneIn, w
		}
	}
	return d.zoneOf(t, pipelinePre)
}
