package simulator

import (
	"bytes"
	"testing"
	"time"

	"github.com/tracerig/tracerig/internal/record"
)

// meterClock is a settable clock for an EdgeMeter.
type meterClock struct{ t time.Time }

func (c *meterClock) now() time.Time { return c.t }

func newTestMeter(t *testing.T) (*Ledger, *EdgeMeter, *meterClock) {
	t.Helper()
	l := NewLedger()
	m := newEdgeMeter(&l.syms)
	clock := &meterClock{t: time.Unix(1_000_000, 0)}
	m.now = clock.now
	l.meter.Store(m)
	return l, m, clock
}

func meterCtx(trace, span byte) record.Context {
	return record.Context{Trace: record.TraceID{trace}, Span: record.SpanID{span}, Sampled: true}
}

func statOf(t *testing.T, stats []EdgeStat, from, to string) EdgeStat {
	t.Helper()
	for _, s := range stats {
		if s.From == from && s.To == to {
			return s
		}
	}
	t.Fatalf("no edge %s -> %s in %+v", from, to, stats)
	return EdgeStat{}
}

func TestEdgeMeterStates(t *testing.T) {
	tests := []struct {
		name     string
		sent     record.Context
		got      record.Context
		external bool
		want     EdgeState
	}{
		{"callee continued the trace", meterCtx(1, 2), meterCtx(1, 2), false, EdgeContinuing},
		{"headers stripped", meterCtx(1, 2), record.Context{}, false, EdgeBreaking},
		{"another parent", meterCtx(1, 2), meterCtx(1, 3), false, EdgeBreaking},
		{"caller sent nothing", record.Context{}, record.Context{}, false, EdgeBreaking},
		{"external callee", meterCtx(1, 2), record.Context{}, true, EdgeUnchecked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, m, clock := newTestMeter(t)
			sh := l.newShard()
			a, b := l.syms.id("a"), l.syms.id("b")
			at := clock.t.UnixNano()
			sh.addSend(sendRec{hop: 1, from: a, to: b, sentAt: at, sent: tt.sent, external: tt.external})
			if !tt.external {
				sh.addRecv(recvRec{hop: 1, got: tt.got})
			}
			sh.addAnswer(1, at+int64(3*time.Millisecond), 0)
			clock.t = clock.t.Add(time.Second)
			s := statOf(t, m.Read(5*time.Second), "a", "b")
			if s.State != tt.want || s.Hops != 1 {
				t.Errorf("state %s with %d hops, want %s with 1", s.State, s.Hops, tt.want)
			}
			if n := m.inFlight(); n != 0 {
				t.Errorf("%d hops still in flight", n)
			}
		})
	}
}

// TestEdgeMeterWindow runs an edge at 10 hops a second, a tenth failing,
// through a break of two seconds: the rate, errors and p99 are the last
// whole seconds', and the state follows the break within a second of it
// and goes back to continuing two seconds after it.
func TestEdgeMeterWindow(t *testing.T) {
	l, m, clock := newTestMeter(t)
	caller, callee := l.newShard(), l.newShard()
	a, b := l.syms.id("cart"), l.syms.id("inventory")
	hop := uint64(0)
	second := func(broken bool) {
		for i := range 10 {
			hop++
			at := clock.t.Add(time.Duration(i) * 100 * time.Millisecond).UnixNano()
			sent := meterCtx(byte(hop), 7)
			caller.addSend(sendRec{hop: hop, from: a, to: b, sentAt: at, sent: sent})
			got := sent
			if broken {
				got = record.Context{}
			}
			callee.addRecv(recvRec{hop: hop, got: got, calleeError: i == 0})
			if i == 0 {
				caller.callFailed(hop)
			}
			lat := 10 * time.Millisecond
			if i == 9 {
				lat = 200 * time.Millisecond
			}
			caller.addAnswer(hop, at+int64(lat), 0)
		}
		clock.t = clock.t.Add(time.Second)
	}
	for range 5 {
		second(false)
	}
	s := statOf(t, m.Read(5*time.Second), "cart", "inventory")
	if s.State != EdgeContinuing || s.Rate != 10 || s.Errors != 0.1 || s.Hops != 50 {
		t.Errorf("before the break: %+v, want continuing at 10/s, 10%% errors, 50 hops", s)
	}
	if s.P99 < 200*time.Millisecond || s.P99 > 240*time.Millisecond {
		t.Errorf("p99 %s, want the bucket of 200ms", s.P99)
	}
	second(true)
	if s := statOf(t, m.Read(5*time.Second), "cart", "inventory"); s.State != EdgeBreaking {
		t.Errorf("a second into the break: %s, want breaking", s.State)
	}
	second(true)
	for i := range 3 {
		second(false)
		want := EdgeContinuing
		if i == 0 {
			want = EdgeBreaking
		}
		if s := statOf(t, m.Read(5*time.Second), "cart", "inventory"); s.State != want {
			t.Errorf("%d s after the break: %s, want %s", i+1, s.State, want)
		}
	}
	// Idle seconds keep the last state; the rate falls to nothing.
	clock.t = clock.t.Add(10 * time.Second)
	if s := statOf(t, m.Read(5*time.Second), "cart", "inventory"); s.State != EdgeContinuing || s.Rate != 0 || s.P99 != 0 {
		t.Errorf("idle: %+v, want continuing at 0/s", s)
	}
}

