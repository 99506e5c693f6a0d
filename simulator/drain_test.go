package simulator

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/tracerig/tracerig/internal/record"
)

// teeDrain drains l as Drain does (DrainAll with all), and adds every
// record it takes to ref, which so holds what l would hold undrained.
func teeDrain(l, ref *Ledger, now int64, quiet time.Duration, all bool) []Settled {
	l.drainMu.Lock()
	defer l.drainMu.Unlock()
	ts := l.take()
	mirror(ref, ts)
	out := l.release(ts, now, quiet, all)
	if all {
		l.pending = pending{late: l.pending.late + len(l.pending.early)}
	}
	return out
}

// mirror appends the records of each taken shard to ref's shard of the
// same index.
func mirror(ref *Ledger, ts []taken) {
	for len(ref.shards) < len(ts) {
		ref.newShard()
	}
	for i := range ts {
		t, s := &ts[i], ref.shards[i]
		s.mu.Lock()
		appendAll(&s.ended, &t.ended)
		appendAll(&s.batches, &t.batches)
		appendAll(&s.sends, &t.sends)
		appendAll(&s.recvs, &t.recvs)
		appendAll(&s.answers, &t.answers)
		appendAll(&s.orphans, &t.orphans)
		for e := range t.exports.all() {
			if !e.ok() {
				s.failed++
			}
			s.exports.add(e)
		}
		s.mu.Unlock()
	}
}

func appendAll[T any](dst, src *chunks[T]) {
	for v := range src.all() {
		dst.add(v)
	}
}

// finishMirror gives ref what conversion reads beside the records: l's
// symbols and failure tallies.
func finishMirror(ref, l *Ledger) {
	ref.syms.names.Store(l.syms.names.Load())
	for i, s := range l.snapshotShards() {
		s.mu.Lock()
		ref.shards[i].failures = slices.Clone(s.failures)
		s.mu.Unlock()
	}
}

// sameRecords fails unless the groups together hold exactly snap's hops
// and ended spans, as multisets.
func sameRecords(t *testing.T, groups []Settled, snap Snapshot) {
	t.Helper()
	hops, ended := map[record.Hop]int{}, map[string]int{}
	for _, g := range groups {
		for _, h := range g.Hops {
			hops[h]++
		}
		for _, e := range g.Ended {
			ended[fmt.Sprintf("%+v", e)]++
		}
	}
	wantHops, wantEnded := map[record.Hop]int{}, map[string]int{}
	for _, h := range snap.Hops {
		wantHops[h]++
	}
	for _, e := range snap.Ended {
		wantEnded[fmt.Sprintf("%+v", e)]++
	}
	if !maps.Equal(hops, wantHops) {
		t.Errorf("drained %d distinct hops, snapshot has %d; they differ", len(hops), len(wantHops))
		for h, n := range wantHops {
			if hops[h] != n {
				t.Logf("hop %x %s -> %s: drained %d times, snapshot %d: %+v", h.ID, h.From, h.To, hops[h], n, h)
			}
		}
	}
	if !maps.Equal(ended, wantEnded) {
		t.Errorf("drained %d distinct ended spans, snapshot has %d; they differ", len(ended), len(wantEnded))
		for e, n := range wantEnded {
			if ended[e] != n {
				t.Logf("ended drained %d times, snapshot %d: %s", ended[e], n, e)
			}
		}
	}
}

// wholeComponents fails when a request, hop or trace shows up in two groups.
func wholeComponents(t *testing.T, groups []Settled) {
	t.Helper()
	owner := map[nodeKey]int{}
	claim := func(k nodeKey, g int) {
		if o, ok := owner[k]; ok && o != g {
			t.Errorf("%v is in groups %d and %d", k, o, g)
		}
		owner[k] = g
	}
	for g, s := range groups {
		for _, h := range s.Hops {
			claim(keyHop(h.ID), g)
			if h.Parent != 0 {
				claim(keyHop(h.Parent), g)
			}
			if h.Request != 0 {
				claim(keyRequest(h.Request), g)
			}
			for _, c := range []record.Context{h.Sent, h.Got, h.Server} {
				if c.Trace.IsValid() {
					claim(keyTrace(c.Trace), g)
				}
			}
		}
		for _, e := range s.Ended {
			claim(keyTrace(e.Trace), g)
		}
	}
}

// hand is a ledger being filled by hand: a load shard and two service
// shards, with helpers for the records of one hop.
type hand struct {
	l           *Ledger
	load, a, b  *shard
	front, back uint32
}

