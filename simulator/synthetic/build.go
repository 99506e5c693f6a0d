package synthetic

// This file is Run's builders: each claims consecutive traces of the
// shard, encodes them into batches of whole traces, paced to the run's
// rate, and queues the batches for the workers.

import (
	"context"
	"time"
)

// claim is the traces a builder claimed and has yet to build: the shard's
// traces [next, end).
type claim struct{ next, end uint64 }

// take returns the next trace of the builder's claim (its index in the
// shard's slice), claiming Generator.chunk more when none is left, unless
// over: the run is over, and only what was claimed is built. It returns
// false when there is no trace to build.
func (r *run) take(c *claim, limit uint64, over bool) (uint64, bool) {
	if c.next == c.end {
		n := uint64(r.g.chunk)
		if over {
			return 0, false
		}
		first := r.c.seq.Add(n) - n
		if first >= limit {
			return 0, false
		}
		c.next, c.end = first, min(first+n, limit)
	}
	k := c.next
	c.next++
	return k, true
}

// build encodes batches into the queue until ctx ends or the traces run
// out. Every trace it claimed is built, also once ctx has ended, so that
// every seq below Stats.Traces is sent.
func (r *run) build(ctx context.Context) {
	limit := maxTraces(r.o)
	var c claim
	for over := false; ; {
		over = over || ctx.Err() != nil
		if over && c.next == c.end {
			return
		}
		bt := <-r.free // never waits: there is one batch per builder, queue slot and worker
		b := bt.enc
		b.Begin()
		now := time.Now().UnixNano()
		for b.Spans() < r.o.Batch {
			k, ok := r.take(&c, limit, over)
			if !ok {
				break
			}
			b.Add(r.o.Shard.Seq(k), now)
		}
		bt.spans, bt.linked = b.Spans(), b.Linked()
		if bt.spans == 0 {
			r.free <- bt
			return
		}
		bt.req = b.Bytes()
		if !over && r.o.Rate > 0 && !r.pace(ctx, bt.spans) {
			// The run is over, but these traces have their seqs: send
			// them, and the rest of the claim, unpaced.
			over = true
		}
		r.enqueue(bt)
	}
}

// flush queues the runs of the consumer batches that the last of the
// shard's traces, traces-1, left incomplete: once every builder is done,
// the traces of those batches are all built.
func (r *run) flush(traces uint64) {
	if traces == 0 || len(r.g.batched) == 0 {
		return
	}
	bt := <-r.free
	b := bt.enc
	b.Begin()
	b.Flush(r.o.Shard.Seq(traces-1), time.Now().UnixNano())
	bt.spans, bt.linked = b.Spans(), b.Linked()
	if bt.spans == 0 {
		r.free <- bt
		return
	}
	bt.req = b.Bytes()
	r.enqueue(bt)
}

// pace waits until a batch of n spans is due at the target rate. It
// returns false when ctx ended first.
func (r *run) pace(ctx context.Context, n int) bool {
	before := r.c.scheduled.Add(int64(n)) - int64(n)
	due := r.start.Add(time.Duration(float64(before) / r.o.Shard.Rate(r.o.Rate) * float64(time.Second)))
	d := time.Until(due)
	if d <= 0 {
		return true
	}
	return sleep(ctx, d)
}

// enqueue hands a batch to the workers, waiting for room in the queue.
func (r *run) enqueue(bt *batch) {
	r.c.sent.Add(int64(bt.spans))
	r.c.linked.Add(uint64(bt.linked))
	select {
	case r.queue <- bt:
		return
	default:
	}
	r.c.blocked.Add(1)
	r.queue <- bt
	r.c.blocked.Add(-1)
}
