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
func (d *detectCheck) lost(e *record.Ended) bool {
	_, ok := d.idx.lookup(e.Trace, e.ID)
	return !ok
}

// exporterOutage: spans lost by their end time; spans queued when the
// outage began count as inside.
func (d *detectCheck) exporterOutage() (bool, string) {
	var t tally
	for i := range d.in.Ended {
		e := &d.in.Ended[i]
		z, w := d.lossZone(e.End)
		if !d.lost(e) {
			t.add(z, z, false)
			continue
		}
		q := query{effect: effectLoss, svc: e.Service, inst: e.Instance}
		t.add(d.effectIn(z, w, e.End, &q, e.Service, "span lost ("+e.Export.String()+")", d.spanEx(&e.Span)), z, true)
	}
	return d.presence(t, "spans lost", "ended spans")
}

// slowBackend compares the time until arrival inside and outside.
func (d *detectCheck) slowBackend() (bool, string) {
	var in, out []sample
	x := d.idx
	for e := range x.ents {
		s := x.span(int32(e))
		if s.Arrived == 0 {
			continue
		}
		switch z, w := d.zoneOf(s.End, pipelinePre); z {
		case zoneIn:
			in = append(in, sample{s.Arrived - s.End, int32(e), w})
		case zoneOut:
			out = append(out, sample{s.Arrived - s.End, int32(e), nil})
		}
	}
	mIn, mOut, ok := split(in, out)
	d.stats["population_inside"], d.stats["population_outside"] = float64(len(in)), float64(len(out))
	d.evidence(in, out, "backend", "slowest arrivals")
	if !ok {
		return false, fmt.Sprintf("too few spans with arrival times to decide: %d inside, %d outside (at least 5 each)", len(in), len(out))
	}
	d.stats["median_inside_seconds"] = time.Duration(mIn).Seconds()
	d.stats["median_outside_seconds"] = time.Duration(mOut).Seconds()
	need := mOut + int64(d.plan.Delay/2)
	pass := mIn >= need
	s := fmt.Sprintf("median time until arrival %s inside (%d spans) versus %s outside (%d spans); needed at least %s",
		durfmt.Human(time.Duration(mIn)), len(in), durfmt.Human(time.Duration(mOut)), len(out), durfmt.Human(time.Duration(need)))
	if !pass {
		s += ": the export delay is not visible"
	}
	return pass, s
}

// queueOverflow: spans of the service dropped in the SDK queue.
func (d *detectCheck) queueOverflow() (bool, string) {
	var t tally
	for i := range d.in.Ended {
		e := &d.in.Ended[i]
		if e.Service != d.tgt.Service || !d.instanceOK(e.Instance) {
			continue
		}
		z, _ := d.zoneOf(e.End, 0)
		if e.Export != record.ExportPending {
			t.add(z, z, false)
			continue
		}
		q := query{effect: effectLoss, svc: e.Service, inst: e.Instance}
		t.add(d.effect(e.End, 0, &q, e.Service, "span dropped in SDK queue", d.spanEx(&e.Span)), z, true)
	}
	return d.presence(t, "spans dropped in the SDK queue", "ended spans of "+targetName(d.tgt))
}

// crash is crash and restart: spans of the instance lost (by end time,
// pipelinePre before a window counting as grace) and hops to it not
// received (by send time).
func (d *detectCheck) crash() (bool, string) {
	var t tally
	subject := targetName(d.tgt)
	if d.idx == nil {
		d.ledgerOnly("lost spans")
	} else {
		for i := range d.in.Ended {
			e := &d.in.Ended[i]
			if e.Service != d.tgt.Service || !d.instanceOK(e.Instance) {
				continue
			}
			z, w := d.lossZone(e.End)
			if !d.lost(e) {
				t.add(z, z, false)
				continue
			}
			q := query{effect: effectLoss, svc: e.Service, inst: e.Instance}
			t.add(d.effectIn(z, w, e.End, &q, subject, "span lost ("+e.Export.String()+")", d.spanEx(&e.Span)), z, true)
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
			t.add(z, z, false)
			continue
		}
		t.add(d.effectIn(z, w, h.SentAt, nil, subject, "hop not received", d.hopEx(h, "")), z, true)
	}
	return d.presence(t, "spans lost or hops not received", "spans and hops of "+subject)
}

// placedHop is a hop of the ledger placed by hopZone, with how long its
// caller waited for the answer.
type placedHop struct {
	i      int32
	z      zone
	w      *faultWin
	waited int64
}

// placeHops places the hops that match and returns them with the held
// threshold: a tenth of the shortest window, or twice the longest wait of
// a matching hop outside the windows when that is more. A hop inside that
// waited at least that long was held by the fault.
func (d *detectCheck) placeHops(match func(*record.Hop) bool, shortest int64) ([]placedHop, int64) {
	l := d.ledger()
	var hops []placedHop
	var baseline int64
	for i := range l.hops {
		h := &l.hops[i]
		if !match(h) {
			continue
		}
		z, w := d.hopZone(int32(i))
		_, answered := d.inFlight(int32(i))
		p := placedHop{int32(i), z, w, answered - h.SentAt}
		if z == zoneOut && h.Received {
			baseline = max(baseline, p.waited)
		}
		hops = append(hops, p)
	}
	held := max(shortest/10, 2*baseline)
	d.stats["held_threshold_seconds"] = time.Duration(held).Seconds()
	d.stats["baseline_wait_seconds"] = time.Duration(baseline).Seconds()
	return hops, held
}

// shortestWindow is the length of the fault's shortest window.
func (d *detectCheck) shortestWindow() int64 {
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
// at least as long as the shortest window, or were never received.
//
// The held threshold is a tenth of the shortest window, or twice the
// longest wait of any hop to the instance outside the windows when that is
// more: a paused request may be released by its caller's own timeout long
// before the window ends, and a window's recorded end may trail the moment
// the instance resumed (docker unpause returns late), so "answered after
// the window" would miss both; a route that is slow anyway raises the bar.
func (d *detectCheck) pause() (bool, string) {
	if d.idx == nil {
		d.ledgerOnly("client span durations")
	}
	shortest := d.shortestWindow()
	l := d.ledger()
	hops, held := d.placeHops(d.hopToTarget, shortest)
	var t tally
	subject := targetName(d.tgt)
	for _, p := range hops {
		h := &l.hops[p.i]
		why := ""
		switch p.z {
		case zoneIn:
			switch {
			case h.CalleeError:
				why = "callee answered with an error"
			case !h.Received:
				why = "never received"
			case p.waited >= held:
				why = "held " + time.Duration(p.waited).String() + " before its answer"
			}
		default:
			switch {
			case !h.Received:
				why = "never received"
			case p.waited >= shortest:
				why = "stalled " + time.Duration(p.waited).String()
			}
		}
		if why == "" {
			t.add(p.z, p.z, false)
			continue
		}
		t.add(d.effectIn(p.z, p.w, h.SentAt, nil, subject, "hop stalled", d.hopEx(h, why)), p.z, true)
	}
	return d.presence(t, "stalled hops", "hops to "+subject)
}
