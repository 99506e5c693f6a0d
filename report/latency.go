package report

import (
	"math"
	"slices"
	"time"

	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

// LatencyPercentile is the one definition of every request-latency figure
// the reports show (report.json's latency_p50_ns, latency_p99_ns and
// latency_max_ns, the text summary, the load verdict in junit.xml,
// report.html's load table and the marks on its latency histograms, and
// what `bench --hops` prints): the nearest rank over every request's
// latency, that is the smallest recorded latency that at least a share q of
// the requests did not exceed, sorted[⌈q·n⌉−1]. It is always a latency some
// request had; q = 1 is the maximum. sorted must be in ascending order;
// with no request it is 0.
//
// vegeta's own Metrics estimate their percentiles with a t-digest, which
// interpolates between samples; those estimates are not used.
func LatencyPercentile(sorted []time.Duration, q float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// ⌈q·n⌉ in integers (q to a millionth), so that 0.99 of 100 is rank
	// 99 and not 100 through a rounding error.
	const per = 1_000_000
	k := int64(math.Round(min(max(q, 0), 1) * per))
	rank := int((k*int64(n) + per - 1) / per)
	return sorted[min(max(rank, 1), n)-1]
}

// latencySummary is what the reports show of a set of request latencies.
type latencySummary struct{ P50, P99, Max time.Duration }

// summarize sorts latencies in place and returns their percentiles.
func summarize(latencies []time.Duration) latencySummary {
	slices.Sort(latencies)
	return latencySummary{
		P50: LatencyPercentile(latencies, 0.50),
		P99: LatencyPercentile(latencies, 0.99),
		Max: LatencyPercentile(latencies, 1),
	}
}

// loadReports reports what each load entry achieved: its counts from
// vegeta's metrics, its latencies from samples (LatencyPercentile over the
// results of every load entry of the same name).
func loadReports(loads []topology.Load, results []simulator.LoadResult, samples []LoadSample) []LoadReport {
	byLoad := map[string][]time.Duration{}
	for _, s := range samples {
		byLoad[s.Load] = append(byLoad[s.Load], s.Latency)
	}
	out := make([]LoadReport, 0, len(results))
	for i, r := range results {
		m := r.Metrics
		lat := summarize(byLoad[r.Name])
		end := r.RequestedRate
		var planned time.Duration
		if i < len(loads) {
			l := loads[i]
			if l.Rate.Ramp && l.Rate.Per > 0 {
				end = float64(l.Rate.To) / l.Rate.Per.Seconds()
			}
			planned = l.Duration
		}
		out = append(out, LoadReport{
			Target:           r.Name,
			Requests:         m.Requests,
			RequestedRate:    r.RequestedRate,
			RequestedRateEnd: end,
			Duration:         planned,
			AchievedRate:     m.Rate,
			Success:          m.Success,
			LatencyP50:       lat.P50,
			LatencyP99:       lat.P99,
			LatencyMax:       lat.Max,
			StatusCodes:      m.StatusCodes,
			Errors:           m.Errors,
		})
	}
	return out
}