// TestEdgeMeterForgets drops hops that never got all their records.
func TestEdgeMeterForgets(t *testing.T) {
	l, m, clock := newTestMeter(t)
	sh := l.newShard()
	sh.addSend(sendRec{hop: 9, from: l.syms.id("a"), to: l.syms.id("b"), sentAt: clock.t.UnixNano()})
	sh.addRecv(recvRec{hop: 10})
	if n := m.inFlight(); n != 2 {
		t.Fatalf("%d hops in flight, want 2", n)
	}
	clock.t = clock.t.Add(meterForget + time.Second)
	m.Read(5 * time.Second)
	if n := m.inFlight(); n != 0 {
		t.Errorf("%d hops in flight after %s, want none", n, meterForget)
	}
}

// TestEdgeMeterMerged meters the records of a ledger merged from elsewhere,
// as a container run pulls them.
func TestEdgeMeterMerged(t *testing.T) {
	src := NewLedger()
	caller, callee := src.newShard(), src.newShard()
	a, b := src.syms.id("front"), src.syms.id("back")
	at := time.Unix(1_000_000, 0).UnixNano()
	caller.addSend(sendRec{hop: 4, from: a, to: b, sentAt: at, sent: meterCtx(3, 4)})
	callee.addRecv(recvRec{hop: 4, got: meterCtx(3, 4)})
	caller.addAnswer(4, at+int64(time.Millisecond), 0)
	var buf bytes.Buffer
	if err := src.Export(&buf); err != nil {
		t.Fatal(err)
	}
	l, m, clock := newTestMeter(t)
	if err := l.Merge(&buf); err != nil {
		t.Fatal(err)
	}
	clock.t = clock.t.Add(time.Second)
	if s := statOf(t, m.Read(5*time.Second), "front", "back"); s.State != EdgeContinuing || s.Hops != 1 {
		t.Errorf("merged: %+v, want one continuing hop", s)
	}
}

func TestLatBucket(t *testing.T) {
	for _, d := range []time.Duration{60 * time.Microsecond, time.Millisecond, 41 * time.Millisecond, time.Second, time.Minute, time.Hour} {
		i := latBucket(d)
		if up := latUpper(i); i < latBuckets-1 && (up < d || up > d*6/5+time.Microsecond) {
			t.Errorf("%s: bucket %d ends at %s", d, i, up)
		}
	}
}

// TestEdgeMeterMessage meters a message: its latency runs from the
// publish to its processing, whatever order the records come in.
func TestEdgeMeterMessage(t *testing.T) {
	for _, order := range [][]string{{"send", "answer", "recv", "deliv"}, {"recv", "deliv", "send", "answer"}} {
		l, m, clock := newTestMeter(t)
		producer, consumer := l.newShard(), l.newShard()
		at := clock.t.UnixNano()
		add := map[string]func(){
			"send": func() {
				producer.addSend(sendRec{hop: 5, from: l.syms.id("checkout"), to: l.syms.id("billing"), sentAt: at, sent: meterCtx(1, 2), async: true})
			},
			"answer": func() { producer.addAnswer(5, at+int64(time.Millisecond), 0) },
			"recv":   func() { consumer.addRecv(recvRec{hop: 5, got: meterCtx(1, 2)}) },
			"deliv":  func() { consumer.addDeliveries([]delivRec{{hop: 5, at: at + int64(40*time.Millisecond)}}) },
		}
		for _, rec := range order {
			add[rec]()
		}
		clock.t = clock.t.Add(time.Second)
		s := statOf(t, m.Read(5*time.Second), "checkout", "billing")
		if !s.Async || s.State != EdgeContinuing || s.P99 < 40*time.Millisecond || s.P99 > 48*time.Millisecond {
			t.Errorf("%v: %+v, want a continuing message edge, p99 in 40ms's bucket", order, s)
		}
		if n := m.inFlight(); n != 0 {
			t.Errorf("%v: %d hops still in flight", order, n)
		}
	}
}

// BenchmarkEdgeMeterHop is what a live page costs a hop: its send, receive
// and answer records added to the ledger with and without an edge meter
// attached, and read once a second as the page does.
func BenchmarkEdgeMeterHop(b *testing.B) {
	for _, metered := range []bool{false, true} {
		b.Run(map[bool]string{false: "ledger", true: "ledger+meter"}[metered], func(b *testing.B) {
			l := NewLedger()
			var m *EdgeMeter
			if metered {
				m = newEdgeMeter(&l.syms)
				l.meter.Store(m)
			}
			caller, callee := l.newShard(), l.newShard()
			a, c := l.syms.id("cart"), l.syms.id("inventory")
			sent := meterCtx(1, 2)
			b.ReportAllocs()
			hop := uint64(0)
			for b.Loop() {
				hop++
				now := time.Now().UnixNano()
				caller.addSend(sendRec{hop: hop, from: a, to: c, sentAt: now, sent: sent})
				callee.addRecv(recvRec{hop: hop, got: sent})
				caller.addAnswer(hop, now+int64(time.Millisecond), 0)
				if m != nil && hop%100_000 == 0 {
					m.Read(5 * time.Second)
				}
			}
		})
	}
}
