package assert

import (
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// stripAt returns a tamper hook stripping headers on from → to for hops sent
// at times matching any of the [from, to] second ranges.
func stripAt(from, to string, ranges ...[2]float64) func(*sim) func(*record.Hop) bool {
	return func(s *sim) func(*record.Hop) bool {
		return func(h *record.Hop) bool {
			if h.From != from || h.To != to {
				return false
			}
			for _, r := range ranges {
				if s.between(r[0], r[1])(h.SentAt) {
					return true
				}
			}
			return false
		}
	}
}

const lostInTransit = "trace headers lost in transit"

func TestAttribution(t *testing.T) {
	strip := fault(topology.FaultStripHeaders, onEdge("cart", "inventory"))
	connected := topology.PropagationExpect{Connected: true}
	label := "explained by fault #1 (strip-headers cart -> inventory, 20s–30s)"
	tests := []struct {
		name string
		in   func() Input
		want want
		// observe is a substring of Observed.
		observe string
	}{{
		// Requests 20..32 and 40 are stripped: the hops of 20..29 were in
		// flight inside the window; those of 30, 31 and 32 (sent a few
		// milliseconds after each second) and 40 after it. A fault acts
		// on a hop while it is in flight, so the ledger's times leave no
		// grace after a window.
		name: "explained and unexplained breaks are separate findings; no grace after the window",
		in: func() Input {
			return faultChain(stripAt("cart", "inventory", [2]float64{20, 32.5}, [2]float64{40, 40.5})).
				plant(strip, [2]float64{20, 30}).in
		},
		want: want{status: StatusFail, findings: map[string]int{
			"cart -> inventory | " + lostInTransit + " | " + label:    10,
			"cart -> inventory | " + lostInTransit + " | unexplained": 4,
		}, stats: map[string]float64{"unexplained": 4, "breaks": 14}},
		observe: "10 explained by planted faults, 4 unexplained",
	}, {
		name: "live fault is named by its ID",
		in: func() Input {
			s := faultChain(stripAt("cart", "inventory", [2]float64{20, 25.5}))
			s.window(0, strip, [2]float64{20, 30})
			return s.in
		},
		want: want{status: StatusFail, findings: map[string]int{
			"cart -> inventory | " + lostInTransit + " | explained by live fault 100 (strip-headers cart -> inventory, 20s–30s)": 6,
		}, stats: map[string]float64{"unexplained": 0}},
	}, {
		name: "a fault on another edge explains nothing",
		in: func() Input {
			return faultChain(stripAt("cart", "inventory", [2]float64{20, 25.5})).
				plant(fault(topology.FaultStripHeaders, onEdge("frontend", "cart")), [2]float64{20, 30}).
				plant(fault(topology.FaultLatency, onService("inventory")), [2]float64{20, 30}).in
		},
		want: want{status: StatusFail, findings: map[string]int{
			"cart -> inventory | " + lostInTransit + " | unexplained": 6,
		}, stats: map[string]float64{"unexplained": 6}},
	}, {
		name: "propagator mismatch on the callee explains the hop",
		in: func() Input {
			return faultChain(stripAt("cart", "inventory", [2]float64{20, 25.5})).
				plant(fault(topology.FaultPropagatorSwitch, onService("inventory")), [2]float64{20.5, 30}).in
		},
		// Request 20's hop (20.004s) is before the window; pre grace is 0.
		want: want{status: StatusFail, findings: map[string]int{
			"cart -> inventory | " + lostInTransit + " | explained by fault #1 (propagator-mismatch inventory, 20.5s–30s)": 5,
			"cart -> inventory | " + lostInTransit + " | unexplained":                                                      1,
		}},
	}, {
		name: "orphan explained by an uninstrumented caller, not by latency",
		in: func() Input {
			// Planted before the traffic, so cart emits no span in its
			// window and frontend's client spans parent inventory's.
			s := newSim(topo(svc("frontend", "cart"), svc("cart", "inventory"), svc("inventory"))).
				plant(fault(topology.FaultUninstrument, onService("cart")), [2]float64{20, 30}).
				plant(fault(topology.FaultLatency, onService("inventory")), [2]float64{0, 60}).
				spread("frontend", 60, 1)
			for _, at := range []float64{25, 50} {
				for _, sp := range s.in.Backend {
					if sp.Service == "inventory" && s.between(at, at+0.5)(sp.Start) {
						sp.ID[0] ^= 0xff
						sp.Parent[0] ^= 0xff
						sp.Kind = record.KindInternal
						s.in.Backend = append(s.in.Backend, sp)
						break
					}
				}
			}
			return s.in
		},
		want: want{status: StatusFail, findings: map[string]int{
			"inventory | span's parent is missing | explained by fault #1 (uninstrument cart, 20s–30s)": 1,
			"inventory | span's parent is missing | unexplained":                                        1,
		}, stats: map[string]float64{"unexplained": 1}},
	}, {
		name: "clock skew explains findings at skewed times",
		in: func() Input {
			f := fault(topology.FaultClockSkew, onService("inventory"))
			f.Skew.Offset = -time.Minute
			s := faultChain(nil).plant(f, [2]float64{20, 30})
			for _, sp := range s.in.Backend {
				if sp.Service == "inventory" && s.between(25, 25.5)(sp.Start) {
					sp.ID[0] ^= 0xff
					sp.Parent[0] ^= 0xff
					sp.Start -= int64(time.Minute)
					s.in.Backend = append(s.in.Backend, sp)
					break
				}
			}
			return s.in
		},
		want: want{status: StatusFail, findings: map[string]int{
			"inventory | span's parent is missing | explained by fault #1": 1,
		}, stats: map[string]float64{"unexplained": 0}},
	}, {
		name: "no faults: no attribution",
		in: func() Input {
			return faultChain(stripAt("cart", "inventory", [2]float64{20, 21.5})).in
		},
		want: want{status: StatusFail, findings: map[string]int{
			"cart -> inventory | " + lostInTransit + " | none": 2,
		}, stats: map[string]float64{"unexplained": 0}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in()
			v := Propagation(in, connected)
			check(t, v, tt.want)
			checkStreamed(t, in, propagationExpect(connected))
			if !strings.Contains(v.Observed, tt.observe) {
				t.Errorf("observed %q, want %q", v.Observed, tt.observe)
			}
		})
	}
}

func TestCompletenessAttribution(t *testing.T) {
	inventoryAt := func(s *sim, at ...float64) func(*record.Span) bool {
		return func(sp *record.Span) bool {
			if sp.Service != "inventory" || sp.Kind != record.KindServer {
				return false
			}
			for _, a := range at {
				if s.between(a, a+0.5)(sp.End) {
					return true
				}
			}
			return false
		}
	}
	cartAt := func(s *sim, at float64) func(*record.Span) bool {
		return func(sp *record.Span) bool { return sp.Service == "cart" && s.between(at, at+0.5)(sp.End) }
	}
	tests := []struct {
		name string
		in   func() Input
		want want
	}{{
		// The outage window is 20s–30s: spans ending from 15s (5s before)
		// to 32s are its; 14s and 32.006s are not.
		name: "exporter outage: pre and post graces",
		in: func() Input {
			s := faultChain(nil).plant(fault(topology.FaultExporterOutage, topology.FaultTarget{Instance: -1}), [2]float64{20, 30})
			return s.loseSpans(record.ExportFailed, inventoryAt(s, 14, 16, 25, 32)).in
		},
		want: want{status: StatusFail, findings: map[string]int{
			"inventory | export failed | explained by fault #1 (exporter-outage pipeline, 20s–30s)": 2,
			"inventory | export failed | unexplained":                                               2,
			"traces | partial | explained by fault #1":                                              2,
			"traces | partial | unexplained":                                                        2,
		}, stats: map[string]float64{"unexplained": 4}},
	}, {
		name: "crash explains losses of its instance only",
		in: func() Input {
			s := faultChain(nil).plant(fault(topology.FaultCrash, onInstance("cart", 0)), [2]float64{20, 30})
			s.loseSpans(record.ExportPending, cartAt(s, 25))
			return s.loseSpans(record.ExportPending, inventoryAt(s, 26)).in
		},
		want: want{status: StatusFail, findings: map[string]int{
			"cart | dropped in SDK queue | explained by fault #1 (crash cart-0, 20s–30s)": 2,
			"inventory | dropped in SDK queue | unexplained":                              1,
			"traces | partial | explained by fault #1":                                    1,
			"traces | partial | unexplained":                                              1,
		}},
	}, {
		name: "crash of another instance explains nothing",
		in: func() Input {
			s := faultChain(nil).plant(fault(topology.FaultCrash, onInstance("cart", 1)), [2]float64{20, 30})
			return s.loseSpans(record.ExportPending, cartAt(s, 25)).in
		},
		want: want{status: StatusFail, findings: map[string]int{
			"cart | dropped in SDK queue | unexplained": 2,
			"traces | partial | unexplained":            1,
		}},
	}, {
		name: "restart explains spans queued before it",
		in: func() Input {
			s := faultChain(nil).plant(fault(topology.FaultRestart, onInstance("cart", 0)), [2]float64{20, 20.5})
			return s.loseSpans(record.ExportPending, cartAt(s, 17)).in
		},
		want: want{status: StatusFail, findings: map[string]int{
			"cart | dropped in SDK queue | explained by fault #1 (restart cart-0, 20s–20.5s)": 2,
			"traces | partial | explained by fault #1":                                        1,
		}, stats: map[string]float64{"unexplained": 0}},
	}, {
		name: "uninstrument loses no spans",
		in: func() Input {
			s := faultChain(nil).plant(fault(topology.FaultUninstrument, onService("cart")), [2]float64{20, 30})
			return s.loseSpans(record.ExportPending, cartAt(s, 25)).in
		},
		want: want{status: StatusFail, findings: map[string]int{
			"cart | dropped in SDK queue | unexplained": 2,
			"traces | partial | unexplained":            1,
		}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, Completeness(tt.in(), topology.CompletenessExpect{Min: 1}), tt.want)
			checkStreamed(t, tt.in(), completenessExpects(topology.CompletenessExpect{Min: 1}))
		})
	}
}

