package simulator

import (
	"slices"
	"time"

	"github.com/tracerig/tracerig/internal/record"
)

// Settled is one self-contained part of a run's ledger: a connected
// component of load requests, the hops they caused, the traces those hops
// sent, received or served under, and the spans that ended in those
// traces. No record of a component is ever in two groups, so a check can
// read a group alone and forget it.
type Settled struct {
	Hops  []record.Hop
	Ended []record.Ended
}

// Drain takes out of the ledger the components that have settled and
// returns them as groups, in no particular order, and forgets them; the
// rest wait, out of the writers' way, for a later Drain. It lets a run
// verify while load runs with memory bounded by what is in flight.
//
// Records join one component when they share a load request (a send's
// request), a hop ID (a hop's own, or the parent hop a send was made
// under, which is how the calls of a request from an external caller
// hang together), or a trace ID (a hop's sent, received or server
// context, an orphan hop's, an ended span's). A component is settled
// when:
//
//   - every hop it names has a send or an orphan record (a parent hop of
//     an external caller is recorded only when its handler returns);
//   - every send has an answer record: its caller got the answer or gave
//     up (callers record the answer after their client span ended);
//   - every receive or orphan record that announced a sampled server span
//     has that span's end record (the span ends after the record);
//   - every ended span has an export outcome, acknowledged or failed (a
//     span the SDK queue dropped or a crash lost never has one, and its
//     component waits for DrainStale or DrainAll);
//   - no Drain took a record of it less than quiet before now (unix ns).
//
// Drain takes the writers' records as one consistent cut, so a record is
// never taken before one that happened before it: a receive or an answer
// is never taken before its send, an export outcome never before its
// span's end. What is left to quiet is what no record announces: the
// callee side of a hop whose caller gave up, which the callee records when
// its handler notices; a hop nobody received (refused, partitioned) looks
// the same until then. Quiet must exceed the time a callee takes to notice
// that its caller gave up, and the time between two exports of one span.
// A record that comes after its component was released cannot join it:
// DrainLate counts those that Drain can recognise (a receive, an export
// outcome); a span that ends after its component was released, or a
// trace ID an external caller sends again much later, starts a new group.
//
// Drain is for the ledger of an in-process run, where every send of a hop
// is recorded in the same ledger as its receive, or one that the ledgers
// of several processes are merged into as they go (Merger): there a
// process's records may reach the ledger a Drain after another's written
// later, so a receive taken before its send waits one Drain for it, and
// quiet must exceed the time between two merges too. A ledger meant for
// Export is not drained.
func (l *Ledger) Drain(now int64, quiet time.Duration) []Settled {
	l.drainMu.Lock()
	defer l.drainMu.Unlock()
	out := l.release(l.take(), now, quiet, false)
	l.pending.prev = now
	return out
}

// DrainedBefore returns a time before which every record the ledger was
// given has been returned by Drain or DrainStale (unix ns; 0 before the
// first Drain): a group that ends before it has seen every hop sent
// before its end. It is the last Drain's now, or the earliest time a
// record still pending may have been written, whichever comes first;
// recordSlack allows for a record written a moment after the time it
// carries.
func (l *Ledger) DrainedBefore() int64 {
	l.drainMu.Lock()
	defer l.drainMu.Unlock()
	w := l.pending.prev
	for c := range l.pending.comps {
		w = min(w, c.since)
	}
	if w == 0 {
		return 0
	}
	return w - int64(recordSlack)
}

// recordSlack bounds how long after the time a record carries (a hop's
// send, a span's end) it is written to the ledger.
const recordSlack = time.Second

// DrainAll takes everything the ledger still holds, settled or not, and
// returns it as groups, one per component, converted as Snapshot would
// convert it (an ended span whose export never returned is pending, a hop
// never received or answered says so). It is the final flush of a run,
// after the exporters flushed. The union of every group Drain and
// DrainAll returned equals what Snapshot of the undrained ledger would
// have returned.
func (l *Ledger) DrainAll() []Settled {
	l.drainMu.Lock()
	defer l.drainMu.Unlock()
	out := l.release(l.take(), 0, 0, true)
	l.pending = pending{late: l.pending.late + len(l.pending.early)}
	return out
}

