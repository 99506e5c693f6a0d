package assert

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// chain returns the records of n clean requests through frontend → cart →
// inventory: 5 spans per request, one trace each.
func chain(n int) *sim {
	return newSim(topo(svc("frontend", "cart"), svc("cart", "inventory"), svc("inventory"))).run("frontend", n)
}

// lose marks the ended spans at the given indexes with stage e and removes
// them from the backend.
func lose(s *sim, e record.Export, idx ...int) *sim {
	gone := make(map[spanRef]bool)
	for _, i := range idx {
		s.in.Ended[i].Export = e
		gone[spanRef{s.in.Ended[i].Trace, s.in.Ended[i].ID}] = true
	}
	return s.drop(func(sp *record.Span) bool { return gone[spanRef{sp.Trace, sp.ID}] })
}

// completenessExpects is exp as the one expectation of a run.
func completenessExpects(exp topology.CompletenessExpect) []topology.Expect {
	return []topology.Expect{{Kind: topology.ExpectCompleteness, Completeness: exp}}
}

func TestCompleteness(t *testing.T) {
	all := topology.CompletenessExpect{Min: 1}
	tests := []struct {
		name    string
		in      func() Input
		exp     topology.CompletenessExpect
		want    want
		observe string // substring of Observed or Reason
	}{{
		name: "everything delivered once",
		in:   func() Input { return chain(4).in },
		exp:  topology.CompletenessExpect{Min: 1, Within: time.Second},
		want: want{status: StatusPass, stats: map[string]float64{
			"spans_ended": 20, "delivered": 20, "completeness": 1, "partial_traces": 0, "traces": 4}},
	}, {
		name: "each loss stage counted",
		in: func() Input {
			s := chain(4)
			// Ended order per request: inventory server, cart client, cart server, frontend client, frontend server.
			lose(s, record.ExportPending, 0, 5, 10)
			lose(s, record.ExportFailed, 1, 6)
			lose(s, record.ExportOK, 2)
			return s.in
		},
		exp: topology.CompletenessExpect{Min: 0.5},
		want: want{status: StatusPass, findings: map[string]int{
			"inventory | dropped in SDK queue": 3,
			"cart | export failed":             2,
			"cart | lost in the backend":       1,
			"traces | partial":                 3,
		}, stats: map[string]float64{"missing_sdk_queue": 3, "missing_export": 2, "missing_backend": 1,
			"missing": 6, "delivered": 14, "completeness": 0.7, "partial_traces": 3}},
	}, {
		name: "export failures named by their reasons",
		in: func() Input {
			s := chain(4)
			lose(s, record.ExportFailed, 0, 5, 1, 6, 11)
			for i, r := range map[int]string{0: "grpc Unauthenticated", 5: "grpc Unauthenticated", 1: "connection refused", 6: "connection refused", 11: "timeout"} {
				s.in.Ended[i].ExportReason = r
			}
			return s.in
		},
		exp: topology.CompletenessExpect{Min: 0.5},
		want: want{status: StatusPass, findings: map[string]int{
			"inventory | export failed: grpc Unauthenticated": 2,
			"cart | export failed: connection refused":        2,
			"cart | export failed: timeout":                   1,
			"traces | partial":                                3,
		}, stats: map[string]float64{"missing_export": 5}},
		observe: "5 export failed (connection refused: 2 at cart, grpc Unauthenticated: 2 at inventory, timeout: 1 at cart), 0 lost",
	}, {
		name: "a reason at several services: its total, then where",
		in: func() Input {
			s := chain(4)
			lose(s, record.ExportFailed, 0, 5, 1, 6, 11, 3, 4)
			for _, i := range []int{0, 5, 1, 6, 11, 3} {
				s.in.Ended[i].ExportReason = "grpc Unauthenticated"
			}
			return s.in
		},
		exp: topology.CompletenessExpect{Min: 0.5},
		want: want{status: StatusPass, findings: map[string]int{
			"cart | export failed: grpc Unauthenticated":      3,
			"inventory | export failed: grpc Unauthenticated": 2,
			"frontend | export failed: grpc Unauthenticated":  1,
			"frontend | export failed":                        1,
			"traces | partial":                                3,
		}, stats: map[string]float64{"missing_export": 7}},
		observe: "7 export failed (grpc Unauthenticated: 6 (3 at cart, 2 at inventory, 1 at frontend), reason not recorded: 1 at frontend), 0 lost",
	}, {
		name: "a trace lost entirely is not partial",
		in: func() Input {
			return lose(chain(2), record.ExportPending, 0, 1, 2, 3, 4).in
		},
		exp: all,
		want: want{status: StatusFail, findings: map[string]int{
			"inventory | dropped in SDK queue": 1, "cart | dropped in SDK queue": 2, "frontend | dropped in SDK queue": 2,
		}, stats: map[string]float64{"partial_traces": 0, "traces_lost": 1, "traces": 2, "completeness": 0.5}},
	}, {
		name: "duplicates are delivered but not once",
		in: func() Input {
			s := chain(2)
			s.in.Backend = append(s.in.Backend, s.in.Backend[0], s.in.Backend[0], s.in.Backend[3])
			return s.in
		},
		exp: all,
		want: want{status: StatusFail, findings: map[string]int{
			"inventory | delivered more than once": 1, "frontend | delivered more than once": 1,
		}, stats: map[string]float64{"duplicates": 2, "duplicate_copies": 3, "delivered": 10, "delivered_once": 8, "completeness": 0.8}},
	}, {
		name: "unexpected spans are reported and do not fail",
		in: func() Input {
			s := chain(1)
			sp := s.in.Backend[0]
			sp.ID[0] ^= 0xff
			sp.Service = "ghost"
			s.in.Backend = append(s.in.Backend, sp)
			return s.in
		},
		exp: all,
		want: want{status: StatusPass, findings: map[string]int{"ghost | span unknown to the ledger": 1},
			stats: map[string]float64{"unexpected": 1, "completeness": 1}},
	}, {
		name: "min threshold: exactly at the boundary passes",
		in:   func() Input { return lose(chain(2), record.ExportOK, 0).in },
		exp:  topology.CompletenessExpect{Min: 0.9},
		want: want{status: StatusPass, findings: map[string]int{"inventory | lost in the backend": 1, "traces | partial": 1},
			stats: map[string]float64{"completeness": 0.9}},
	}, {
		name: "min threshold: just above fails",
		in:   func() Input { return lose(chain(2), record.ExportOK, 0).in },
		exp:  topology.CompletenessExpect{Min: 0.9000001},
		want: want{status: StatusFail, findings: map[string]int{"inventory | lost in the backend": 1, "traces | partial": 1}},
	}, {
		name: "no read-back does not run",
		in: func() Input {
			in := chain(1).in
			in.ReadBack, in.NoReadBack = false, "spans exported to an external collector"
			return in
		},
		exp:     all,
		want:    want{status: StatusNotRun},
		observe: "spans exported to an external collector",
	}, {
		name:    "nothing ended fails",
		in:      func() Input { return Input{ReadBack: true} },
		exp:     all,
		want:    want{status: StatusFail, stats: map[string]float64{"completeness": 1, "spans_ended": 0}},
		observe: "no spans ended",
	}, {
		name: "no arrival times: queryable not measured, not failed",
		in: func() Input {
			s := chain(2)
			for i := range s.in.Backend {
				s.in.Backend[i].Arrived = 0
			}
			return s.in
		},
		exp:     topology.CompletenessExpect{Min: 1, Within: time.Second},
		want:    want{status: StatusPass},
		observe: "not measured",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Completeness(tt.in(), tt.exp)
			check(t, v, tt.want)
			if tt.observe != "" && !strings.Contains(v.Observed+v.Reason, tt.observe) {
				t.Errorf("observed %q, reason %q: want %q", v.Observed, v.Reason, tt.observe)
			}
			checkStreamed(t, tt.in(), completenessExpects(tt.exp))
		})
	}
}

