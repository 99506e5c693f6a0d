package synthetic

// This file runs the consumer groups that take batches (batch: N above
// 1, mode link). A batch is the messages of N consecutive requests of one
// shard: the k-th trace a shard sends (Shard.Seq(k)) is in batch k / N.
// The run of a batch is built with the batch's last request, in a trace of
// its own whose consumer span links to every message of the batch: one
// shard builds all of a batch, so a batch is built exactly once, whatever
// the number of shards.
//
// A builder keeps the messages of the batch each group is filling as it
// builds consecutive requests (Run has each builder claim whole batches at
// once: Generator.chunk). When a request comes out of order, the builder
// replays the batch's earlier requests without building them, so what Add
// builds for a request never depends on what it built before.
//
// The last batch of a run is cut short when the run ends before its last
// request: Flush then builds its run over the requests that were sent, as
// a consumer whose fetch gives what arrived by its max-wait.

import "math/rand/v2"

// batchAcc is the batch a group is filling in one builder.
type batchAcc struct {
	on    bool   // the builder runs this group's batches
	open  bool   // batch holds the messages of positions [0, next)
	batch uint64 // the batch's index in its shard
	next  int
	links []link
	msgs  int    // messages, links or not
	first uint64 // the first message's ID
	at    int64  // the latest publish added in the current Add; 0: none
}

func (a *batchAcc) add(sent link, msg uint64, at int64) {
	if a.msgs == 0 {
		a.first = msg
	}
	a.msgs++
	if sent.span != ([8]byte{}) {
		a.links = append(a.links, sent)
	}
	a.at = max(a.at, at)
}

func (a *batchAcc) reset(batch uint64) {
	a.open, a.batch, a.next = true, batch, 0
	a.links, a.msgs, a.first, a.at = a.links[:0], 0, 0, 0
}

// newAccs returns a batch per batched group, run for those track has
// (every group with a nil track); nil when no group takes batches.
func (g *Generator) newAccs(track []bool) []batchAcc {
	if len(g.batched) == 0 {
		return nil
	}
	acc := make([]batchAcc, len(g.batched))
	for i := range acc {
		acc[i].on = track == nil || track[i]
	}
	return acc
}

// setStride makes the builder's batches consecutive traces of one of n
// shards.
func (b *Builder) setStride(n uint64) {
	b.stride, b.replays = max(n, 1), nil
	for i := range b.acc {
		b.acc[i].open = false
	}
}

// pos returns the batch of gi that request seq is in, and its position in
// it.
func (b *Builder) pos(gi *groupInfo, seq uint64) (batch uint64, i int) {
	k := seq / b.stride
	return k / uint64(gi.batch), int(k % uint64(gi.batch))
}

// member returns the request at position i of batch of gi, in seq's
// shard.
func (b *Builder) member(gi *groupInfo, seq, batch uint64, i int) uint64 {
	return (batch*uint64(gi.batch)+uint64(i))*b.stride + seq%b.stride
}

// prepare readies every batch for request seq: each holds the messages of
// the requests before seq in its batch.
func (b *Builder) prepare(seq uint64) {
	for _, gi := range b.g.batched {
		a := &b.acc[gi.slot]
		if !a.on {
			continue
		}
		a.at = 0
		batch, i := b.pos(gi, seq)
		if i == 0 || !a.open || a.batch != batch || a.next != i {
			b.refill(gi, seq, batch, i)
		}
	}
}

// endBatches runs, upstream first, the batches request seq (built from
// start) completes.
func (b *Builder) endBatches(seq uint64, start int64) {
	for _, gi := range b.g.batched {
		a := &b.acc[gi.slot]
		if !a.on {
			continue
		}
		_, i := b.pos(gi, seq)
		a.next = i + 1
		if i == gi.batch-1 {
			b.runBatch(gi, a, seq, start, false)
			a.open = false
		}
	}
}

// Flush builds the runs of the batches that seq, the last request of a
// run (of its shard), leaves incomplete, each over the requests before it
// in its batch and seq, starting at startNanos, and returns their span
// count. A builder holding those batches (its last Add was seq) builds
// them from what it holds, any other replays them.
func (b *Builder) Flush(seq uint64, startNanos int64) int {
	if b.acc == nil {
		return 0
	}
	b.added, b.seq = 0, seq
	for _, gi := range b.g.batched {
		a := &b.acc[gi.slot]
		if !a.on {
			continue
		}
		a.at = 0
		batch, i := b.pos(gi, seq)
		switch {
		case i == gi.batch-1:
			// Run with seq; open for what the runs flushed here publish.
			a.reset(batch + 1)
		case !a.open || a.batch != batch || a.next != i+1:
			b.refill(gi, seq, batch, i+1)
		}
	}
	for _, gi := range b.g.batched {
		if a := &b.acc[gi.slot]; a.on && a.open {
			b.runBatch(gi, a, seq, startNanos, true)
			a.open = false
		}
	}
	b.spans += b.added
	return b.added
}

// refill fills the batch of gi that seq is in with the messages of its
// first n requests, replaying them without building them.
func (b *Builder) refill(gi *groupInfo, seq, batch uint64, n int) {
	a := &b.acc[gi.slot]
	a.reset(batch)
	if n == 0 {
		return
	}
	r := b.replayer(gi)
	for i := range n {
		r.Add(b.member(gi, seq, batch, i), 0)
	}
	ra := &r.acc[gi.slot]
	a.links = append(a.links, ra.links...)
	a.msgs, a.first, a.next = ra.msgs, ra.first, n
}

// replayer returns the builder that replays the batches of gi: it builds
// nothing and runs only the batches that feed gi's topic.
func (b *Builder) replayer(gi *groupInfo) *Builder {
	if b.replays == nil {
		b.replays = make([]*Builder, len(b.g.batched))
	}
	r := b.replays[gi.slot]
	if r == nil {
		r = &Builder{g: b.g, mode: modeCount, stride: b.stride, acc: b.g.newAccs(gi.feeds)}
		r.rng = rand.New(&r.pcg)
		b.replays[gi.slot] = r
	}
	return r
}

// Random draws of a batch's run come from a stream of their own, keyed by
// the request that runs it, its group, and whether a flush did.
const batchStream = 0x3c6ef372fe94f82b

// runBatch runs gi once for the messages of a, with request seq: in a
// trace of its own, starting after the last message the request added, or
// start, whichever is later. A batch without messages runs nothing.
func (b *Builder) runBatch(gi *groupInfo, a *batchAcc, seq uint64, start int64, flush bool) {
	if a.msgs == 0 {
		return
	}
	key := gi.key ^ 0x510e527fade682d1
	if flush {
		key = gi.key ^ 0x9b05688c2b3e6c1f
	}
	key = mix64(key)
	b.pcg.Seed(b.g.seed^batchStream, mix64(seq)^key)
	attr := batchAttr(a.msgs)
	if a.msgs == 1 {
		attr = messageIDAttr(a.first)
	}
	saved := b.enter(b.g.ownTraceID(seq, key))
	b.consume(gi, [8]byte{}, a.links, attr, max(a.at, start)+int64(netDelay))
	b.leave(saved)
}
