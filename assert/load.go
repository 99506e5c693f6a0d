package assert

import (
	"fmt"
	"strings"
	"time"

	"github.com/tracerig/tracerig/internal/durfmt"
	"github.com/tracerig/tracerig/topology"
)

// LoadOutcome is what one load entry achieved, as the load check reads it.
type LoadOutcome struct {
	Target       string  // the load's route, or its mix of routes
	Requests     uint64  // requests sent
	AchievedRate float64 // requests per second, over the time they were sent in
	Success      float64 // share of the requests answered with a 2xx code
	// LatencyP50 and LatencyP99 are the requests' latencies, the evidence
	// of what held a load back.
	LatencyP50, LatencyP99 time.Duration
}

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

// Load says whether every load reached the rate it asked for: a run that
// could not (the services answered too slowly, or the machine ran out of
// CPU) did not put the system under the load the scenario describes, so its
// other verdicts say less than they seem to. loads are the loads as run and
// outcomes what each achieved, in the same order. A shortfall fails the
// verdict when expects hold `load`, and is a warning otherwise; an
// interrupted run's loads are not judged.
func Load(loads []topology.Load, outcomes []LoadOutcome, interrupted bool, expects []topology.Expect) Verdict {
	least, required := topology.DefaultLoadMin, false
	for _, e := range expects {
		if e.Kind == topology.ExpectLoad {
			least, required = e.Load.Min, true
		}
	}
	v := Verdict{
		Check:    "load",
		Measured: "achieved request rate of each load (vegeta: requests over the time they were sent in)",
		Expected: fmt.Sprintf("at least %.0f%% of the requested rate", 100*least),
		Stats:    map[string]float64{},
	}
	if !required {
		v.Expected += " (a warning: the scenario does not expect load)"
	}
	if interrupted {
		v.Status, v.Reason = StatusNotRun, "the run was interrupted before the loads ended"
		return v
	}
	var short, reached []string
	for i, l := range loads {
		if i >= len(outcomes) {
			break
		}
		o := outcomes[i]
		want := meanRequested(l)
		if want <= 0 {
			reached = append(reached, fmt.Sprintf("%s %.1f/s (%s)", o.Target, o.AchievedRate, unpaced(l)))
			continue
		}
		ratio := o.AchievedRate / want
		if o.Requests == 0 {
			ratio = 0
		}
		v.Stats[fmt.Sprintf("load_%d_ratio", i)] = ratio
		if ratio >= least {
			reached = append(reached, fmt.Sprintf("%s %.1f/s of %.1f/s", o.Target, o.AchievedRate, want))
			continue
		}
		msg := fmt.Sprintf("asked %.1f/s, achieved %.1f/s (%.0f%%)", want, o.AchievedRate, 100*ratio)
		msg += ": " + rateLimit(o)
		short = append(short, o.Target+": "+msg)
		v.Findings = append(v.Findings, Finding{Subject: o.Target, Message: "rate not reached: " + msg, Count: int(o.Requests)})
	}
	if len(short) > 0 {
		v.Status = StatusWarn
		if required {
			v.Status = StatusFail
		}
		v.Observed = "rate not reached: " + strings.Join(short, "; ")
		return v
	}
	v.Status = StatusPass
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
func rateLimit(o LoadOutcome) string {
	return fmt.Sprintf("the services (p50 %s, p99 %s, %.1f%% ok) or the machine's CPU did not keep up",
		durfmt.Human(o.LatencyP50), durfmt.Human(o.LatencyP99), 100*o.Success)
}