func newHand() *hand {
	l := NewLedger()
	return &hand{l: l, load: l.loads, a: l.newShard(), b: l.newShard(), front: l.syms.id("front"), back: l.syms.id("back")}
}

var (
	traceA = record.TraceID{0xa}
	traceB = record.TraceID{0xb}
	traceX = record.TraceID{0xe}
)

func ctxOf(tr record.TraceID, span byte, sampled bool) record.Context {
	return record.Context{Trace: tr, Span: record.SpanID{span}, Sampled: sampled}
}

// loadHop records load request n's hop into front, which served it in a
// sampled server span s of trace tr.
func (h *hand) loadHop(n uint64, tr record.TraceID, s byte) {
	h.load.addSend(sendRec{hop: 100 + n, request: n, to: h.front, sentAt: 1})
	h.a.addRecv(recvRec{hop: 100 + n, server: ctxOf(tr, s, true), serverSpan: true})
}

// span records that span s of tr ended in shard sh.
func (h *hand) span(sh *shard, tr record.TraceID, s, parent byte) {
	sh.addEnded(endRec{trace: tr, id: record.SpanID{s}, parent: record.SpanID{parent}, service: h.front})
}

func (h *hand) exported(sh *shard, tr record.TraceID, s byte) {
	sh.addExports([]exportRec{{trace: tr, id: record.SpanID{s}}}, 50)
}

// complete records load request 1 through front, its server span 1 in
// trace A ended and exported.
func (h *hand) complete() {
	h.loadHop(1, traceA, 1)
	h.load.addAnswer(101, 9, 0)
	h.span(h.a, traceA, 1, 0)
	h.exported(h.a, traceA, 1)
}

// settleRuleTests are hand-built ledgers and what Drain releases of them
// once quiet passed.
var settleRuleTests = []struct {
	name   string
	fill   func(h *hand)
	groups int // released once quiet passed
	hops   int // in them
}{
	{"a hop answered, its server span exported", (*hand).complete, 1, 1},
	{"a send without its answer", func(h *hand) {
		h.loadHop(1, traceA, 1)
		h.span(h.a, traceA, 1, 0)
		h.exported(h.a, traceA, 1)
	}, 0, 0},
	{"a server span announced but not ended", func(h *hand) {
		h.loadHop(1, traceA, 1)
		h.load.addAnswer(101, 9, 0)
	}, 0, 0},
	{"an unsampled server span needs no end", func(h *hand) {
		h.load.addSend(sendRec{hop: 101, request: 1, to: h.front})
		h.a.addRecv(recvRec{hop: 101, server: ctxOf(traceA, 1, false), serverSpan: true})
		h.load.addAnswer(101, 9, 0)
	}, 1, 1},
	{"an ended span whose export never returned", func(h *hand) {
		h.complete()
		h.span(h.a, traceA, 2, 1)
	}, 0, 0},
	{"a failed export is an outcome", func(h *hand) {
		h.loadHop(1, traceA, 1)
		h.load.addAnswer(101, 9, 0)
		h.span(h.a, traceA, 1, 0)
		h.a.addFailedExports([]exportRec{{trace: traceA, id: record.SpanID{1}}}, 50, exportFailure{service: h.front, reason: "http 503", message: "no"})
	}, 1, 1},
	{"an answered hop nobody received", func(h *hand) {
		h.load.addSend(sendRec{hop: 101, request: 1, to: h.front})
		h.load.addAnswer(101, 9, 0)
	}, 1, 1},
	{"two requests apart", func(h *hand) {
		h.complete()
		h.loadHop(2, traceB, 2)
		h.load.addAnswer(102, 9, 0)
		h.span(h.a, traceB, 2, 0)
		h.exported(h.a, traceB, 2)
	}, 2, 2},
	{"a propagation break stays in its request's group", func(h *hand) {
		h.complete()
		// front calls back, which got no context and started trace B.
		h.a.addSend(sendRec{hop: 7, parent: 101, request: 1, from: h.front, to: h.back, sent: ctxOf(traceA, 3, true), clientSpan: true})
		h.b.addRecv(recvRec{hop: 7, server: ctxOf(traceB, 4, true), serverSpan: true})
		h.a.addAnswer(7, 8, 0)
		h.span(h.a, traceA, 3, 1)
		h.span(h.b, traceB, 4, 0)
		h.exported(h.a, traceA, 3)
		h.exported(h.b, traceB, 4)
	}, 1, 2},
	{"an external callback joins two requests' traces", func(h *hand) {
		h.complete()
		h.loadHop(2, traceB, 2)
		h.load.addAnswer(102, 9, 0)
		h.span(h.a, traceB, 2, 0)
		h.exported(h.a, traceB, 2)
		// An external caller sent both traces' contexts on.
		h.b.addOrphan(orphanRec{recv: recvRec{hop: 900, got: ctxOf(traceA, 1, true), server: ctxOf(traceA, 5, false), serverSpan: true}, to: h.back})
		h.b.addOrphan(orphanRec{recv: recvRec{hop: 901, got: ctxOf(traceB, 2, true), server: ctxOf(traceA, 6, false), serverSpan: true}, to: h.back})
	}, 1, 4},
	{"a call made for an external caller still serving", func(h *hand) {
		// back serves external hop 900 (no trace) and called front.
		h.b.addSend(sendRec{hop: 8, parent: 900, from: h.back, to: h.front})
		h.b.addAnswer(8, 9, 0)
	}, 0, 0},
	{"a call made for an external caller that answered", func(h *hand) {
		h.b.addSend(sendRec{hop: 8, parent: 900, from: h.back, to: h.front})
		h.b.addAnswer(8, 9, 0)
		h.b.addOrphan(orphanRec{recv: recvRec{hop: 900}, to: h.back})
	}, 1, 2},
}

