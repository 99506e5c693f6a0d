package assert

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// unsample makes request req's trace unsampled end to end: no hop sampled,
// no span ended sampled, nothing in the backend.
func unsample(s *sim, req uint64) *sim {
	trace := record.TraceID{}
	for i := range s.in.Hops {
		if h := &s.in.Hops[i]; h.Request == req {
			h.Server.Sampled, h.Sent.Sampled, h.Got.Sampled = false, false, false
			trace = h.Server.Trace
		}
	}
	ended := s.in.Ended[:0]
	for _, e := range s.in.Ended {
		if e.Trace != trace {
			ended = append(ended, e)
		}
	}
	s.in.Ended = ended
	return s.drop(func(sp *record.Span) bool { return sp.Trace == trace })
}

// traceOf returns request req's trace.
func traceOf(s *sim, req uint64) record.TraceID {
	for _, h := range s.in.Hops {
		if h.Request == req && h.From == "" {
			return h.Server.Trace
		}
	}
	return record.TraceID{}
}

func TestSamplingConsistency(t *testing.T) {
	consistent := topology.SamplingExpect{Consistent: true}
	tests := []struct {
		name    string
		in      func() Input
		want    want
		observe string
	}{{
		name: "every root sampled, every trace whole",
		in:   func() Input { return chain(4).in },
		want: want{status: StatusPass, stats: map[string]float64{"traces": 4, "sampled_roots": 4, "inconsistencies": 0}},
	}, {
		name: "an unsampled root's trace absent everywhere",
		in:   func() Input { return unsample(chain(4), 2).in },
		want: want{status: StatusPass, stats: map[string]float64{"traces": 4, "sampled_roots": 3, "orphan_traces": 0}},
	}, {
		name: "orphan fragment: cart samples an unsampled trace and exports it",
		in: func() Input {
			s := chain(3)
			tr := traceOf(s, 2)
			s.hops(func(h *record.Hop) bool { return h.Server.Trace == tr && h.To != "cart" }, func(h *record.Hop) { h.Server.Sampled = false })
			return s.drop(func(sp *record.Span) bool { return sp.Trace == tr && sp.Service != "cart" }).in
		},
		want: want{status: StatusFail, findings: map[string]int{
			"cart | orphan fragment: sampled its part": 1,
			"cart | orphan fragment in the backend":    2, // its server and client spans
		}, stats: map[string]float64{"orphan_traces": 1, "inconsistent_traces": 1}},
	}, {
		name: "inventory drops its part of a sampled trace",
		in: func() Input {
			s := chain(3)
			s.hops(func(h *record.Hop) bool { return h.To == "inventory" && h.Request == 1 }, func(h *record.Hop) { h.Server.Sampled = false })
			return s.in
		},
		want: want{status: StatusFail, findings: map[string]int{"inventory | dropped its part of a sampled trace": 1}},
	}, {
		name: "a span lost on export is a completeness matter, not an inconsistency",
		in:   func() Input { return lose(chain(2), record.ExportPending, 0).in },
		want: want{status: StatusPass, findings: map[string]int{"inventory | lost on the way out": 1},
			stats: map[string]float64{"lost_on_export": 1, "partial_traces": 0}},
		observe: "a completeness matter",
	}, {
		name: "an exported span of a sampled root missing: partial trace",
		in:   func() Input { return lose(chain(2), record.ExportOK, 0).in },
		want: want{status: StatusFail, findings: map[string]int{"inventory | partial trace": 1},
			stats: map[string]float64{"partial_traces": 1}},
	}, {
		name: "trace-ID ratio services of the same ratio disagree",
		in: func() Input {
			s := newSim(topo(svc("frontend", "a", "b"), sampled(svc("a"), topology.SamplerTraceIDRatio, 0.5),
				sampled(svc("b"), topology.SamplerTraceIDRatio, 0.5))).run("frontend", 3)
			// Both sampled their part on every trace (they agree), except b on request 3.
			s.hops(func(h *record.Hop) bool { return h.To == "b" && h.Request == 3 }, func(h *record.Hop) { h.Server.Sampled = false })
			return s.in
		},
		want: want{status: StatusFail, findings: map[string]int{
			"b | trace-ID ratio decision disagrees": 1,
			"b | dropped its part":                  1,
		}},
	}, {
		name: "ledger only without read-back",
		in: func() Input {
			in := unsample(chain(3), 1).in
			in.ReadBack, in.NoReadBack = false, "spans exported to an external collector"
			return in
		},
		want:    want{status: StatusPass},
		observe: "(ledger only)",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Sampling(tt.in(), consistent)
			check(t, v, tt.want)
			checkStreamed(t, tt.in(), []topology.Expect{{Kind: topology.ExpectSampling, Sampling: consistent}})
			if !strings.Contains(v.Observed, tt.observe) {
				t.Errorf("observed %q, want %q", v.Observed, tt.observe)
			}
		})
	}
}

// otTrace returns a trace ID whose randomness (lowest 56 bits) is rv.
func otTrace(n byte, rv uint64) record.TraceID {
	var id record.TraceID
	id[0] = n
	binary.BigEndian.PutUint64(id[8:], rv)
	return id
}

