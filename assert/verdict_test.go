package assert

import (
	"testing"

	"github.com/tracerig/tracerig/topology"
)

func TestSubjectFields(t *testing.T) {
	top := topo(svc("cart"), svc("cart-v2"), svc("inventory"))
	tests := []struct {
		subject                    string
		top                        *topology.Topology
		svc, inst, route, from, to string
	}{
		{subject: "cart -> inventory", top: top, from: "cart", to: "inventory"},
		{subject: "cart", top: top, svc: "cart"},
		{subject: "cart-0", top: top, svc: "cart", inst: "cart-0"},
		{subject: "cart-v2", top: top, svc: "cart-v2"},
		{subject: "cart GET /cart", top: top, svc: "cart", route: "GET /cart"},
		{subject: "cart-1 GET /cart", top: top, svc: "cart", inst: "cart-1", route: "GET /cart"},
		{subject: "traces", top: top, svc: "traces"},
		{subject: "cart-0", svc: "cart-0"},
	}
	for _, tt := range tests {
		t.Run(tt.subject, func(t *testing.T) {
			svc, inst, route, from, to := subjectFields(tt.subject, tt.top)
			if svc != tt.svc || inst != tt.inst || route != tt.route || from != tt.from || to != tt.to {
				t.Errorf("got service %q instance %q route %q from %q to %q, want %q %q %q %q %q",
					svc, inst, route, from, to, tt.svc, tt.inst, tt.route, tt.from, tt.to)
			}
		})
	}
}

// TestFindingStatus checks which findings fail their check and that each
// names its fault by number.
func TestFindingStatus(t *testing.T) {
	strip := fault(topology.FaultStripHeaders, onEdge("cart", "inventory"))
	in := func() Input {
		return faultChain(stripAt("cart", "inventory", [2]float64{20, 30}, [2]float64{40, 40.5})).plant(strip, [2]float64{20, 30}).in
	}
	type key struct {
		fault  string
		status FindingStatus
	}
	tests := []struct {
		name string
		exp  topology.PropagationExpect
		want map[key]int // findings by attribution and status → count
	}{
		{"connected: every break fails", topology.PropagationExpect{Connected: true}, map[key]int{
			{"#1", FindingFailing}: 10, {"unexplained", FindingFailing}: 1,
		}},
		{"planted during the fault: its breaks inform, the one outside fails",
			topology.PropagationExpect{Connected: true, Broken: []string{"cart -> inventory"}, DuringFault: 1}, map[key]int{
				{"#1", FindingInfo}: 10, {"unexplained", FindingFailing}: 1, {"planted", FindingFailing}: 1,
			}},
		{"not required connected: nothing fails", topology.PropagationExpect{}, map[key]int{
			{"#1", FindingInfo}: 10, {"unexplained", FindingInfo}: 1,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := in()
			v := Propagation(in, tt.exp)
			checkStreamed(t, in, propagationExpect(tt.exp))
			got := make(map[key]int)
			for _, f := range v.Findings {
				k := key{status: f.Status}
				switch {
				case f.FaultNumber == 1:
					k.fault = "#1"
				case f.Fault == unexplainedLabel:
					k.fault = "unexplained"
				default:
					k.fault = "planted"
				}
				got[k] += f.Count
				if f.From != "cart" || f.To != "inventory" || f.Service != "" {
					t.Errorf("finding %q: from %q to %q service %q", f.Subject, f.From, f.To, f.Service)
				}
			}
			for k, n := range tt.want {
				if got[k] != n {
					t.Errorf("%v: %d, want %d (all: %v)", k, got[k], n, got)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("findings %v, want %v", got, tt.want)
			}
		})
	}
}
