package assert

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// want is what a propagation test expects: the status, and the findings as
// "subject: message-substring" with counts, and nothing else.
type want struct {
	status   Status
	findings map[string]int // "subject | message substring" → count
	stats    map[string]float64
}

func TestPropagation(t *testing.T) {
	connected := topology.PropagationExpect{Connected: true}
	tests := []struct {
		name string
		in   func() Input
		exp  topology.PropagationExpect
		want want
	}{{
		name: "clean chain passes",
		in: func() Input {
			return newSim(topo(svc("frontend", "cart"), svc("cart", "inventory"), svc("inventory"))).run("frontend", 3).in
		},
		exp:  connected,
		want: want{status: StatusPass, stats: map[string]float64{"hops_checked": 6, "breaks": 0, "traces": 3, "predicted_edges_exercised": 2}},
	}, {
		name: "clean chain through a forwarding proxy passes",
		in: func() Input {
			return newSim(topo(svc("frontend", "legacy-proxy"), proxy("legacy-proxy", true, "inventory"), svc("inventory"))).run("frontend", 3).in
		},
		exp:  connected,
		want: want{status: StatusPass, stats: map[string]float64{"hops_checked": 6, "breaks": 0, "traces": 3, "predicted_edges_exercised": 1}},
	}, {
		name: "broken proxy fails on the right edge and no other",
		in: func() Input {
			return newSim(topo(svc("frontend", "cart", "legacy-proxy"), svc("cart"),
				proxy("legacy-proxy", false, "inventory"), svc("inventory"))).run("frontend", 4).in
		},
		exp: connected,
		want: want{status: StatusFail, findings: map[string]int{
			"legacy-proxy -> inventory | callee started a new trace: uninstrumented hop dropped the trace headers": 4,
		}, stats: map[string]float64{"hop_breaks": 4, "edges_broken": 1, "hops_checked": 12}},
	}, {
		name: "not connected: same findings, pass",
		in: func() Input {
			return newSim(topo(svc("frontend", "legacy-proxy"), proxy("legacy-proxy", false, "inventory"), svc("inventory"))).run("frontend", 2).in
		},
		want: want{status: StatusPass, findings: map[string]int{
			"legacy-proxy -> inventory | uninstrumented hop dropped the trace headers": 2,
		}},
	}, {
		name: "propagator mismatch names both formats",
		in: func() Input {
			return newSim(topo(svc("frontend", "cart"), reads(svc("cart"), topology.PropB3))).run("frontend", 2).in
		},
		exp: connected,
		want: want{status: StatusFail, findings: map[string]int{
			"frontend -> cart | callee reads [b3] but received traceparent": 2,
		}},
	}, {
		name: "mismatch behind a forwarding proxy is blamed on the proxy's edge",
		in: func() Input {
			return newSim(topo(svc("frontend", "p"), proxy("p", true, "cart"), reads(svc("cart"), topology.PropJaeger))).run("frontend", 1).in
		},
		exp: connected,
		want: want{status: StatusFail, findings: map[string]int{
			"p -> cart | callee reads [jaeger] but received traceparent": 1,
		}},
	}, {
		name: "headers lost in transit",
		in: func() Input {
			s := newSim(topo(svc("frontend", "cart"), svc("cart")))
			s.strip[edge{"frontend", "cart"}] = true
			return s.run("frontend", 3).in
		},
		exp: connected,
		want: want{status: StatusFail, findings: map[string]int{
			"frontend -> cart | trace headers lost in transit (sent traceparent, received none)": 3,
		}},
	}, {
		name: "caller sent no headers",
		in: func() Input {
			s := newSim(topo(svc("frontend", "cart"), svc("cart"))).run("frontend", 1)
			for i := range s.in.Hops {
				if s.in.Hops[i].From == "frontend" {
					s.in.Hops[i].SentHeaders, s.in.Hops[i].GotHeaders, s.in.Hops[i].Got = 0, 0, record.Context{}
				}
			}
			return s.in
		},
		exp: connected,
		want: want{status: StatusFail, findings: map[string]int{
			"frontend -> cart | caller sent no trace headers (expected traceparent)": 1,
		}},
	}, {
		name: "corrupt header the callee cannot parse",
		in: func() Input {
			s := newSim(topo(svc("frontend", "cart"), svc("cart"))).run("frontend", 1)
			for i := range s.in.Hops {
				if s.in.Hops[i].From == "frontend" {
					s.in.Hops[i].Got = record.Context{}
				}
			}
			return s.in
		},
		exp: connected,
		want: want{status: StatusFail, findings: map[string]int{
			"frontend -> cart | callee started a new trace: callee could not parse the received traceparent header": 1,
		}},
	}, {
		name: "callee continued a different trace",
		in: func() Input {
			s := newSim(topo(svc("frontend", "cart"), svc("cart"))).run("frontend", 2)
			for i := range s.in.Hops {
				if s.in.Hops[i].From == "frontend" {
					s.in.Hops[i].Got.Trace[15] ^= 0xff
				}
			}
			return s.in
		},
		exp: connected,
		want: want{status: StatusFail, findings: map[string]int{
			"frontend -> cart | callee continued a different trace": 2,
		}},
	}, {
		name: "upstream break is not counted again downstream",
		in: func() Input {
			return newSim(topo(svc("frontend", "p1"), proxy("p1", false, "p2"), proxy("p2", true, "cart"),
				svc("cart", "inventory"), svc("inventory"))).run("frontend", 3).in
		},
		exp: connected,
		want: want{status: StatusFail, findings: map[string]int{
			"p1 -> p2 | callee got no trace context: uninstrumented hop dropped the trace headers": 3,
		}, stats: map[string]float64{"hops_upstream_broken": 3, "hop_breaks": 3}},
	}, {
		name: "wrong parent span",
		in: func() Input {
			s := newSim(topo(svc("frontend", "cart"), svc("cart"))).run("frontend", 1)
			for i := range s.in.Hops {
				if s.in.Hops[i].From == "frontend" {
					s.in.Hops[i].Got.Span[0] ^= 0xff
				}
			}
			sp := s.backendSpan("cart", record.KindServer)
			sp.Parent[0] ^= 0xff
			return s.in
		},
		exp: connected,
		want: want{status: StatusFail, findings: map[string]int{
			"frontend -> cart | wrong parent span": 1,
		}},
	}, {
		name: "server span's parent differs from what the ledger extracted",
		in: func() Input {
			s := newSim(topo(svc("frontend", "cart"), svc("cart"))).run("frontend", 1)
			s.backendSpan("cart", record.KindServer).Parent = s.backendSpan("frontend", record.KindServer).ID
			return s.in
		},
		exp: connected,
		want: want{status: StatusFail, findings: map[string]int{
			"frontend -> cart | server span's parent is not the caller's client span": 1,
		}},
	}, {
		name: "multi-root trace",
		in: func() Input {
			s := newSim(topo(svc("frontend", "cart"), svc("cart"))).run("frontend", 1)
			root := *s.backendSpan("frontend", record.KindServer)
			root.ID[0] ^= 0xff
			root.Service, root.Start = "stray", root.Start+1
			s.in.Backend = append(s.in.Backend, root)
			return s.in
		},
		exp:  connected,
		want: want{status: StatusFail, findings: map[string]int{"stray | trace has 2 roots": 1}},
	}, {
		name: "orphan whose parent was lost belongs to completeness",
		in: func() Input {
			return newSim(topo(svc("frontend", "cart"), svc("cart"))).run("frontend", 2).
				drop(func(sp *record.Span) bool { return sp.Service == "frontend" && sp.Kind == record.KindClient }).in
		},
		exp: connected,
		want: want{status: StatusPass, findings: map[string]int{
			"cart | span's parent never reached the backend": 2,
		}, stats: map[string]float64{"orphans": 2, "orphans_parent_lost": 2, "breaks": 0}},
	}, {
		name: "orphan with an unknown parent",
		in: func() Input {
			s := newSim(topo(svc("frontend", "cart"), svc("cart"))).run("frontend", 1)
			sp := *s.backendSpan("cart", record.KindServer)
			sp.ID[0] ^= 0xff
			sp.Parent[0] ^= 0xff
			sp.Kind = record.KindInternal
			s.in.Backend = append(s.in.Backend, sp)
			return s.in
		},
		exp:  connected,
		want: want{status: StatusFail, findings: map[string]int{"cart | span's parent is missing": 1}},
	}, {
		name: "unexpected edge",
		in: func() Input {
			s := newSim(topo(svc("frontend", "cart"), svc("cart"), svc("billing"))).run("frontend", 1)
			sp := *s.backendSpan("cart", record.KindServer)
			sp.ID[0] ^= 0xff
			sp.Service = "billing"
			s.in.Backend = append(s.in.Backend, sp)
			return s.in
		},
		exp:  connected,
		want: want{status: StatusFail, findings: map[string]int{"frontend -> billing | unexpected edge": 1}},
	}, {
		name: "edge behind an external node is discovered, not failed",
		in: func() Input {
			ext := svc("checkout")
			ext.External = "http://127.0.0.1:9000"
			s := newSim(topo(svc("frontend", "cart"), svc("cart"), ext)).run("frontend", 1)
			// The real checkout service calls a database of its own that
			// the topology does not name.
			sp := *s.backendSpan("cart", record.KindServer)
			sp.ID[0] ^= 0xff
			sp.Service = "checkout"
			db := sp
			db.ID[0] ^= 0x0f
			db.Parent = sp.ID
			db.Service = "payments-db"
			s.in.Backend = append(s.in.Backend, sp, db)
			return s.in
		},
		exp: connected,
		want: want{status: StatusPass, findings: map[string]int{
			"checkout -> payments-db | discovered edge the topology does not declare (external part)": 1,
			"frontend -> checkout | discovered edge the topology does not declare (external part)":    1,
		}},
	}, {
		name: "predicted edge never observed",
		in: func() Input {
			s := newSim(topo(svc("frontend", "cart"), svc("cart"))).run("frontend", 2)
			for i := range s.in.Backend {
				if s.in.Backend[i].Service == "cart" {
					s.in.Backend[i].Service = "cart-v2"
				}
			}
			return s.in
		},
		exp: connected,
		want: want{status: StatusFail, findings: map[string]int{
			"frontend -> cart | predicted edge never observed": 2,
			"frontend -> cart-v2 | unexpected edge":            2,
		}},
	}, {
		// Only the second request's cart spans are renamed: its group alone
		// does not show frontend -> cart, the run does.
		name: "predicted edge observed in another request's trace",
		in: func() Input {
			s := newSim(topo(svc("frontend", "cart"), svc("cart"))).run("frontend", 2)
			second := s.in.Hops[len(s.in.Hops)-1].Server.Trace
			for i := range s.in.Backend {
				if sp := &s.in.Backend[i]; sp.Service == "cart" && sp.Trace == second {
					sp.Service = "cart-v2"
				}
			}
			return s.in
		},
		exp: connected,
		want: want{status: StatusFail, findings: map[string]int{
			"frontend -> cart-v2 | unexpected edge": 1,
		}, stats: map[string]float64{"predicted_edges_unobserved": 0}},
	}, {
		name: "no read-back checks the ledger only",
		in: func() Input {
			in := newSim(topo(svc("frontend", "legacy-proxy"), proxy("legacy-proxy", false, "inventory"), svc("inventory"))).run("frontend", 2).in
			in.ReadBack, in.NoReadBack, in.Backend = false, "exported to an external OTLP endpoint", nil
			return in
		},
		exp: connected,
		want: want{status: StatusFail, findings: map[string]int{
			"legacy-proxy -> inventory | uninstrumented hop dropped the trace headers": 2,
		}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in()
			check(t, Propagation(in, tt.exp), tt.want)
			checkStreamed(t, in, propagationExpect(tt.exp))
		})
	}
}

