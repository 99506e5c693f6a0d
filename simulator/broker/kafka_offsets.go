package broker

import "sync"

// maxTracked bounds the offsets a tracker remembers per partition. The
// bound is never reached in practice (a partition holds at most about
// Batch × MaxDeliveries offsets past its first failed one); past it, the
// partition's acknowledged offsets are forgotten and, being delivered
// again by the broker, are handed again to the handler: at least once.
const maxTracked = 1 << 16

// tracker is what a Kafka consumer remembers of the offsets it has not
// committed yet: how often each was handed to the handler, and which were
// acknowledged after an earlier offset of their partition failed. The
// broker sends those again after the rewind to the failed offset; the
// consumer does not hand them again to the handler, so that the handler
// sees each message until it acknowledges it, as on NATS.
//
// It is pruned on every commit (offsets below the committed one are
// dropped) and when a partition is revoked or lost.
type tracker struct {
	mu    sync.Mutex
	parts map[int32]*partState
}

// partState is a tracker's state for one partition.
type partState struct {
	deliveries map[int64]int      // offset → times handed to the handler
	acked      map[int64]struct{} // offsets acknowledged past a failed one
}

func newTracker() *tracker { return &tracker{parts: map[int32]*partState{}} }

func (t *tracker) part(p int32) *partState {
	ps := t.parts[p]
	if ps == nil {
		ps = &partState{deliveries: map[int64]int{}, acked: map[int64]struct{}{}}
		t.parts[p] = ps
	}
	return ps
}

// admit is called for each record fetched. It reports whether the record
// goes to the handler (false: it was acknowledged already) and, if so,
// how many times it was handed to the handler before, counting this
// delivery.
func (t *tracker) admit(p int32, off int64) (redelivery int, hand bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ps := t.part(p)
	if _, ok := ps.acked[off]; ok {
		return 0, false
	}
	redelivery = ps.deliveries[off]
	if len(ps.deliveries) >= maxTracked {
		clear(ps.deliveries)
	}
	ps.deliveries[off] = redelivery + 1
	return redelivery, true
}

// outcome is what became of one fetched record of a partition.
type outcome struct {
	offset int64
	// ok is true for a record acknowledged by the handler, sent to the
	// dead-letter topic, or not handed to the handler (acknowledged
	// before).
	ok bool
}

// settle records the outcomes of one batch's records of partition p, in
// offset order. It returns the offset to commit (the first failed one, or
// the one after the last record) and whether the partition must be
// rewound to it for the broker to send the failed record again.
func (t *tracker) settle(p int32, outs []outcome) (commit int64, rewind bool) {
	if len(outs) == 0 {
		return -1, false
	}
	commit = outs[len(outs)-1].offset + 1
	for _, o := range outs {
		if !o.ok {
			commit, rewind = o.offset, true
			break
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	ps := t.part(p)
	for _, o := range outs {
		if o.ok && o.offset > commit {
			if len(ps.acked) >= maxTracked {
				clear(ps.acked)
			}
			ps.acked[o.offset] = struct{}{}
		}
	}
	ps.prune(commit)
	return commit, rewind
}

// prune forgets the offsets below commit.
func (ps *partState) prune(commit int64) {
	for off := range ps.deliveries {
		if off < commit {
			delete(ps.deliveries, off)
		}
	}
	for off := range ps.acked {
		if off < commit {
			delete(ps.acked, off)
		}
	}
}

// drop forgets the partitions in ps, revoked or lost: another member
// consumes them from their committed offsets.
func (t *tracker) drop(ps []int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range ps {
		delete(t.parts, p)
	}
}

// size returns how many offsets t remembers, for tests.
func (t *tracker) size() (deliveries, acked int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, ps := range t.parts {
		deliveries += len(ps.deliveries)
		acked += len(ps.acked)
	}
	return deliveries, acked
}
