package scenarios

import (
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/topology"
)

func TestLoadVerdict(t *testing.T) {
	perSec := func(n int) topology.Rate { return topology.Rate{Freq: n, Per: time.Second} }
	ramp := topology.Rate{Freq: 100, To: 300, Per: time.Second, Ramp: true}
	tests := []struct {
		name        string
		load        topology.Load
		achieved    float64
		interrupted bool
		status      assert.Status
		observed    string
	}{
		{"reached", topology.Load{Rate: perSec(200), Duration: time.Minute}, 199.5, false, assert.StatusPass, "every load reached its rate: l 199.5/s of 200.0/s"},
		{"just above the bar", topology.Load{Rate: perSec(100), Duration: time.Minute}, 97.1, false, assert.StatusPass, "every load reached"},
		{"short", topology.Load{Rate: perSec(500), Duration: time.Minute}, 310, false, assert.StatusWarn, "rate not reached: l: asked 500.0/s, achieved 310.0/s (62%)"},
		{"ramp mean", topology.Load{Rate: ramp, Duration: time.Minute}, 199, false, assert.StatusPass, "of 200.0/s"},
		{"ramp short of its mean", topology.Load{Rate: ramp, Duration: time.Minute}, 150, false, assert.StatusWarn, "asked 200.0/s"},
		{"ramp cut by a count", topology.Load{Rate: ramp, Requests: 50}, 120, false, assert.StatusPass, "ramp cut short by a request count"},
		{"flat out", topology.Load{Duration: time.Second}, 5000, false, assert.StatusPass, "5000.0/s (flat out)"},
		{"interrupted", topology.Load{Rate: perSec(500), Duration: time.Minute}, 10, true, assert.StatusNotRun, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := LoadReport{Target: "l", Requests: 100, AchievedRate: tt.achieved, Success: 1, LatencyP50: 3 * time.Millisecond}
			v := loadVerdict([]topology.Load{tt.load}, []LoadReport{rep}, tt.interrupted, nil)
			if v.Status != tt.status || !strings.Contains(v.Observed, tt.observed) {
				t.Errorf("got %s %q, want %s containing %q", v.Status, v.Observed, tt.status, tt.observed)
			}
			if v.Status == assert.StatusWarn && (len(v.Findings) != 1 || !strings.Contains(v.Findings[0].Message, "did not keep up")) {
				t.Errorf("findings %+v", v.Findings)
			}
			// Expected by the scenario, a shortfall fails the run; a lower
			// bar can let it pass.
			required := loadVerdict([]topology.Load{tt.load}, []LoadReport{rep}, tt.interrupted,
				[]topology.Expect{{Kind: topology.ExpectLoad, Load: topology.LoadExpect{Min: topology.DefaultLoadMin}}})
			if want := map[assert.Status]assert.Status{assert.StatusWarn: assert.StatusFail}[v.Status]; want != "" && required.Status != want {
				t.Errorf("expected load: got %s, want %s", required.Status, want)
			}
			lenient := loadVerdict([]topology.Load{tt.load}, []LoadReport{rep}, tt.interrupted,
				[]topology.Expect{{Kind: topology.ExpectLoad, Load: topology.LoadExpect{Min: 0.1}}})
			if v.Status == assert.StatusWarn && lenient.Status != assert.StatusPass {
				t.Errorf("load: {min: 0.1}: got %s %q", lenient.Status, lenient.Observed)
			}
		})
	}
}

// TestRunSaysRateNotReached asks quickstart for far more than two cores can
// serve through real hops: the load verdict must say so, as a warning, or
// as a failure when the scenario expects load.
func TestRunSaysRateNotReached(t *testing.T) {
	for _, required := range []bool{false, true} {
		sc, err := Open("quickstart")
		if err != nil {
			t.Fatal(err)
		}
		want := assert.StatusWarn
		if required {
			sc.Expect = append(sc.Expect, topology.Expect{Kind: topology.ExpectLoad, Load: topology.LoadExpect{Min: topology.DefaultLoadMin}})
			want = assert.StatusFail
		}
		d := time.Second
		r := topology.Rate{Freq: 200000, Per: time.Second}
		rep, err := Run(t.Context(), sc, Options{Duration: &d, Rate: &r})
		if err != nil {
			t.Fatal(err)
		}
		v := verdict(t, rep, "load")
		t.Logf("%s: %s", v.Status, v.Observed)
		// (The overload fails other checks too: only an expected load
		// must fail the run by itself.)
		if v.Status != want || !strings.Contains(v.Observed, "rate not reached") || required && rep.Passed {
			t.Errorf("expect load %v: load verdict %s %q, run passed %v: want %s", required, v.Status, v.Observed, rep.Passed, want)
		}
	}
}