// propagationExpect is the one expectation of a propagation test.
func propagationExpect(exp topology.PropagationExpect) []topology.Expect {
	return []topology.Expect{{Kind: topology.ExpectPropagation, Propagation: exp}}
}

// check compares a verdict with what a test wants: the status, exactly the
// wanted findings (by subject and message substring) with their counts, and
// the named stats.
func check(t *testing.T, v Verdict, w want) {
	t.Helper()
	if v.Status != w.status {
		t.Errorf("status = %s, want %s (observed %q)", v.Status, w.status, v.Observed)
	}
	matched := make(map[string]bool)
	for _, f := range v.Findings {
		found := false
		for k, n := range w.findings {
			// "subject | message substring" or, to tell attributions apart,
			// "subject | message substring | fault substring" ("none": empty).
			parts := strings.SplitN(k, " | ", 3)
			subj, msg := parts[0], parts[1]
			if len(parts) == 3 && !(parts[2] == "none" && f.Fault == "" || parts[2] != "none" && strings.Contains(f.Fault, parts[2])) {
				continue
			}
			if f.Subject == subj && strings.Contains(f.Message, msg) {
				found, matched[k] = true, true
				if f.Count != n {
					t.Errorf("finding %q: count = %d, want %d", k, f.Count, n)
				}
				if len(f.Examples) == 0 && f.Count > 0 && !strings.Contains(f.Message, "predicted edge") {
					t.Errorf("finding %q has no examples", k)
				}
			}
		}
		if !found {
			t.Errorf("unexpected finding %s: %s ×%d (examples %q)", f.Subject, f.Message, f.Count, f.Examples)
		}
	}
	for k := range w.findings {
		if !matched[k] {
			t.Errorf("missing finding %q; observed %q", k, v.Observed)
		}
	}
	for k, n := range w.stats {
		if got := v.Stats[k]; got != n {
			t.Errorf("stats[%s] = %v, want %v", k, got, n)
		}
	}
}

