package topology

import (
	"slices"
	"testing"
)

func TestWithFault(t *testing.T) {
	base := func() *Topology {
		return &Topology{Name: "t", Services: []*Service{
			{Name: "a", Instrumented: true, ForwardHeaders: true, Propagators: []Propagator{PropTraceContext}},
			{Name: "b", Instrumented: true, ForwardHeaders: true},
			{Name: "legacy", ForwardHeaders: false},
			{Name: "ext", External: "http://127.0.0.1:9000"},
		}}
	}
	tests := []struct {
		name  string
		f     Fault
		same  bool // the topology itself comes back
		check func(t *testing.T, s *Service)
	}{
		{name: "uninstrument forwarding", f: Fault{Kind: FaultUninstrument, Forward: true, Target: FaultTarget{Service: "a", Instance: -1}},
			check: func(t *testing.T, s *Service) {
				if s.Instrumented || !s.ForwardHeaders {
					t.Errorf("a: instrumented %v forward %v, want false true", s.Instrumented, s.ForwardHeaders)
				}
			}},
		{name: "uninstrument dropping", f: Fault{Kind: FaultUninstrument, Target: FaultTarget{Service: "a", Instance: 0}},
			check: func(t *testing.T, s *Service) {
				if s.Instrumented || s.ForwardHeaders {
					t.Errorf("a: instrumented %v forward %v, want false false", s.Instrumented, s.ForwardHeaders)
				}
			}},
		{name: "propagator mismatch", f: Fault{Kind: FaultPropagatorSwitch, Propagators: []Propagator{PropB3}, Target: FaultTarget{Service: "a", Instance: -1}},
			check: func(t *testing.T, s *Service) {
				if !slices.Equal(s.Propagators, []Propagator{PropB3}) {
					t.Errorf("a: propagators %v, want [b3]", s.Propagators)
				}
			}},
		{name: "already uninstrumented", f: Fault{Kind: FaultUninstrument, Forward: true, Target: FaultTarget{Service: "legacy", Instance: -1}}, same: true},
		{name: "external service", f: Fault{Kind: FaultUninstrument, Target: FaultTarget{Service: "ext", Instance: -1}}, same: true},
		{name: "unknown service", f: Fault{Kind: FaultUninstrument, Target: FaultTarget{Service: "nope", Instance: -1}}, same: true},
		{name: "traffic fault", f: Fault{Kind: FaultLatency, Target: FaultTarget{Service: "a", Instance: -1}}, same: true},
		{name: "edge fault", f: Fault{Kind: FaultStripHeaders, Target: FaultTarget{From: "a", To: "b", Instance: -1}}, same: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := base()
			got := orig.WithFault(tt.f)
			if tt.same {
				if got != orig {
					t.Fatal("got a copy, want the topology itself")
				}
				return
			}
			if got == orig {
				t.Fatal("got the topology itself, want a changed copy")
			}
			tt.check(t, got.Service(tt.f.Target.Service))
			// The original is untouched and unchanged services are shared.
			if a := orig.Service("a"); !a.Instrumented || !slices.Equal(a.Propagators, []Propagator{PropTraceContext}) {
				t.Errorf("original changed: %+v", a)
			}
			if got.Service("b") != orig.Service("b") {
				t.Error("service b was copied, want it shared")
			}
		})
	}
	var nilTop *Topology
	if nilTop.WithFault(Fault{Kind: FaultUninstrument}) != nil {
		t.Error("nil topology: want nil")
	}
}
