package assert

import (
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/topology"
)

func TestLoad(t *testing.T) {
	perSec := func(n int) topology.Rate { return topology.Rate{Freq: n, Per: time.Second} }
	ramp := topology.Rate{Freq: 100, To: 300, Per: time.Second, Ramp: true}
	tests := []struct {
		name        string
		load        topology.Load
		achieved    float64
		interrupted bool
		status      Status
		observed    string
	}{
		{"reached", topology.Load{Rate: perSec(200), Duration: time.Minute}, 199.5, false, StatusPass, "every load reached its rate: l 199.5/s of 200.0/s"},
		{"just above the bar", topology.Load{Rate: perSec(100), Duration: time.Minute}, 97.1, false, StatusPass, "every load reached"},
		{"short", topology.Load{Rate: perSec(500), Duration: time.Minute}, 310, false, StatusWarn, "rate not reached: l: asked 500.0/s, achieved 310.0/s (62%)"},
		{"ramp mean", topology.Load{Rate: ramp, Duration: time.Minute}, 199, false, StatusPass, "of 200.0/s"},
		{"ramp short of its mean", topology.Load{Rate: ramp, Duration: time.Minute}, 150, false, StatusWarn, "asked 200.0/s"},
		{"ramp cut by a count", topology.Load{Rate: ramp, Requests: 50}, 120, false, StatusPass, "ramp cut short by a request count"},
		{"flat out", topology.Load{Duration: time.Second}, 5000, false, StatusPass, "5000.0/s (flat out)"},
		{"interrupted", topology.Load{Rate: perSec(500), Duration: time.Minute}, 10, true, StatusNotRun, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := LoadOutcome{Target: "l", Requests: 100, AchievedRate: tt.achieved, Success: 1, LatencyP50: 3 * time.Millisecond}
			v := Load([]topology.Load{tt.load}, []LoadOutcome{out}, tt.interrupted, nil)
			if v.Status != tt.status || !strings.Contains(v.Observed, tt.observed) {
				t.Errorf("got %s %q, want %s containing %q", v.Status, v.Observed, tt.status, tt.observed)
			}
			if v.Status == StatusWarn && (len(v.Findings) != 1 || !strings.Contains(v.Findings[0].Message, "did not keep up")) {
				t.Errorf("findings %+v", v.Findings)
			}
			// Expected by the scenario, a shortfall fails the run; a lower
			// bar can let it pass.
			required := Load([]topology.Load{tt.load}, []LoadOutcome{out}, tt.interrupted,
				[]topology.Expect{{Kind: topology.ExpectLoad, Load: topology.LoadExpect{Min: topology.DefaultLoadMin}}})
			if want := map[Status]Status{StatusWarn: StatusFail}[v.Status]; want != "" && required.Status != want {
				t.Errorf("expected load: got %s, want %s", required.Status, want)
			}
			lenient := Load([]topology.Load{tt.load}, []LoadOutcome{out}, tt.interrupted,
				[]topology.Expect{{Kind: topology.ExpectLoad, Load: topology.LoadExpect{Min: 0.1}}})
			if v.Status == StatusWarn && lenient.Status != StatusPass {
				t.Errorf("load: {min: 0.1}: got %s %q", lenient.Status, lenient.Observed)
			}
		})
	}
}
