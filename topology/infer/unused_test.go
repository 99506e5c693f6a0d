package infer

import (
	"testing"
	"time"

	"github.com/tracerig/tracerig/internal/record"
)

// sp is a hand-made span: times in ms from an origin.
func sp(trace, id, parent byte, kind record.Kind, svc, name string, start, end int64, attrs ...record.Attr) record.Span {
	s := record.Span{Trace: record.TraceID{trace}, ID: record.SpanID{id}, Service: svc, Name: name, Kind: kind,
		Start: start * int64(time.Millisecond), End: end * int64(time.Millisecond), Attrs: attrs}
	if parent != 0 {
		s.Parent = record.SpanID{parent}
	}
	return s
}

func TestUnused(t *testing.T) {
	root := sp(1, 1, 0, record.KindServer, "front", "GET /a", 0, 100)
	client := sp(1, 2, 1, record.KindClient, "front", "GET /b", 10, 50)
	tests := []struct {
		name   string
		spans  []record.Span
		reason string
		want   int64
	}{
		{"orphan", []record.Span{root, sp(1, 9, 8, record.KindServer, "back", "GET /b", 20, 30)}, ReasonOrphan, 1},
		{"uninstrumented peer", []record.Span{root, sp(1, 2, 1, record.KindClient, "front", "GET /b", 10, 50,
			record.Attr{Key: "server.address", Value: "legacy"})}, ReasonUninstrumented, 1},
		{"clock skew: child starts before its caller", []record.Span{root, client,
			sp(1, 3, 2, record.KindServer, "back", "GET /b", 5, 45)}, ReasonSkew, 1},
		{"no server spans", []record.Span{sp(2, 1, 0, record.KindClient, "job", "GET /x", 0, 5),
			root}, ReasonNoServerSpans, 1},
		{"client under no server", []record.Span{root, sp(1, 5, 0, record.KindInternal, "cron", "tick", 0, 5),
			sp(1, 6, 5, record.KindClient, "cron", "GET /x", 1, 4)}, ReasonNoServer, 1},
		{"messaging", []record.Span{root, sp(1, 7, 1, record.KindProducer, "front", "send orders", 1, 2)}, ReasonMessaging, 1},
		{"bad times", []record.Span{root, sp(1, 8, 1, record.KindInternal, "front", "x", 9, 2)}, ReasonBadTimes, 1},
		{"duplicate", []record.Span{root, root}, ReasonDuplicate, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBuilder(Options{})
			for i := range tc.spans {
				b.Add(&tc.spans[i])
			}
			res, err := b.Result()
			if err != nil {
				t.Fatalf("Result: %v", err)
			}
			if got := res.Unused.Reasons[tc.reason]; got != tc.want {
				t.Errorf("%q: %d spans, want %d; summary:\n%s", tc.reason, got, tc.want, res.Unused)
			}
		})
	}
}

func TestUninstrumentedPeerNamed(t *testing.T) {
	spans := []record.Span{sp(1, 1, 0, record.KindServer, "front", "GET /a", 0, 100),
		sp(1, 2, 1, record.KindClient, "front", "GET /b", 10, 50, record.Attr{Key: "peer.service", Value: "mainframe"})}
	b := NewBuilder(Options{})
	for i := range spans {
		b.Add(&spans[i])
	}
	res, err := b.Result()
	if err != nil {
		t.Fatal(err)
	}
	if res.Unused.Peers["mainframe"] != 1 {
		t.Errorf("peers %v, want mainframe: 1", res.Unused.Peers)
	}
	// The 40ms waited on the peer is not the route's own latency.
	if got := routeOf(res.Model, "front", "GET /a").Own.P50; got < 59*time.Millisecond || got > 61*time.Millisecond {
		t.Errorf("own p50 %s, want 60ms (100ms minus 40ms waiting)", got)
	}
}

func TestBadInput(t *testing.T) {
	b := NewBuilder(Options{})
	if _, err := b.Result(); err == nil {
		t.Error("no spans: want an error")
	}
	s := sp(1, 1, 0, record.KindClient, "front", "GET /a", 0, 1)
	b.Add(&s)
	if _, err := b.Result(); err == nil {
		t.Error("no server spans: want an error")
	}
}

// TestPendingBound finishes the oldest trace when too many are pending: a
// span arriving after its trace was finished is an orphan.
func TestPendingBound(t *testing.T) {
	b := NewBuilder(Options{MaxPendingTraces: 1})
	a1 := sp(1, 1, 0, record.KindServer, "front", "GET /a", 0, 10)
	c1 := sp(2, 1, 0, record.KindServer, "front", "GET /a", 0, 10)
	a2 := sp(1, 2, 1, record.KindServer, "back", "GET /b", 1, 5)
	for _, s := range []*record.Span{&a1, &c1, &a2} {
		b.Add(s)
	}
	res, err := b.Result()
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Unused.Reasons[ReasonOrphan]; got != 1 {
		t.Errorf("orphans %d, want 1 (a span of a trace already finished)", got)
	}
}