func TestPropagationFindingDetail(t *testing.T) {
	in := newSim(topo(svc("frontend", "legacy-proxy"), proxy("legacy-proxy", false, "inventory"), svc("inventory"))).run("frontend", 7).in
	v := Propagation(in, topology.PropagationExpect{Connected: true})
	if len(v.Findings) != 1 {
		t.Fatalf("findings = %+v", v.Findings)
	}
	f := v.Findings[0]
	if f.Of != 7 || len(f.Examples) != maxExamples {
		t.Errorf("of = %d, examples = %d; want 7 and %d", f.Of, len(f.Examples), maxExamples)
	}
	if !strings.HasPrefix(f.Examples[0], "request 1 hop ") || !strings.Contains(f.Examples[0], "got no context") {
		t.Errorf("example = %q", f.Examples[0])
	}
	if want := "7 breaks on 1 edge (legacy-proxy -> inventory)"; v.Observed != want {
		t.Errorf("observed = %q, want %q", v.Observed, want)
	}
	checkStreamed(t, in, propagationExpect(topology.PropagationExpect{Connected: true}))
}

// TestOrphanCountedUnderCompleteness: a client span lost on the way leaves
// its child an orphan; propagation passes and completeness counts the loss.
func TestOrphanCountedUnderCompleteness(t *testing.T) {
	in := newSim(topo(svc("frontend", "cart"), svc("cart"))).run("frontend", 2).
		drop(func(sp *record.Span) bool { return sp.Service == "frontend" && sp.Kind == record.KindClient }).in
	expects := []topology.Expect{
		{Kind: topology.ExpectPropagation, Propagation: topology.PropagationExpect{Connected: true}},
		{Kind: topology.ExpectCompleteness, Completeness: topology.CompletenessExpect{Min: 1}},
	}
	vs := Run(in, expects)
	checkStreamed(t, in, expects)
	if vs[0].Status != StatusPass || vs[1].Status != StatusFail {
		t.Fatalf("statuses %s, %s; want pass, fail", vs[0].Status, vs[1].Status)
	}
	if got := vs[1].Stats["missing_backend"]; got != 2 {
		t.Errorf("missing_backend = %v, want 2", got)
	}
}

