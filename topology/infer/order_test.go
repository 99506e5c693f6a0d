package infer

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/tracerig/tracerig/internal/record"
)

// interval is a client span's [start, end) in the caller's clock, in µs
// after its request's start, with the callee's server span skewed by skew
// µs (the callee's clock).
type interval struct {
	start, end, skew int64
}

// us is a microsecond in the unix nanoseconds of span times.
const us = 1000

// requestIDs returns hand-made request n's trace ID, a span ID maker for
// it, and its start: second n.
func requestIDs(n uint64) (record.TraceID, func(k uint64) record.SpanID, int64) {
	var tr record.TraceID
	binary.BigEndian.PutUint64(tr[:], n)
	id := func(k uint64) record.SpanID {
		var s record.SpanID
		binary.BigEndian.PutUint64(s[:], n<<8|k)
		return s
	}
	return tr, id, int64(n) * 1_000_000_000
}

// callsTrace writes a request of front GET /f, 100 µs long, calling a
// GET /a and b GET /b over the given intervals.
func callsTrace(n uint64, a, b interval) []record.Span {
	tr, id, base := requestIDs(n)
	spans := []record.Span{{Trace: tr, ID: id(1), Start: base, End: base + 100*us, Service: "front", Name: "GET /f", Kind: record.KindServer}}
	for k, c := range []struct {
		svc, route string
		iv         interval
	}{{"a", "GET /a", a}, {"b", "GET /b", b}} {
		client, server := id(uint64(2+2*k)), id(uint64(3+2*k))
		s, e := base+c.iv.start*us, base+c.iv.end*us
		spans = append(spans,
			record.Span{Trace: tr, ID: client, Parent: id(1), Start: s, End: e, Service: "front", Name: "GET", Kind: record.KindClient},
			record.Span{Trace: tr, ID: server, Parent: client, Start: s + (1+c.iv.skew)*us, End: e - us + c.iv.skew*us, Service: c.svc, Name: c.route, Kind: record.KindServer})
	}
	return spans
}

// TestSequenceOrParallel: two calls are a parallel group when their
// client spans overlap in most requests calling both, whatever the
// callees' clocks say; otherwise a sequence, in the order they start.
func TestSequenceOrParallel(t *testing.T) {
	seq := [2]interval{{10, 30, 0}, {40, 60, 0}}
	par := [2]interval{{10, 50, 0}, {20, 60, 0}}
	tests := []struct {
		name  string
		mixes [][2]interval // one per request, repeated in turn
		want  string
	}{
		{"sequence with a gap", [][2]interval{seq}, "a; b"},
		{"sequence end to start", [][2]interval{{{10, 30, 0}, {30, 50, 0}}}, "a; b"},
		{"b first", [][2]interval{{{40, 60, 0}, {10, 30, 0}}}, "b; a"},
		{"overlapping", [][2]interval{par}, "{a, b}"},
		{"one inside the other", [][2]interval{{{10, 90, 0}, {20, 30, 0}}}, "{a, b}"},
		{"callee clocks skewed into overlap", [][2]interval{{{10, 30, 0}, {40, 60, -25}}}, "a; b"},
		{"callee clocks skewed apart", [][2]interval{{{10, 50, 30}, {20, 60, -30}}}, "{a, b}"},
		{"parallel in most requests", [][2]interval{par, par, par, seq}, "{a, b}"},
		{"sequence in most requests", [][2]interval{seq, seq, seq, par}, "a; b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder(Options{})
			for n := range 40 {
				mix := tt.mixes[n%len(tt.mixes)]
				spans := callsTrace(uint64(n+1), mix[0], mix[1])
				for i := range spans {
					b.Add(&spans[i])
				}
				b.FlushTrace(spans[0].Trace)
			}
			res, err := b.Result()
			if err != nil {
				t.Fatal(err)
			}
			if got := stepNames(res.Model, "front"); got != tt.want {
				t.Errorf("front's steps %q, want %q", got, tt.want)
			}
		})
	}
}

// stepNames writes the steps of svc's first route: callees by service, a
// parallel group in braces.
func stepNames(m *Model, svc string) string {
	for _, s := range m.Services {
		if s.Name != svc {
			continue
		}
		var out []string
		for _, group := range s.Routes[0].Steps {
			names := make([]string, len(group))
			for i, c := range group {
				names[i] = c.Service
			}
			if len(names) > 1 {
				out = append(out, "{"+strings.Join(names, ", ")+"}")
			} else {
				out = append(out, names...)
			}
		}
		return strings.Join(out, "; ")
	}
	return ""
}
