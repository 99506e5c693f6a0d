package assert

import (
	"testing"

	"github.com/tracerig/tracerig/topology"
)

// proxyFanOut is caller → proxy → {left, right}: the shape in which an
// uninstrumented proxy makes caller's spans the parents of left's and
// right's.
func proxyFanOut() *topology.Topology {
	return topo(svc("caller", "proxy"), svc("proxy", "left", "right"), svc("left"), svc("right"))
}

// TestModelFaults checks that during a window of a fault that changes the
// model the checks expect the topology with the fault applied, and the
// static topology outside it.
func TestModelFaults(t *testing.T) {
	connected := topology.PropagationExpect{Connected: true}
	uninstrument := fault(topology.FaultUninstrument, onService("proxy"))
	tests := []struct {
		name string
		in   func() Input
		want want
	}{{
		name: "uninstrumented proxy forwarding headers breaks nothing",
		in: func() Input {
			return newSim(proxyFanOut()).plant(uninstrument, [2]float64{20, 30}).spread("caller", 60, 1).in
		},
		want: want{status: StatusPass, stats: map[string]float64{
			"unexpected_edges": 0, "predicted_edges_unobserved": 0, "hop_breaks": 0,
		}},
	}, {
		name: "the same on one of two instances",
		in: func() Input {
			return newSim(proxyFanOut()).plant(fault(topology.FaultUninstrument, onInstance("proxy", 0)), [2]float64{20, 30}).
				spread("caller", 60, 1).in
		},
		want: want{status: StatusPass, stats: map[string]float64{"unexpected_edges": 0}},
	}, {
		// The traffic was made with the proxy uninstrumented in [20, 30]
		// but the runtime recorded a window of [20, 25]: the caller ->
		// left and caller -> right pairs after 25s are not what the
		// topology in force predicts.
		name: "the faulted shape outside the window is unexpected",
		in: func() Input {
			s := newSim(proxyFanOut()).plant(uninstrument, [2]float64{20, 30}).spread("caller", 60, 1)
			s.in.Faults[0].End = s.sec(25)
			return s.in
		},
		want: want{status: StatusFail, findings: map[string]int{
			"caller -> left | unexpected edge | explained by fault #1":  2,
			"caller -> right | unexpected edge | explained by fault #1": 2,
			"caller -> left | unexpected edge | unexplained":            3,
			"caller -> right | unexpected edge | unexplained":           3,
		}, stats: map[string]float64{"unexpected_edges": 2, "unexpected_edge_spans": 10}},
	}, {
		// Headers dropped: the break is real, and named on the edges out of
		// the proxy with the model's reason.
		name: "uninstrumented proxy dropping headers breaks its edges",
		in: func() Input {
			f := uninstrument
			f.Forward = false
			return newSim(proxyFanOut()).plant(f, [2]float64{20, 30}).spread("caller", 60, 1).in
		},
		want: want{status: StatusFail, findings: map[string]int{
			"proxy -> left | uninstrumented hop dropped the trace headers | explained by fault #1":  10,
			"proxy -> right | uninstrumented hop dropped the trace headers | explained by fault #1": 10,
		}},
	}, {
		// inventory reads b3 for the window: what the callee reads comes
		// from the model, so the message names b3, not tracecontext.
		name: "propagator mismatch names the formats in force",
		in: func() Input {
			f := fault(topology.FaultPropagatorSwitch, onService("inventory"))
			f.Propagators = []topology.Propagator{topology.PropB3}
			return newSim(topo(svc("frontend", "cart"), svc("cart", "inventory"), svc("inventory"))).
				plant(f, [2]float64{20, 30}).spread("frontend", 60, 1).in
		},
		want: want{status: StatusFail, findings: map[string]int{
			"cart -> inventory | callee reads [b3] but received traceparent | explained by fault #1": 10,
		}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in()
			check(t, Propagation(in, connected), tt.want)
			checkStreamed(t, in, propagationExpect(connected))
		})
	}
}

func TestExpectModelPredicted(t *testing.T) {
	s := newSim(proxyFanOut()).plant(fault(topology.FaultUninstrument, onService("proxy")), [2]float64{20, 30})
	m := newExpectModel(s.in.Topology, s.in.Faults)
	direct := edge{"caller", "left"}
	tests := []struct {
		name   string
		e      edge
		lo, hi float64
		want   bool
	}{
		{"static edge before the window", edge{"caller", "proxy"}, 10, 10.1, true},
		{"static edge inside the window", edge{"caller", "proxy"}, 22, 23, false},
		{"faulted edge inside the window", direct, 22, 23, true},
		{"faulted edge after the window", direct, 31, 32, false},
		{"faulted edge in flight when the window opened", direct, 19.9, 20.1, true},
		{"static edge in flight when the window closed", edge{"proxy", "left"}, 29.9, 30.1, true},
		{"edge predicted at no time", edge{"left", "caller"}, 0, 60, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.predicted(tt.e, s.sec(tt.lo), s.sec(tt.hi)); got != tt.want {
				t.Errorf("predicted(%v, %gs, %gs) = %v, want %v", tt.e, tt.lo, tt.hi, got, tt.want)
			}
		})
	}
	for _, e := range []edge{{"caller", "proxy"}, {"proxy", "left"}, direct, {"caller", "right"}} {
		if !m.union[e] {
			t.Errorf("union lacks %v", e)
		}
	}
	if p := m.service("proxy", 0, s.sec(25)); p.Instrumented || !p.ForwardHeaders {
		t.Errorf("proxy at 25s: instrumented %v forward %v, want false true", p.Instrumented, p.ForwardHeaders)
	}
	if p := m.service("proxy", 0, s.sec(35)); !p.Instrumented {
		t.Error("proxy at 35s is not instrumented")
	}
}