// TestPropagationRunningVerdicts: a verdict leaves the tally as it was, so
// a Stream asked for one after every group still ends with Run's, and two
// verdicts in a row are the same, examples and all.
func TestPropagationRunningVerdicts(t *testing.T) {
	external := externalInput()
	external.Faults, external.Planned = nil, nil
	strip := fault(topology.FaultStripHeaders, onEdge("cart", "inventory"))
	tests := []struct {
		name string
		in   Input
		exp  topology.PropagationExpect
	}{
		{"external reactions", external, topology.PropagationExpect{Connected: true}},
		{"breaks with examples", newSim(topo(svc("frontend", "legacy-proxy"), proxy("legacy-proxy", false, "inventory"), svc("inventory"))).
			run("frontend", 7).in, topology.PropagationExpect{Connected: true}},
		{"planted breaks in and out of a fault's window",
			faultChain(stripAt("cart", "inventory", [2]float64{20, 30}, [2]float64{45, 45.5})).plant(strip, [2]float64{20, 30}).in,
			topology.PropagationExpect{Connected: true, Broken: []string{"cart -> inventory"}, DuringFault: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expects := propagationExpect(tt.exp)
			s := NewStream(tt.in, expects)
			for _, g := range Partition(tt.in) {
				s.Add(g)
				s.Verdicts()
			}
			s.Finish(tt.in.Faults)
			if err := sameVerdicts(Run(tt.in, expects), s.Verdicts()); err != nil {
				t.Errorf("stream: %v", err)
			}
			tally := newCheckTally(expects[0], &tt.in)
			var idx *spanIndex
			if tt.in.ReadBack {
				idx = newSpanIndex(tt.in.Backend)
			}
			tally.add(&tt.in, idx, newFaultSet(tt.in))
			if first, second := tally.verdict(), tally.verdict(); !reflect.DeepEqual(first, second) {
				t.Errorf("second verdict differs:\n got %+v\nwant %+v", second, first)
			}
		})
	}
}
