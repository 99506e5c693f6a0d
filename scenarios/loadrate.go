package scenarios

import (
	"fmt"
	"strings"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/topology"
)

// meanRequested is the mean rate a load asks for, per second: its rate, or
// the middle of a ramp that runs for its whole duration; 0 for a load flat
// out or a ramp cut short by a request count, whose mean cannot be known
// beforehand.
func meanRequested(l topology.Load) float64 {
	r := l.Rate
	if !r.Ramp {
		return r.PerSecond()
	}
	if l.Requests > 0 || l.Duration <= 0 || r.Per <= 0 {
		return 0
	}
	return float64(r.Freq+r.To) / 2 / r.Per.Seconds()
}

// loadVerdict says whether every load reached the rate it asked for: a run
// that could not (the services answered too slowly, or the machine ran out
// of CPU) did not put the system under the load the scenario describes, so
// its other verdicts say less than they seem to. A shortfall fails the
// verdict when the scenario expects `load`, and is a warning otherwise.
func loadVerdict(loads []topology.Load, reports []LoadReport, interrupted bool, expects []topology.Expect) assert.Verdict {
	least, required := topology.DefaultLoadMin, false
	for _, e := range expects {
		if e.Kind == topology.ExpectLoad {
			least, required = e.Load.Min, true
		}
	}
	v := assert.Verdict{
		Check:    "load",
		Measured: "achieved request rate of each load (vegeta: requests over the time they were sent in)",
		Expected: fmt.Sprintf("at least %.0f%% of the requested rate", 100*least),
		Stats:    map[string]float64{},
	}
	if !required {
		v.Expected += " (a warning: the scenario does not expect load)"
	}
	if interrupted {
		v.Status, v.Reason = assert.StatusNotRun, "the run was interrupted before the loads ended"
		return v
	}
	var short, reached []string
	for i, l := range loads {
		if i >= len(reports) {
			break
		}
		rep := reports[i]
		want := meanRequested(l)
		if want <= 0 {
			reached = append(reached, fmt.Sprintf("%s %.1f/s (%s)", rep.Target, rep.AchievedRate, unpaced(l)))
			continue
		}
		ratio := rep.AchievedRate / want
		if rep.Requests == 0 {
			ratio = 0
		}
		v.Stats[fmt.Sprintf("load_%d_ratio", i)] = ratio
		if ratio >= least {
			reached = append(reached, fmt.Sprintf("%s %.1f/s of %.1f/s", rep.Target, rep.AchievedRate, want))
			continue
		}
		msg := fmt.Sprintf("asked %.1f/s, achieved %.1f/s (%.0f%%)", want, rep.AchievedRate, 100*ratio)
		msg += ": " + rateLimit(rep)
		short = append(short, rep.Target+": "+msg)
		v.Findings = append(v.Findings, assert.Finding{Subject: rep.Target, Message: "rate not reached: " + msg, Count: int(rep.Requests)})
	}
	if len(short) > 0 {
		v.Status = assert.StatusWarn
		if required {
			v.Status = assert.StatusFail
		}
		v.Observed = "rate not reached: " + strings.Join(short, "; ")
		return v
	}
	v.Status = assert.StatusPass
	v.Observed = "every load reached its rate: " + strings.Join(reached, "; ")
	return v
}

func unpaced(l topology.Load) string {
	if l.Rate.Ramp {
		return "ramp cut short by a request count"
	}
	return "flat out"
}

// rateLimit gives the evidence on what held a load back from its rate.
func rateLimit(rep LoadReport) string {
	return fmt.Sprintf("the services (p50 %s, p99 %s, %.1f%% ok) or the machine's CPU did not keep up", round(rep.LatencyP50), round(rep.LatencyP99), 100*rep.Success)
}