// TestDrainSettleRule drains hand-built ledgers twice, once before quiet
// passed and once after, and checks which groups came out.
func TestDrainSettleRule(t *testing.T) {
	const quiet = 10 * time.Millisecond
	for _, tt := range settleRuleTests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHand()
			tt.fill(h)
			ref := NewLedger()
			const at = int64(1e9)
			if early := teeDrain(h.l, ref, at, quiet, false); len(early) != 0 {
				t.Errorf("released %d groups before quiet passed", len(early))
			}
			groups := teeDrain(h.l, ref, at+int64(quiet), quiet, false)
			hops := 0
			for _, g := range groups {
				hops += len(g.Hops)
			}
			if len(groups) != tt.groups || hops != tt.hops {
				t.Errorf("released %d groups with %d hops, want %d with %d", len(groups), hops, tt.groups, tt.hops)
			}
			if _, n := h.l.pending.size(); tt.groups > 0 && n != 0 {
				t.Errorf("%d records still pending", n)
			}
			rest := teeDrain(h.l, ref, 0, 0, true)
			finishMirror(ref, h.l)
			all := append(groups, rest...)
			sameRecords(t, all, ref.Snapshot())
			wholeComponents(t, all)
			if h.l.DrainLate() != 0 {
				t.Errorf("%d late records", h.l.DrainLate())
			}
		})
	}
}

// TestDrainLateReceive: a hop answered but not received settles once
// quiet passed; a receive that comes after cannot join it and is counted.
func TestDrainLateReceive(t *testing.T) {
	h := newHand()
	h.load.addSend(sendRec{hop: 101, request: 1, to: h.front})
	h.load.addAnswer(101, 9, 0)
	h.l.Drain(1, time.Nanosecond)
	if got := h.l.Drain(2, time.Nanosecond); len(got) != 1 || got[0].Hops[0].Received {
		t.Fatalf("released %+v, want the hop unreceived", got)
	}
	h.a.addRecv(recvRec{hop: 101})
	if got := h.l.DrainAll(); len(got) != 0 {
		t.Errorf("DrainAll returned %+v for a late receive", got)
	}
	if h.l.DrainLate() != 1 {
		t.Errorf("%d late records, want 1", h.l.DrainLate())
	}
}

// TestDrainReceiveBeforeSend: in a ledger merged from processes one after
// another, a receive may be taken a Drain before its hop's send: it waits
// one Drain and joins the send; one whose send does not come by then is
// late.
func TestDrainReceiveBeforeSend(t *testing.T) {
	for _, tt := range []struct {
		name     string
		sendLate int // Drains between the receive's and the send's
		late     int
	}{
		{name: "send a Drain later", sendLate: 1},
		{name: "send never", sendLate: -1, late: 1},
		{name: "send two Drains later", sendLate: 2, late: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHand()
			h.a.addRecv(recvRec{hop: 101})
			var got []Settled
			for i := range 3 {
				if i == tt.sendLate {
					h.load.addSend(sendRec{hop: 101, request: 1, to: h.front})
					h.load.addAnswer(101, 9, 0)
				}
				got = append(got, h.l.Drain(int64(i+1), time.Nanosecond)...)
			}
			got = append(got, h.l.DrainAll()...)
			var received int
			for _, g := range got {
				for _, hop := range g.Hops {
					if hop.Received {
						received++
					}
				}
			}
			if want := 1 - tt.late; received != want {
				t.Errorf("%d hops received in %+v, want %d", received, got, want)
			}
			if n := h.l.DrainLate(); n != tt.late {
				t.Errorf("%d late records, want %d", n, tt.late)
			}
		})
	}
}