// DrainStale releases the components no Drain has touched for after,
// settled or not, converted as DrainAll converts them. A span the SDK queue
// dropped, or a crash lost, never gets an export outcome, and without it
// its request would wait for the end of the run: a run of any length calls
// DrainStale after Drain to keep what it holds bounded. after must exceed
// the longest a span waits in an SDK queue and an export takes with its
// retries; a record that comes later is counted by DrainLate.
func (l *Ledger) DrainStale(now int64, after time.Duration) []Settled {
	l.drainMu.Lock()
	defer l.drainMu.Unlock()
	p := &l.pending
	var out []Settled
	for c := range p.comps {
		if now-c.last >= int64(after) {
			out = append(out, l.settle(c))
			p.forget(c)
		}
	}
	return out
}

// DrainLate counts the records Drain took after their component had been
// released, which it could not place: receives and export outcomes. A
// quiet long enough for the run leaves it at zero.
func (l *Ledger) DrainLate() int {
	l.drainMu.Lock()
	defer l.drainMu.Unlock()
	return l.pending.late
}

// taken is what one Drain (or ExportTaken) swapped out of one shard: its
// logs as they were, the reason symbols the fail marks of its export
// records name, and the shard's failure tallies counting only the spans
// failed since the previous take.
type taken struct {
	logs
	reasons  []uint32
	failures []failureTally
	from     *shard
}

// failReason returns the reason symbol of a failed export record, or
// failUnknown.
func (t *taken) failReason(e exportRec) uint32 {
	if e.fail == 0 || int(e.fail) > len(t.reasons) {
		return failUnknown
	}
	return t.reasons[e.fail-1]
}

// take swaps every shard's logs out for empty ones, holding every shard's
// lock (and the ledger's, so no shard appears meanwhile) at once: a
// writer that appended to one shard after its logs were taken waited for
// all of them to be, so whatever it recorded before is taken too. Each
// shard costs a few pointer swaps under its lock.
func (l *Ledger) take() []taken {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.shards {
		s.mu.Lock()
	}
	out := make([]taken, len(l.shards))
	for i, s := range l.shards {
		out[i] = s.takeLocked()
	}
	for _, s := range l.shards {
		s.mu.Unlock()
	}
	return out
}

// takeLocked swaps the shard's logs out. The caller holds s.mu.
func (s *shard) takeLocked() taken {
	t := taken{logs: s.logs, reasons: make([]uint32, len(s.failures)), failures: slices.Clone(s.failures), from: s}
	for i := range s.failures {
		f := &s.failures[i]
		t.reasons[i] = f.reason
		t.failures[i].spans -= f.took
		f.took = f.spans
	}
	s.drained.ended += s.ended.len()
	s.drained.exports += s.exports.len()
	s.drained.sends += s.sends.len()
	s.drained.orphans += s.orphans.len()
	s.logs = logs{}
	return t
}

// release files what take took into the pending components, then returns
// the settled ones (all of them when all is set) and forgets them.
func (l *Ledger) release(ts []taken, now int64, quiet time.Duration, all bool) []Settled {
	p := &l.pending
	p.file(now, ts)
	var out []Settled
	for c := range p.comps {
		if !all {
			if !c.dirty || now-c.last < int64(quiet) {
				continue
			}
			if !c.settled() {
				// Only a new record can settle it: skip it until then.
				c.dirty = false
				continue
			}
		}
		out = append(out, l.settle(c))
		p.forget(c)
	}
	return out
}

// settle converts a component's records as Snapshot converts a ledger's.
func (l *Ledger) settle(c *component) Settled {
	outcome := make(map[spanKey]exportOutcome, len(c.exports))
	for _, e := range c.exports {
		foldOutcome(outcome, spanKey{e.trace, e.id}, e.ok, e.reason, e.at)
	}
	recvs := make(map[uint64]recvRec, len(c.recvs))
	for _, r := range c.recvs {
		recvs[r.hop] = r
	}
	answers := make(map[uint64]answerRec, len(c.answers))
	for _, a := range c.answers {
		answers[a.hop] = a
	}
	out := Settled{Ended: make([]record.Ended, 0, len(c.ended)), Hops: make([]record.Hop, 0, len(c.sends)+len(c.orphans))}
	for _, e := range c.ended {
		out.Ended = append(out.Ended, l.ended(e, outcome))
	}
	for _, r := range c.sends {
		h := l.hop(r, recvs)
		a := answers[r.hop]
		h.AnsweredAt, h.ConnIdleSince = a.at, a.idleSince
		out.Hops = append(out.Hops, h)
	}
	for _, o := range c.orphans {
		out.Hops = append(out.Hops, l.orphanHop(o))
	}
	return out
}
