package simulator

import (
	"testing"
	"unsafe"

	"github.com/tracerig/tracerig/internal/record"
)

// TestLedgerRecordSizes pins the ledger's per-span, per-hop and per-message
// cost, which the README states.
func TestLedgerRecordSizes(t *testing.T) {
	for _, tt := range []struct {
		name      string
		got, want uintptr
	}{
		{"end record", unsafe.Sizeof(endRec{}), 64},
		{"export record", unsafe.Sizeof(exportRec{}), 25},
		{"send record", unsafe.Sizeof(sendRec{}), 96},
		{"receive record", unsafe.Sizeof(recvRec{}), 80},
		{"answer record", unsafe.Sizeof(answerRec{}), 24},
		{"message record", unsafe.Sizeof(msgRec{}), 48},
		{"delivery record", unsafe.Sizeof(delivRec{}), 24},
	} {
		if tt.got != tt.want {
			t.Errorf("%s is %d bytes, want %d", tt.name, tt.got, tt.want)
		}
	}
}

func TestLedgerSnapshotMergesBothEnds(t *testing.T) {
	l := NewLedger()
	caller, callee := l.newShard(), l.newShard()
	span := record.SpanID{1}
	trace := record.TraceID{2}
	caller.addSend(sendRec{hop: 10, parent: 3, request: 4, from: l.syms.id("a"), to: l.syms.id("b"), route: l.syms.id("GET /x"),
		sent: record.Context{Trace: trace, Span: span, Sampled: true}, headers: record.HeaderTraceparent, clientSpan: true})
	caller.addSend(sendRec{hop: 11, from: l.syms.id("a"), to: l.syms.id("b"), sentAt: 40})
	caller.addAnswer(10, 90, 0)
	callee.addRecv(recvRec{hop: 10, got: record.Context{Trace: trace, Span: span, Sampled: true}, headers: record.HeaderTraceparent,
		server: record.Context{Trace: trace, Span: record.SpanID{5}, Sampled: true}, serverSpan: true})
	caller.addEnded(endRec{trace: trace, id: span, service: l.syms.id("a"), kind: record.KindClient})
	callee.addEnded(endRec{trace: trace, id: record.SpanID{5}, parent: span, service: l.syms.id("b")})
	callee.addEnded(endRec{trace: trace, id: record.SpanID{6}, service: l.syms.id("b")})
	callee.addEnded(endRec{trace: trace, id: record.SpanID{7}, service: l.syms.id("b")})
	caller.addExports([]exportRec{{trace: trace, id: span}}, 100)
	callee.addExports([]exportRec{{trace: trace, id: record.SpanID{5}, fail: failUnknown}, {trace: trace, id: record.SpanID{7}, fail: failUnknown}}, 200)
	callee.addExports([]exportRec{{trace: trace, id: record.SpanID{7}}}, 300)

	s := l.Snapshot()
	if len(s.Hops) != 2 || len(s.Ended) != 4 {
		t.Fatalf("snapshot has %d hops and %d spans, want 2 and 4", len(s.Hops), len(s.Ended))
	}
	h := s.Hops[0]
	if !h.Received || h.From != "a" || h.To != "b" || h.Route != "GET /x" || h.Got != h.Sent || h.Server.Span != (record.SpanID{5}) || h.Parent != 3 || h.Request != 4 {
		t.Errorf("merged hop %+v", h)
	}
	if s.Hops[1].Received {
		t.Error("a hop nobody received is marked received")
	}
	if s.Hops[0].AnsweredAt != 90 || s.Hops[1].AnsweredAt != 0 {
		t.Errorf("answered at %d and %d, want 90 and 0 (never answered)", s.Hops[0].AnsweredAt, s.Hops[1].AnsweredAt)
	}
	type outcome struct {
		export record.Export
		at     int64
	}
	exports := map[record.SpanID]outcome{}
	for _, e := range s.Ended {
		exports[e.ID] = outcome{e.Export, e.ExportAt}
	}
	want := map[record.SpanID]outcome{
		span: {record.ExportOK, 100},
		{5}:  {record.ExportFailed, 200},
		{6}:  {record.ExportPending, 0},
		{7}:  {record.ExportOK, 300}, // failed at 200, then acknowledged
	}
	for id, w := range want {
		if exports[id] != w {
			t.Errorf("span %s: %s at %d, want %s at %d", id, exports[id].export, exports[id].at, w.export, w.at)
		}
	}
	tot := l.Totals()
	if tot.SpansEnded != 4 || tot.SpansExported != 2 || tot.ExportFailed != 2 || tot.Hops != 2 {
		t.Errorf("totals %+v", tot)
	}
}

func BenchmarkLedgerEnd(b *testing.B) {
	l := NewLedger()
	s := l.newShard()
	rec := endRec{trace: record.TraceID{1}, id: record.SpanID{2}}
	b.ReportAllocs()
	for b.Loop() {
		s.addEnded(rec)
	}
}

func BenchmarkLedgerSnapshot(b *testing.B) {
	l := NewLedger()
	s := l.newShard()
	const n = 100_000
	for i := range n {
		id := record.SpanID{byte(i), byte(i >> 8), byte(i >> 16)}
		s.addEnded(endRec{trace: record.TraceID{byte(i >> 4)}, id: id})
		s.addExports([]exportRec{{trace: record.TraceID{byte(i >> 4)}, id: id}}, int64(i))
	}
	b.ReportAllocs()
	for b.Loop() {
		l.Snapshot()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/span")
}
