package assert

// This file holds the detect rules of the faults that lose or delay
// spans: pipeline faults, queue overflow, crashes and pauses.

import (
	"fmt"
	"time"

	"github.com/tracerig/tracerig/internal/durfmt"
	"github.com/tracerig/tracerig/internal/record"
)

// lost reports whether ended span e is missing from the backend.
func (d *detectGroup) lost(e *record.Ended) bool {
	_, ok := d.idx.lookup(e.Trace, e.ID)
	return !ok
}

// exporterOutage: spans lost by their end time; spans queued when the
// outage began count as inside.
func (d *detectGroup) exporterOutage() {
	for i := range d.in.Ended {
		e := &d.in.Ended[i]
		z, w := d.lossZone(e.End)
		if !d.lost(e) {
			d.c.t.add(z, z, false)
			continue
		}
		q := query{effect: effectLoss, svc: e.Service, inst: e.Instance}
		d.c.t.add(d.effect(z, w, e.End, &q, e.Service, "span lost ("+e.Export.String()+")", d.spanEx(&e.Span)), z, true)
	}
}

// slowBackend collects the time until arrival inside and outside.
func (d *detectGroup) slowBackend() {
	x := d.idx
	for e := range x.ents {
		s := x.span(int32(e))
		if s.Arrived == 0 {
			continue
		}
		switch z, w := d.zoneOf(s.End, pipelinePre); z {
		case zoneIn:
			d.inside.add(s.Arrived-s.End, w.attr, d.spanEx(s))
		case zoneOut:
			d.outside.add(s.Arrived-s.End, attrNone, d.spanEx(s))
		}
	}
}

// slowBackend compares the median time until arrival inside and outside.
func (j *detectJudge) slowBackend() (bool, string) {
	mIn, mOut, ok := j.medians("backend", "slowest arrivals")
	nIn, nOut := j.inside.count(), j.outside.count()
	if !ok {
		return false, fmt.Sprintf("too few spans with arrival times to decide: %d inside, %d outside (at least 5 each)", nIn, nOut)
	}
	need := mOut + int64(j.plan.Delay/2)
	pass := mIn >= need
	s := fmt.Sprintf("median time until arrival %s inside (%d spans) versus %s outside (%d spans); needed at least %s",
		durfmt.Human(time.Duration(mIn)), nIn, durfmt.Human(time.Duration(mOut)), nOut, durfmt.Human(time.Duration(need)))
	if !pass {
		s += ": the export delay is not visible"
	}
	return pass, s
}

// queueOverflow: spans of the service dropped in the SDK queue.
func (d *detectGroup) queueOverflow() {
	for i := range d.in.Ended {
		e := &d.in.Ended[i]
		if e.Service != d.tgt.Service || !d.instanceOK(e.Instance) {
			continue
		}
		z, w := d.zoneOf(e.End, 0)
		if e.Export != record.ExportPending {
			d.c.t.add(z, z, false)
			continue
		}
		q := query{effect: effectLoss, svc: e.Service, inst: e.Instance}
		d.c.t.add(d.effect(z, w, e.End, &q, e.Service, "span dropped in SDK queue", d.spanEx(&e.Span)), z, true)
	}
}

// crash is crash and restart: spans of the instance lost (by end time,
// pipelinePre before a window counting as grace) and hops to it not
// received (by send time).
func (d *detectGroup) crash() {
	subject := targetName(d.tgt)
	if d.idx != nil {
		for i := range d.in.Ended {
			e := &d.in.Ended[i]
			if e.Service != d.tgt.Service || !d.instanceOK(e.Instance) {
				continue
			}
			z, w := d.lossZone(e.End)
			if !d.lost(e) {
				d.c.t.add(z, z, false)
				continue
			}
			q := query{effect: effectLoss, svc: e.Service, inst: e.Instance}
			d.c.t.add(d.effect(z, w, e.End, &q, subject, "span lost ("+e.Export.String()+")", d.spanEx(&e.Span)), z, true)
		}
	}
	l := d.ledger()
	for i := range l.hops {
		h := &l.hops[i]
		if !d.hopToTarget(h) {
			continue
		}
		z, w := d.hopZone(int32(i))
		if h.Received {
			d.c.t.add(z, z, false)
			continue
		}
		d.c.t.add(d.effect(z, w, h.SentAt, nil, subject, "hop not received", d.hopEx(h, "")), z, true)
	}
}

// shortestWindow is the length of the fault's shortest window.
func (d *detectTally) shortestWindow() int64 {
	shortest := int64(-1)
	for _, w := range d.wins {
		if l := w.End - w.Start; shortest < 0 || l < shortest {
			shortest = l
		}
	}
	return shortest
}

// pause: hops to the instance in flight in a window that were answered with
// an error, never received, or held before their answer (or before their
// caller gave up) longer than the held threshold; outside, hops that waited
// at least as long as the shortest window, or were never received. Until
// the windows are final the shortest is not known, and a received hop
// outside waits for the verdict in stalled.
//
// The held threshold is a tenth of the shortest window, or twice the
// longest wait of any hop to the instance outside the windows when that is
// more: a paused request may be released by its caller's own timeout long
// before the window ends, and a window's recorded end may trail the moment
// the instance resumed (docker unpause returns late), so "answered after
// the window" would miss both; a route that is slow anyway raises the bar.
func (d *detectGroup) pause() {
	shortest := d.shortestWindow()
	l := d.ledger()
	subject := targetName(d.tgt)
	for i := range l.hops {
		h := &l.hops[i]
		if !d.hopToTarget(h) {
			continue
		}
		z, w, waited := d.place(int32(i))
		why := ""
		switch z {
		case zoneIn:
			switch {
			case h.CalleeError:
				why = "callee answered with an error"
			case !h.Received:
				why = "never received"
			default:
				d.held.hold(w.attr, waited, d.hopEx(h, "held "+time.Duration(waited).String()+" before its answer"))
			}
		default:
			switch {
			case !h.Received:
				why = "never received"
			case !d.held.final:
				d.stalled.hold(d.outsideAttr(z, w), waited, d.hopEx(h, "stalled "+time.Duration(waited).String()))
			case waited >= shortest:
				why = "stalled " + time.Duration(waited).String()
			}
		}
		if why == "" {
			d.c.t.add(z, z, false)
			continue
		}
		d.c.t.add(d.effect(z, w, h.SentAt, nil, subject, "hop stalled", d.hopEx(h, why)), z, true)
	}
}

// outsideAttr is what explains a hop outside the fault's windows in zone
// z: another window of the same kind (w), or nothing.
func (d *detectTally) outsideAttr(z zone, w *faultWin) attribution {
	if z == zoneOther {
		return w.attr
	}
	return attrUnexplained
}

// pause judges the stalled hops inside and outside.
func (j *detectJudge) pause() (bool, string) {
	j.ledgerOnly("client span durations")
	t := j.heldHops(j.c.t, "hop stalled")
	if len(j.stalled.waits) > 0 {
		j.stalled.settle(j.detectTally, &t, j.own(), targetName(j.tgt), "hop stalled", j.shortestWindow())
		if j.stalled.folded() {
			j.notes = append(j.notes, fmt.Sprintf("stalls outside the windows counted within %s of the shortest window: over %d waits kept while windows could still come",
				percent(distError), distCap))
		}
	}
	subject := targetName(j.tgt)
	return j.presence(t, "stalled hops", "hops to "+subject)
}