// otSpans returns a trace of a root and two children with the given
// tracestates.
func otSpans(id record.TraceID, root, c1, c2 string) []record.Span {
	return []record.Span{
		{Trace: id, ID: record.SpanID{1}, Service: "frontend", Name: "root", TraceState: root},
		{Trace: id, ID: record.SpanID{2}, Parent: record.SpanID{1}, Service: "cart", Name: "c1", TraceState: c1},
		{Trace: id, ID: record.SpanID{3}, Parent: record.SpanID{2}, Service: "inventory", Name: "c2", TraceState: c2},
	}
}

func TestSamplingProbability(t *testing.T) {
	prob := topology.SamplingExpect{Probability: true}
	// th "c" is 0xc0000000000000: ratio 0.25. rv 0xd... is above it.
	above, below := uint64(0xd0000000000000), uint64(0x10000000000000)
	tests := []struct {
		name    string
		spans   []record.Span
		want    want
		observe string
	}{{
		name:  "thresholds honoured, randomness from the trace ID",
		spans: append(otSpans(otTrace(1, above), "ot=th:c", "ot=th:c", "vendor=x,ot=th:c"), otSpans(otTrace(2, 0xfffffffffffff0), "ot=th:c", "ot=th:c", "ot=th:c")...),
		want:  want{status: StatusPass, stats: map[string]float64{"spans_checked": 6, "thresholds_seen": 1, "threshold_changes": 0}},
	}, {
		name:  "explicit rv overrides the trace ID",
		spans: otSpans(otTrace(1, below), "ot=th:c;rv:e0000000000000", "ot=rv:e0000000000000;th:c", "ot=th:c;rv:e0000000000000"),
		want:  want{status: StatusPass, stats: map[string]float64{"spans_checked": 3}},
	}, {
		name:  "sampled below its threshold",
		spans: otSpans(otTrace(1, below), "ot=th:c", "ot=th:c", "ot=th:c"),
		want:  want{status: StatusFail, findings: map[string]int{"frontend | sampled below": 1, "cart | sampled below": 1, "inventory | sampled below": 1}},
	}, {
		name:  "a child without a threshold in a trace whose root has one",
		spans: otSpans(otTrace(1, above), "ot=th:c", "", "ot=th:c"),
		want:  want{status: StatusFail, findings: map[string]int{"cart | no threshold": 1}},
	}, {
		name:  "a descendant lowers the probability: reported, not failed",
		spans: otSpans(otTrace(1, 0xf0000000000000), "ot=th:c", "ot=th:e", "ot=th:e"),
		want: want{status: StatusPass, findings: map[string]int{"cart | threshold raised": 1, "inventory | threshold raised": 1},
			stats: map[string]float64{"thresholds_seen": 2, "threshold_changes": 2}},
	}, {
		name:  "malformed ot values",
		spans: otSpans(otTrace(1, above), "ot=th:c", "ot=th:xyz", "ot=th:c;rv:12"),
		want:  want{status: StatusFail, findings: map[string]int{"cart | malformed ot tracestate: th:xyz": 1, "inventory | malformed ot tracestate: rv:12": 1}},
	}, {
		name:    "no thresholds anywhere",
		spans:   otSpans(otTrace(1, above), "", "", "vendor=x"),
		want:    want{status: StatusFail},
		observe: "consistent probability sampling is not in effect",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Sampling(Input{ReadBack: true, Backend: tt.spans}, prob)
			check(t, v, tt.want)
			checkStreamed(t, Input{ReadBack: true, Backend: tt.spans}, []topology.Expect{{Kind: topology.ExpectSampling, Sampling: prob}})
			if !strings.Contains(v.Observed, tt.observe) {
				t.Errorf("observed %q, want %q", v.Observed, tt.observe)
			}
		})
	}
	checkStreamed(t, Input{NoReadBack: "exported elsewhere"}, []topology.Expect{{Kind: topology.ExpectSampling, Sampling: prob}})
	v := Sampling(Input{NoReadBack: "exported elsewhere"}, prob)
	if v.Status != StatusNotRun || !strings.Contains(v.Reason, "exported elsewhere") {
		t.Errorf("without read-back: %s %q", v.Status, v.Reason)
	}
	// The ledger part still runs when the backend part cannot.
	mixed := Input{NoReadBack: "exported elsewhere", Hops: chain(2).in.Hops}
	both := topology.SamplingExpect{Consistent: true, Probability: true}
	checkStreamed(t, mixed, []topology.Expect{{Kind: topology.ExpectSampling, Sampling: both}})
	v = Sampling(mixed, both)
	if v.Status != StatusPass || !strings.Contains(v.Observed, "not run: consistent probability needs the backend") {
		t.Errorf("mixed: %s %q", v.Status, v.Observed)
	}
}

func TestParseThreshold(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want uint64
		ok   bool
	}{{"0", 0, true}, {"c", 0xc0000000000000, true}, {"fd7", 0xfd700000000000, true}, {"ffffffffffffff", 0xffffffffffffff, true},
		{"", 0, false}, {"fffffffffffffff", 0, false}, {"g", 0, false}} {
		got, ok := parseThreshold(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseThreshold(%q) = %x, %v; want %x, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if v, ok := otValue("a=1, ot=th:c;rv:01 ,b=2"); !ok || v != "th:c;rv:01" {
		t.Errorf("otValue = %q, %v", v, ok)
	}
	_ = fmt.Sprint()
}
