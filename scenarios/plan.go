package scenarios

import (
	"time"

	"github.com/tracerig/tracerig/topology"
)

// overrideLoads applies the run's overrides to a copy of the scenario's loads.
func overrideLoads(loads []topology.Load, opts Options) []topology.Load {
	out := append([]topology.Load(nil), loads...)
	for i := range out {
		if opts.Duration != nil {
			out[i].Duration = *opts.Duration
			out[i].Requests = 0
		}
		if opts.Rate != nil {
			out[i].Rate = *opts.Rate
		}
		if opts.UntilStopped {
			out[i].Duration, out[i].Requests = untilStopped, 0
			continue
		}
		if s := opts.TimeScale; s > 0 && s < 1 {
			out[i].Duration = scale(out[i].Duration, s)
		}
	}
	return out
}

// scaleFaults returns the faults with their timeline multiplied by s, when
// s is in (0, 1).
func scaleFaults(faults []topology.Fault, s float64) []topology.Fault {
	out := append([]topology.Fault(nil), faults...)
	if s <= 0 || s >= 1 {
		return out
	}
	for i := range out {
		w := &out[i].Window
		w.At, w.For, w.Every = scale(w.At, s), scale(w.For, s), scale(w.Every, s)
	}
	return out
}

// scaleExpect returns the expectations with every position on the run's
// timeline they name multiplied by s, as scaleFaults scales the fault
// windows, when s is in (0, 1): spans.during. Delays and durations are not
// positions on the timeline and keep their length: completeness.within (a
// trace's time until it is queryable), tail-sampling keep-slower-than (a
// trace's length), and whatever a spans expression compares (its start and
// end fields are read on the clock the run played). References to faults
// (detect.fault, propagation.during-fault) follow the scaled faults.
func scaleExpect(expects []topology.Expect, s float64) []topology.Expect {
	out := append([]topology.Expect(nil), expects...)
	if s <= 0 || s >= 1 {
		return out
	}
	for i := range out {
		if out[i].Kind == topology.ExpectSpans {
			d := &out[i].Spans.During
			d[0], d[1] = scale(d[0], s), scale(d[1], s)
		}
	}
	return out
}

func scale(d time.Duration, s float64) time.Duration { return time.Duration(float64(d) * s) }