// TestQueryable spreads 100 traces' last arrivals 1s..100s after their last
// span ended: p50 is 50s and p99 99s.
func TestQueryable(t *testing.T) {
	s := chain(100)
	last := make(map[record.TraceID]int64)
	for _, e := range s.in.Ended {
		last[e.Trace] = max(last[e.Trace], e.End)
	}
	order := make(map[record.TraceID]int64)
	for i := range s.in.Backend {
		sp := &s.in.Backend[i]
		if _, ok := order[sp.Trace]; !ok {
			order[sp.Trace] = int64(len(order) + 1)
		}
		sp.Arrived = last[sp.Trace] + order[sp.Trace]*int64(time.Second)
		if sp.Kind == record.KindClient {
			sp.Arrived -= int64(time.Millisecond) // not the last arrival
		}
	}
	for _, tc := range []struct {
		within time.Duration
		status Status
	}{{99 * time.Second, StatusPass}, {98 * time.Second, StatusFail}, {0, StatusPass}} {
		exp := topology.CompletenessExpect{Min: 1, Within: tc.within}
		v := Completeness(s.in, exp)
		checkStreamed(t, s.in, completenessExpects(exp))
		if v.Status != tc.status {
			t.Errorf("within %s: status %s, want %s (%s)", tc.within, v.Status, tc.status, v.Observed)
		}
		if strings.Contains(v.Measured, "within") {
			t.Errorf("measured %q: exact quantiles called approximate", v.Measured)
		}
		if p50, p99 := v.Stats["queryable_p50_seconds"], v.Stats["queryable_p99_seconds"]; p50 != 50 || p99 != 99 {
			t.Errorf("p50 %v p99 %v, want 50 and 99", p50, p99)
		}
	}
}