func TestPropagationPlantedBreaks(t *testing.T) {
	strip := fault(topology.FaultStripHeaders, onEdge("cart", "inventory"))
	broken := func(connected bool, during int, edges ...string) topology.PropagationExpect {
		return topology.PropagationExpect{Connected: connected, Broken: edges, DuringFault: during}
	}
	tests := []struct {
		name    string
		in      func() Input
		exp     topology.PropagationExpect
		want    want
		observe string
	}{{
		name: "breaks within the fault's window pass",
		in: func() Input {
			return faultChain(stripAt("cart", "inventory", [2]float64{20, 30})).plant(strip, [2]float64{20, 30}).in
		},
		exp: broken(true, 1, "cart -> inventory"),
		want: want{status: StatusPass, findings: map[string]int{
			"cart -> inventory | " + lostInTransit + " | explained by fault #1": 10,
		}, stats: map[string]float64{"planted_breaks": 10, "planted_breaks_outside": 0, "planted_edges_missing": 0}},
		observe: "10 within fault #1's windows, 0 outside",
	}, {
		name: "a break on the planted edge outside the window fails",
		in: func() Input {
			return faultChain(stripAt("cart", "inventory", [2]float64{20, 30}, [2]float64{45, 45.5})).plant(strip, [2]float64{20, 30}).in
		},
		exp: broken(true, 1, "cart -> inventory"),
		want: want{status: StatusFail, findings: map[string]int{
			"cart -> inventory | " + lostInTransit + " | explained by fault #1":         10,
			"cart -> inventory | " + lostInTransit + " | unexplained":                   1,
			"cart -> inventory | break on cart -> inventory outside fault #1's windows": 1,
		}, stats: map[string]float64{"planted_breaks_outside": 1, "unexplained": 1}},
	}, {
		name: "a planted break that never happened fails",
		in:   func() Input { return faultChain(nil).plant(strip, [2]float64{20, 30}).in },
		exp:  broken(true, 1, "cart -> inventory"),
		want: want{status: StatusFail, findings: map[string]int{
			"cart -> inventory | planted break on cart -> inventory was not observed within fault #1's window (20s–30s)": 0,
		}, stats: map[string]float64{"planted_edges_missing": 1}},
	}, {
		name: "a planted break only outside the window fails twice over",
		in: func() Input {
			return faultChain(stripAt("cart", "inventory", [2]float64{45, 45.5})).plant(strip, [2]float64{20, 30}).in
		},
		exp: broken(false, 1, "cart -> inventory"),
		want: want{status: StatusFail, findings: map[string]int{
			"cart -> inventory | " + lostInTransit + " | unexplained":                   1,
			"cart -> inventory | planted break on cart -> inventory was not observed":   0,
			"cart -> inventory | break on cart -> inventory outside fault #1's windows": 1,
		}},
	}, {
		name: "without during-fault, planted breaks are allowed anywhere",
		in: func() Input {
			return faultChain(stripAt("cart", "inventory", [2]float64{45, 46.5})).in
		},
		exp: broken(true, 0, "cart → inventory"),
		want: want{status: StatusPass, findings: map[string]int{
			"cart -> inventory | " + lostInTransit: 2,
		}, stats: map[string]float64{"planted_breaks": 2}},
		observe: "cart -> inventory broke 2 times (planted)",
	}, {
		name: "connected: a break on another edge still fails",
		in: func() Input {
			s := faultChain(func(s *sim) func(*record.Hop) bool {
				a, b := stripAt("cart", "inventory", [2]float64{20, 20.5})(s), stripAt("frontend", "cart", [2]float64{50, 50.5})(s)
				return func(h *record.Hop) bool { return a(h) || b(h) }
			})
			return s.plant(strip, [2]float64{20, 30}).in
		},
		exp: broken(true, 1, "cart -> inventory"),
		want: want{status: StatusFail, findings: map[string]int{
			"cart -> inventory | " + lostInTransit + " | explained":  1,
			"frontend -> cart | " + lostInTransit + " | unexplained": 1,
		}},
		observe: "1 break elsewhere",
	}, {
		name: "not connected: a break on another edge passes",
		in: func() Input {
			s := faultChain(func(s *sim) func(*record.Hop) bool {
				a, b := stripAt("cart", "inventory", [2]float64{20, 20.5})(s), stripAt("frontend", "cart", [2]float64{50, 50.5})(s)
				return func(h *record.Hop) bool { return a(h) || b(h) }
			})
			return s.plant(strip, [2]float64{20, 30}).in
		},
		exp: broken(false, 1, "cart -> inventory"),
		want: want{status: StatusPass, findings: map[string]int{
			"cart -> inventory | " + lostInTransit + " | explained":  1,
			"frontend -> cart | " + lostInTransit + " | unexplained": 1,
		}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in()
			v := Propagation(in, tt.exp)
			check(t, v, tt.want)
			checkStreamed(t, in, propagationExpect(tt.exp))
			if !strings.Contains(v.Observed, tt.observe) {
				t.Errorf("observed %q, want %q", v.Observed, tt.observe)
			}
			if len(tt.exp.Broken) > 0 && !strings.Contains(v.Expected, "planted breaks required on cart -> inventory") {
				t.Errorf("expected %q does not name the planted edge", v.Expected)
			}
		})
	}
}