// TestDrainKeepsTotals: Totals and ExportFailures count drained records.
func TestDrainKeepsTotals(t *testing.T) {
	h := newHand()
	h.complete()
	h.span(h.a, traceA, 2, 1)
	h.a.addFailedExports([]exportRec{{trace: traceA, id: record.SpanID{2}}}, 60, exportFailure{service: h.front, reason: "http 503", message: "no"})
	h.l.ExportRetried(1)
	before := h.l.Totals()
	h.l.Drain(1, 0)
	h.l.Drain(2, 0)
	if _, n := h.l.pending.size(); n != 0 {
		t.Fatalf("%d records still pending", n)
	}
	if after := h.l.Totals(); after != before {
		t.Errorf("totals after draining %+v, before %+v", after, before)
	}
	want := Totals{SpansEnded: 2, SpansExported: 1, ExportFailed: 1, ExportRetries: 1, Hops: 1, Requests: 1}
	if before != want {
		t.Errorf("totals %+v, want %+v", before, want)
	}
	if f := h.l.ExportFailures(); len(f) != 1 || f[0].Spans != 1 {
		t.Errorf("export failures %+v", f)
	}
}

// TestDrainStale: a request whose span never got an export outcome (the SDK
// queue dropped it) never settles, and DrainStale releases it once nothing
// touched it for long enough, the span pending; an outcome that comes after
// is counted as late.
func TestDrainStale(t *testing.T) {
	h := newHand()
	h.loadHop(1, traceA, 1)
	h.load.addAnswer(101, 9, 0)
	h.span(h.a, traceA, 1, 0)
	const after = 30 * time.Second
	h.l.Drain(1, time.Nanosecond)
	if got := h.l.Drain(2, time.Nanosecond); len(got) != 0 {
		t.Fatalf("released %d groups with an export outcome missing", len(got))
	}
	if got := h.l.DrainStale(int64(after), after); len(got) != 0 {
		t.Fatalf("released %d groups before they were stale", len(got))
	}
	got := h.l.DrainStale(1+int64(after), after)
	if len(got) != 1 || len(got[0].Ended) != 1 || got[0].Ended[0].Export != record.ExportPending {
		t.Fatalf("released %+v, want the group with its span pending", got)
	}
	h.exported(h.a, traceA, 1)
	h.l.Drain(2+int64(after), time.Nanosecond)
	if h.l.DrainLate() != 1 {
		t.Errorf("%d late records, want the export outcome", h.l.DrainLate())
	}
}

// TestDrainedBefore: the watermark follows the Drains and holds back at the
// oldest pending request's Drain.
func TestDrainedBefore(t *testing.T) {
	h := newHand()
	if w := h.l.DrainedBefore(); w != 0 {
		t.Fatalf("before any Drain: %d, want 0", w)
	}
	const s = int64(time.Second)
	h.l.Drain(10*s, time.Nanosecond)
	if w := h.l.DrainedBefore(); w != 10*s-int64(recordSlack) {
		t.Errorf("after a Drain of nothing: %d, want %d", w, 10*s-int64(recordSlack))
	}
	h.loadHop(1, traceA, 1) // unanswered: pending
	h.l.Drain(20*s, time.Nanosecond)
	h.l.Drain(30*s, time.Nanosecond)
	if w := h.l.DrainedBefore(); w != 10*s-int64(recordSlack) {
		t.Errorf("with a request pending since the Drain at 20s: %d, want %d", w, 10*s-int64(recordSlack))
	}
	h.load.addAnswer(101, 25*s, 0)
	h.span(h.a, traceA, 1, 0)
	h.exported(h.a, traceA, 1)
	if got := h.l.Drain(40*s, time.Nanosecond); len(got) != 0 {
		t.Fatalf("released %d groups at once", len(got))
	}
	if got := h.l.Drain(50*s, time.Nanosecond); len(got) != 1 {
		t.Fatalf("released %d groups, want the request", len(got))
	}
	if w := h.l.DrainedBefore(); w != 50*s-int64(recordSlack) {
		t.Errorf("with nothing pending: %d, want %d", w, 50*s-int64(recordSlack))
	}
}
