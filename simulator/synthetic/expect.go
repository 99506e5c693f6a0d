package synthetic

import (
	"math/rand/v2"

	"github.com/tracerig/tracerig/internal/record"
)

// Expect returns the trace ID of trace seq and the number of spans it has:
// what a read-back must find for it. The traces its messages start of
// their own are ExpectSent's. It builds nothing.
func (g *Generator) Expect(seq uint64) (record.TraceID, int) {
	var b Builder
	b.g, b.seq = g, seq
	b.startTrace(seq, 0)
	b.serve(b.entry(), [8]byte{}, 0)
	return g.TraceID(seq), b.n
}

// SentTrace is one trace a run sends: its ID and its span count.
type SentTrace struct {
	ID    record.TraceID
	Spans int
}

// ExpectSent returns every trace a run of shard sh sends as it builds
// trace seq: the request's own first (Expect's), then each trace a
// consumer in mode link starts, for one of its messages or for a batch
// whose last request seq is; with last, seq being the last trace the shard
// sent, also the runs of the batches the run's end cut short (Flush). It
// builds nothing.
func (g *Generator) ExpectSent(seq uint64, sh Shard, last bool) []SentTrace {
	b := &Builder{g: g, mode: modeCount, acc: g.newAccs(nil)}
	b.rng = rand.New(&b.pcg)
	b.setStride(sh.shards())
	out := []SentTrace{{ID: g.TraceID(seq)}}
	b.onTrace = func(id record.TraceID, spans int) { out = append(out, SentTrace{ID: id, Spans: spans}) }
	b.Add(seq, 0)
	out[0].Spans = b.n
	if last {
		b.Flush(seq, 0)
	}
	return out
}

// SampleSeqs returns about n of the sequence numbers of the first traces
// traces of shard sh, spread evenly, and the last one, for a read-back to
// look up with ExpectSent. The step between them shares no factor with any
// consumer batch, so that the sample holds requests at every position of a
// batch, those that complete one among them.
func (g *Generator) SampleSeqs(sh Shard, traces, n uint64) []uint64 {
	if traces == 0 {
		return nil
	}
	step := max(traces/max(n, 1), 1)
	for step < traces && !g.coprime(step) {
		step++
	}
	var out []uint64
	for k := uint64(0); k < traces; k += step {
		out = append(out, sh.Seq(k))
	}
	if last := sh.Seq(traces - 1); out[len(out)-1] != last {
		out = append(out, last)
	}
	return out
}

// coprime reports whether step shares no factor with any batch.
func (g *Generator) coprime(step uint64) bool {
	for _, gi := range g.batched {
		a, b := step, uint64(gi.batch)
		for b != 0 {
			a, b = b, a%b
		}
		if a != 1 {
			return false
		}
	}
	return true
}