func TestRun(t *testing.T) {
	s := newSim(topo(svc("frontend", "legacy-proxy"), proxy("legacy-proxy", false, "inventory"), svc("inventory"))).run("frontend", 3)
	vs := Run(s.in, []topology.Expect{
		{Kind: topology.ExpectCompleteness, Completeness: topology.CompletenessExpect{Min: 1}},
		{Kind: topology.ExpectPropagation, Propagation: topology.PropagationExpect{Connected: true}},
		{Kind: "sampling"},
	})
	got := []string{}
	for _, v := range vs {
		got = append(got, v.Check+":"+string(v.Status))
	}
	if want := "completeness:pass propagation:fail sampling:not-run"; strings.Join(got, " ") != want {
		t.Errorf("Run = %v, want %s", got, want)
	}
}

// TestQueryablePastTheCap gives more one-span traces than a dist keeps
// exactly, arriving 1ms..Nms after they ended: the quantiles come within
// 1% of the exact ones, and the verdict says they are approximate.
func TestQueryablePastTheCap(t *testing.T) {
	const traces = distCap + 1000
	s := newSim(topo(svc("frontend")))
	for i := range traces {
		sp := record.Span{Trace: s.traceID(), ID: s.spanID(), Service: "frontend", Name: "GET /",
			Kind: record.KindServer, Start: 1e9, End: 2e9}
		sp.Arrived = sp.End + int64(i+1)*int64(time.Millisecond)
		s.in.Ended = append(s.in.Ended, record.Ended{Span: sp, Export: record.ExportOK})
		s.in.Backend = append(s.in.Backend, sp)
	}
	st := NewStream(s.in, completenessExpects(topology.CompletenessExpect{Min: 1}))
	for _, g := range Partition(s.in) {
		st.Add(g)
	}
	v := st.Verdicts()[0]
	if want := "its quantiles within 1%"; !strings.Contains(v.Measured, want) {
		t.Errorf("measured %q, want %q", v.Measured, want)
	}
	for _, q := range []struct {
		stat  string
		exact float64 // seconds: the nearest-rank quantile of 1ms..traces ms
	}{{"queryable_p50_seconds", 33268e-3}, {"queryable_p99_seconds", 65871e-3}} {
		if got := v.Stats[q.stat]; math.Abs(got-q.exact) > distError*q.exact {
			t.Errorf("%s = %v, want %v within 1%%", q.stat, got, q.exact)
		}
	}
	if v.Stats["queryable_traces"] != traces || v.Status != StatusPass {
		t.Errorf("queryable traces %v, status %s; want %d, pass", v.Stats["queryable_traces"], v.Status, traces)
	}
}
