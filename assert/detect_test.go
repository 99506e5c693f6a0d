package assert

import (
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// detectKind is one fault kind's detect table: how to plant its effect on
// the records at times matching at, and where "also outside" puts it.
type detectKind struct {
	f topology.Fault
	// tamper plants the effect while the requests run (header faults).
	tamper func(s *sim, at func(int64) bool) func(*record.Hop) bool
	// damage plants the effect on the finished records.
	damage func(s *sim, at func(int64) bool)
	// everywhere: the rule compares inside with outside statistically, so
	// "also outside" puts the effect on every request.
	everywhere bool
	// observation: the kind passes whenever hops crossed the edge inside.
	observation bool
}

func isSpan(svc string, kind record.Kind, name string) func(*record.Span) bool {
	return func(sp *record.Span) bool {
		return sp.Service == svc && sp.Kind == kind && (name == "" || sp.Name == name)
	}
}

func and(p func(*record.Span) bool, at func(int64) bool, t func(*record.Span) int64) func(*record.Span) bool {
	return func(sp *record.Span) bool { return p(sp) && at(t(sp)) }
}

func start(sp *record.Span) int64 { return sp.Start }
func end(sp *record.Span) int64   { return sp.End }

func hopOn(from, to string, at func(int64) bool) func(*record.Hop) bool {
	return func(h *record.Hop) bool { return (from == "" || h.From == from) && h.To == to && at(h.SentAt) }
}

func withF(f topology.Fault, set func(*topology.Fault)) topology.Fault { set(&f); return f }

var detectKinds = map[string]detectKind{
	"latency": {
		f: withF(fault(topology.FaultLatency, topology.FaultTarget{Service: "cart", Route: route, Instance: 0}),
			func(f *topology.Fault) { f.Latency.Add = 200 * time.Millisecond }),
		damage: func(s *sim, at func(int64) bool) {
			// The handler sleeps before its calls: the server span and its
			// calls move, not only its end.
			slowed := make(map[record.SpanID]bool)
			s.spans(and(isSpan("cart", record.KindServer, route), at, start), func(sp *record.Span) {
				sp.End += int64(200 * time.Millisecond)
				slowed[sp.ID] = true
			})
			s.spans(func(sp *record.Span) bool {
				return sp.Service == "cart" && sp.Kind == record.KindClient && slowed[sp.Parent]
			},
				func(sp *record.Span) {
					sp.Start += int64(200 * time.Millisecond)
					sp.End += int64(200 * time.Millisecond)
				})
		},
		everywhere: true,
	},
	"errors": {
		f: withF(fault(topology.FaultErrors, onService("cart")), func(f *topology.Fault) { f.Errors.Rate = 0.5 }),
		damage: func(s *sim, at func(int64) bool) {
			s.spans(and(isSpan("cart", record.KindServer, ""), at, start), func(sp *record.Span) { sp.Status = record.StatusError })
		},
		everywhere: true,
	},
	"timeout": {
		f: fault(topology.FaultTimeout, onEdge("cart", "inventory")),
		damage: func(s *sim, at func(int64) bool) {
			s.spans(and(isSpan("cart", record.KindClient, "call inventory"), at, start), func(sp *record.Span) { sp.Status = record.StatusError })
		},
		everywhere: true,
	},
	"partition": {
		f: fault(topology.FaultPartition, onEdge("cart", "inventory")),
		damage: func(s *sim, at func(int64) bool) {
			s.hops(hopOn("cart", "inventory", at), func(h *record.Hop) { h.Received = false })
		},
		everywhere: true,
	},
	"strip-headers": {
		f: fault(topology.FaultStripHeaders, onEdge("cart", "inventory")),
		tamper: func(s *sim, at func(int64) bool) func(*record.Hop) bool {
			return hopOn("cart", "inventory", at)
		},
	},
	"corrupt-traceparent": {
		f: fault(topology.FaultCorruptTraceparent, onEdge("cart", "inventory")),
		damage: func(s *sim, at func(int64) bool) {
			s.hops(hopOn("cart", "inventory", at), func(h *record.Hop) { h.Got = record.Context{} })
		},
	},
	"duplicate-header": {
		f: fault(topology.FaultDuplicateHeader, onEdge("cart", "inventory")),
		damage: func(s *sim, at func(int64) bool) {
			s.hops(hopOn("cart", "inventory", at), func(h *record.Hop) { h.Got.Span[0] ^= 0xff })
		},
		observation: true,
	},
	"tracestate-overflow": {
		f: fault(topology.FaultTracestateOverflow, onEdge("cart", "inventory")),
		damage: func(s *sim, at func(int64) bool) {
			s.hops(hopOn("cart", "inventory", at), func(h *record.Hop) { h.SentHeaders |= record.HeaderTracestate })
		},
		observation: true,
	},
	"propagator-mismatch": {
		f: fault(topology.FaultPropagatorSwitch, onService("inventory")),
		damage: func(s *sim, at func(int64) bool) {
			s.hops(hopOn("", "inventory", at), func(h *record.Hop) { h.Got = record.Context{} })
		},
	},
	"uninstrument": {
		f: fault(topology.FaultUninstrument, onService("inventory")),
		damage: func(s *sim, at func(int64) bool) {
			s.loseSpans(record.ExportOK, and(isSpan("inventory", record.KindServer, ""), at, start))
			s.in.Ended = s.in.Ended[:0:0]
			s.hops(hopOn("", "inventory", at), func(h *record.Hop) { h.ServerSpan = false })
		},
	},
	"clock-skew": {
		f: withF(fault(topology.FaultClockSkew, onService("inventory")), func(f *topology.Fault) { f.Skew.Offset = -time.Second }),
		damage: func(s *sim, at func(int64) bool) {
			// The skew is applied on export: the ledger keeps the true
			// times, the backend gets the shifted ones.
			for i := range s.in.Backend {
				if sp := &s.in.Backend[i]; sp.Service == "inventory" && sp.Kind == record.KindServer && at(sp.Start) {
					sp.Start -= int64(time.Second)
					sp.End -= int64(time.Second)
				}
			}
		},
	},
	"exporter-outage": {
		f: fault(topology.FaultExporterOutage, topology.FaultTarget{Instance: -1}),
		damage: func(s *sim, at func(int64) bool) {
			s.loseSpans(record.ExportFailed, func(sp *record.Span) bool { return at(sp.End) })
		},
	},
	"slow-backend": {
		f: withF(fault(topology.FaultSlowBackend, topology.FaultTarget{Instance: -1}), func(f *topology.Fault) { f.Delay = 5 * time.Second }),
		damage: func(s *sim, at func(int64) bool) {
			s.spans(func(sp *record.Span) bool { return at(sp.End) }, func(sp *record.Span) { sp.Arrived += int64(5 * time.Second) })
		},
		everywhere: true,
	},
	"queue-overflow": {
		f: fault(topology.FaultQueueOverflow, onService("cart")),
		damage: func(s *sim, at func(int64) bool) {
			s.loseSpans(record.ExportPending, func(sp *record.Span) bool { return sp.Service == "cart" && at(sp.End) })
		},
	},
	"crash": {
		f: fault(topology.FaultCrash, onInstance("cart", 0)),
		damage: func(s *sim, at func(int64) bool) {
			s.hops(hopOn("frontend", "cart", at), func(h *record.Hop) { h.Received = false })
		},
	},
	"restart": {
		f: fault(topology.FaultRestart, onInstance("cart", 0)),
		damage: func(s *sim, at func(int64) bool) {
			s.loseSpans(record.ExportPending, func(sp *record.Span) bool { return sp.Service == "cart" && at(sp.End) })
		},
	},
	"pause": {
		f: fault(topology.FaultPause, onInstance("cart", 0)),
		damage: func(s *sim, at func(int64) bool) {
			s.spans(and(isSpan("frontend", record.KindClient, "call cart"), at, start), func(sp *record.Span) {
				sp.End = sp.Start + int64(11*time.Second)
			})
		},
	},
}

// detectSim builds 60 requests, one a second, with k's fault planted for
// 20s–30s and its effect at the times at matches.
func detectSim(k detectKind, at func(s *sim) func(int64) bool) *sim {
	var tamper func(*sim) func(*record.Hop) bool
	if k.tamper != nil {
		tamper = func(s *sim) func(*record.Hop) bool { return k.tamper(s, at(s)) }
	}
	s := faultChain(tamper)
	if k.damage != nil {
		k.damage(s, at(s))
	}
	return s.plant(k.f, [2]float64{20, 30})
}

func TestDetectKinds(t *testing.T) {
	exp := topology.DetectExpect{Fault: 1}
	inside := func(s *sim) func(int64) bool { return s.between(20, 30) }
	never := func(*sim) func(int64) bool { return func(int64) bool { return false } }
	for name, k := range detectKinds {
		also := func(s *sim) func(int64) bool {
			if k.everywhere {
				return func(int64) bool { return true }
			}
			a, b := s.between(20, 30), s.between(45, 47.5)
			return func(t int64) bool { return a(t) || b(t) }
		}
		cases := []struct {
			name string
			at   func(*sim) func(int64) bool
			want Status
		}{
			{"inside only", inside, StatusPass},
			{"also outside", also, StatusFail},
			{"absent", never, StatusFail},
		}
		if k.observation {
			cases[1].want, cases[2].want = StatusPass, StatusPass
		}
		for _, c := range cases {
			t.Run(name+"/"+c.name, func(t *testing.T) {
				in := detectSim(k, c.at).in
				v := Detect(in, exp)
				checkStreamed(t, in, detectExpects(exp))
				if v.Status != c.want {
					t.Errorf("status %s, want %s\nexpected: %s\nobserved: %s\nfindings: %+v", v.Status, c.want, v.Expected, v.Observed, v.Findings)
				}
				if v.Check != "detect" || !strings.HasPrefix(v.Subject, "fault #1 ("+string(k.f.Kind)) {
					t.Errorf("check %q subject %q", v.Check, v.Subject)
				}
				if v.Measured == "" || v.Expected == "" || v.Observed == "" {
					t.Errorf("measured %q expected %q observed %q", v.Measured, v.Expected, v.Observed)
				}
				if c.want == StatusPass && !k.everywhere && !k.observation {
					// Evidence: the effect inside, attributed to the fault, with trace IDs.
					ok := false
					for _, f := range v.Findings {
						if strings.HasPrefix(f.Fault, "explained by fault #1") && f.Count > 0 && len(f.Examples) > 0 {
							ok = true
						}
					}
					if !ok {
						t.Errorf("no attributed evidence: %+v", v.Findings)
					}
				}
				if c.name == "also outside" && !k.everywhere && !k.observation && v.Stats["unexplained"] == 0 {
					t.Errorf("effects outside not counted as unexplained: %v", v.Stats)
				}
			})
		}
	}
}

func TestDetectDetails(t *testing.T) {
	inside := func(s *sim) func(int64) bool { return s.between(20, 30) }
	tests := []struct {
		name    string
		in      func() Input
		exp     topology.DetectExpect
		status  Status
		observe string // substring of Observed + Reason + Measured
		stats   map[string]float64
	}{{
		// Every one of the 60 hops falls on one side: no grace after the
		// window hides any.
		name: "header fault: numbers inside and outside",
		in: func() Input {
			return detectSim(detectKinds["strip-headers"], inside).in
		},
		exp: topology.DetectExpect{Fault: 1}, status: StatusPass,
		observe: "10 breaks inside (of 10 checked hops), 0 outside (of 50)",
		stats:   map[string]float64{"inside": 10, "outside": 0, "population_inside": 10, "population_outside": 50},
	}, {
		name: "effect outside explained by another window of the same kind does not fail",
		in: func() Input {
			k := detectKinds["strip-headers"]
			s := detectSim(k, func(s *sim) func(int64) bool {
				a, b := s.between(20, 30), s.between(45, 47.5)
				return func(t int64) bool { return a(t) || b(t) }
			})
			return s.plant(k.f, [2]float64{45, 48}).in
		},
		exp: topology.DetectExpect{Fault: 1}, status: StatusPass,
		observe: "3 more outside explained by other faults",
		stats:   map[string]float64{"outside": 0, "outside_other_faults": 3, "unexplained": 0},
	}, {
		name: "latency with too few spans inside",
		in: func() Input {
			k := detectKinds["latency"]
			s := faultChain(nil)
			k.damage(s, s.between(20, 23))
			return s.plant(k.f, [2]float64{20, 23}).in
		},
		exp: topology.DetectExpect{Fault: 1}, status: StatusFail,
		observe: "too few spans to decide: 3 inside, 55 outside",
	}, {
		name: "tracestate overflow says what the callee did",
		in: func() Input {
			return detectSim(detectKinds["tracestate-overflow"], inside).in
		},
		exp: topology.DetectExpect{Fault: 1}, status: StatusPass,
		observe: "tolerated by the callee on 10 of 10 hops (trace continued; 10 of their server spans in the backend); 10 hops arrived without the tracestate header",
	}, {
		name: "duplicate header that broke the trace",
		in: func() Input {
			return detectSim(detectKinds["duplicate-header"], inside).in
		},
		exp: topology.DetectExpect{Fault: 1}, status: StatusPass,
		observe: "broke the trace on 10 of 10 hops",
	}, {
		name: "header observation fails when no hop crossed inside",
		in: func() Input {
			s := faultChain(nil)
			return s.plant(detectKinds["duplicate-header"].f, [2]float64{100, 110}).in
		},
		exp: topology.DetectExpect{Fault: 1}, status: StatusFail,
		observe: "no hop crossed cart -> inventory during the fault",
	}, {
		name: "uninstrumented service whose spans still arrive fails",
		in: func() Input {
			s := faultChain(nil)
			s.hops(hopOn("", "inventory", s.between(20, 30)), func(h *record.Hop) { h.ServerSpan = false })
			return s.plant(detectKinds["uninstrument"].f, [2]float64{20, 30}).in
		},
		exp: topology.DetectExpect{Fault: 1}, status: StatusFail,
		observe: "server spans still reached the backend",
	}, {
		name: "kinds that need the backend do not run without it",
		in: func() Input {
			in := detectSim(detectKinds["latency"], inside).in
			in.ReadBack, in.NoReadBack, in.Backend = false, "exported to an external collector", nil
			return in
		},
		exp: topology.DetectExpect{Fault: 1}, status: StatusNotRun,
		observe: "exported to an external collector",
	}, {
		// frontend's connections to cart stay in their reconnect backoff
		// for 3.5s after the window: its first hop through comes at 34s,
		// so the failures before it are the crash's, by the ledger.
		name: "crash aftermath until the caller gets through again",
		in: func() Input {
			s := faultChain(nil)
			s.hops(hopOn("frontend", "cart", s.between(20, 33.5)), func(h *record.Hop) { h.Received = false })
			return s.plant(detectKinds["crash"].f, [2]float64{20, 30}).in
		},
		exp: topology.DetectExpect{Fault: 1}, status: StatusPass,
		observe: "14 spans lost or hops not received inside (of 44 spans and hops of cart-0), 0 outside",
	}, {
		name: "a failure after the caller got through again is outside",
		in: func() Input {
			s := faultChain(nil)
			s.hops(hopOn("frontend", "cart", s.between(20, 33.5)), func(h *record.Hop) { h.Received = false })
			s.hops(hopOn("frontend", "cart", s.between(36, 36.5)), func(h *record.Hop) { h.Received = false })
			return s.plant(detectKinds["crash"].f, [2]float64{20, 30}).in
		},
		exp: topology.DetectExpect{Fault: 1}, status: StatusFail,
		observe: "14 spans lost or hops not received inside (of 44 spans and hops of cart-0), 1 outside",
	}, {
		// The request sent at 19s is still waiting when the pause begins
		// at 19.5s: it belongs inside, though it was sent before.
		name: "pause: a hop in flight when the window opened is inside",
		in: func() Input {
			s := faultChain(nil)
			s.spans(and(isSpan("frontend", record.KindClient, "call cart"), s.between(19, 30), start), func(sp *record.Span) {
				sp.End = sp.Start + int64(11*time.Second)
			})
			return s.plant(detectKinds["pause"].f, [2]float64{19.5, 30}).in
		},
		exp: topology.DetectExpect{Fault: 1}, status: StatusPass,
		observe: "0 outside",
	}, {
		// A blackhole shorter than the callers' timeouts: every call in it
		// is held until it heals and then goes through.
		name: "blackhole partition: calls held until it heals count",
		in: func() Input {
			s := faultChain(nil)
			s.spans(and(isSpan("cart", record.KindClient, "call inventory"), s.between(20, 30), start), func(sp *record.Span) {
				sp.End = s.sec(30) + int64(time.Millisecond)
			})
			f := withF(fault(topology.FaultPartition, onEdge("cart", "inventory")), func(f *topology.Fault) { f.Partition = topology.PartitionBlackhole })
			return s.plant(f, [2]float64{20, 30}).in
		},
		exp: topology.DetectExpect{Fault: 1}, status: StatusPass,
		observe: "hops failed inside",
	}, {
		// The window opens between cart's client span and inventory's
		// server span of one request: the child is skewed, the parent
		// not, and the pair belongs inside by the child's true start.
		name: "clock skew: a pair whose child's true start is inside counts inside",
		in: func() Input {
			s := faultChain(nil)
			var open int64
			for _, e := range s.in.Ended {
				if e.Service == "inventory" && e.Kind == record.KindServer && s.between(19, 19.5)(e.Start) {
					open = e.Start - 1
				}
			}
			for i := range s.in.Backend {
				if sp := &s.in.Backend[i]; sp.Service == "inventory" && sp.Kind == record.KindServer && sp.Start >= open && sp.Start <= s.sec(30) {
					sp.Start -= int64(time.Second)
					sp.End -= int64(time.Second)
				}
			}
			f := withF(fault(topology.FaultClockSkew, onService("inventory")), func(f *topology.Fault) { f.Skew.Offset = -time.Second })
			s.plant(f, [2]float64{0, 30})
			s.in.Faults[0].Start = open
			return s.in
		},
		exp: topology.DetectExpect{Fault: 1}, status: StatusPass,
		observe: "11 skewed pairs inside",
	}, {
		// cart's span is mostly its call to inventory; tripling its own
		// latency barely lengthens the span, but its own time triples.
		name: "latency multiply on a route that is mostly its calls",
		in: func() Input {
			s := faultChain(nil)
			first := make(map[record.SpanID]int64)
			for _, e := range s.in.Ended {
				if e.Service == "cart" && e.Kind == record.KindClient {
					first[e.Parent] = e.Start
				}
			}
			extra := make(map[record.SpanID]int64)
			s.spans(and(isSpan("cart", record.KindServer, route), s.between(20, 30), start), func(sp *record.Span) {
				if _, done := extra[sp.ID]; !done {
					extra[sp.ID] = 2 * (first[sp.ID] - sp.Start)
				}
				sp.End += extra[sp.ID]
			})
			s.spans(func(sp *record.Span) bool {
				return sp.Service == "cart" && sp.Kind == record.KindClient && extra[sp.Parent] > 0
			},
				func(sp *record.Span) {
					sp.Start += extra[sp.Parent]
					sp.End += extra[sp.Parent]
				})
			f := withF(fault(topology.FaultLatency, topology.FaultTarget{Service: "cart", Route: route, Instance: -1}),
				func(f *topology.Fault) { f.Latency.Multiply = 3 })
			return s.plant(f, [2]float64{20, 30}).in
		},
		exp: topology.DetectExpect{Fault: 1}, status: StatusPass,
		observe: "median 3ms inside (10 spans) versus 1ms outside",
	}, {
		name: "crash without the backend checks the ledger",
		in: func() Input {
			in := detectSim(detectKinds["crash"], inside).in
			in.ReadBack, in.NoReadBack, in.Backend = false, "exported to an external collector", nil
			return in
		},
		exp: topology.DetectExpect{Fault: 1}, status: StatusPass,
		observe: "ledger only, lost spans not checked",
	}, {
		name: "a fault that never ran fails",
		in: func() Input {
			s := faultChain(nil)
			s.in.Planned = append(s.in.Planned, detectKinds["crash"].f)
			return s.in
		},
		exp: topology.DetectExpect{Fault: 1}, status: StatusFail,
		observe: "never active",
	}, {
		name:    "an unknown fault number does not run",
		in:      func() Input { return faultChain(nil).in },
		exp:     topology.DetectExpect{Fault: 2},
		status:  StatusNotRun,
		observe: "fault #2 is not in the scenario (0 faults planned)",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Detect(tt.in(), tt.exp)
			checkStreamed(t, tt.in(), detectExpects(tt.exp))
			if v.Status != tt.status {
				t.Errorf("status %s, want %s (observed %q, reason %q)", v.Status, tt.status, v.Observed, v.Reason)
			}
			if all := v.Observed + " | " + v.Reason + " | " + v.Measured; !strings.Contains(all, tt.observe) {
				t.Errorf("%q does not contain %q", all, tt.observe)
			}
			for k, n := range tt.stats {
				if v.Stats[k] != n {
					t.Errorf("stats[%s] = %v, want %v", k, v.Stats[k], n)
				}
			}
		})
	}
}
