package topology

import (
	"math"
	"math/rand/v2"
	"time"
)

// z99 is the standard normal quantile at 0.99.
const z99 = 2.3263478740408408

// Draw draws one latency from l using r. It is a pure function of its
// inputs: the same draws from r give the same latency. Real-hop and
// synthetic runs both draw through it.
func (l Latency) Draw(r *rand.Rand) time.Duration {
	switch l.Dist {
	case DistUniform:
		if l.Max <= l.Min {
			return l.Min
		}
		// Unsigned, so the widest range (max - min = MaxInt64) does not
		// overflow; for every narrower one it draws what Int64N would.
		return l.Min + time.Duration(r.Uint64N(uint64(l.Max-l.Min)+1))
	case DistNormal:
		d := float64(l.Mean) + r.NormFloat64()*float64(l.StdDev)
		return clampDuration(d)
	case DistLognormal:
		if l.P50 <= 0 {
			return 0
		}
		mu := math.Log(float64(l.P50))
		if l.P99 <= l.P50 {
			return l.P50
		}
		sigma := math.Log(float64(l.P99)/float64(l.P50)) / z99
		return clampDuration(math.Exp(mu + sigma*r.NormFloat64()))
	case DistPareto:
		if l.Min <= 0 || l.Alpha <= 0 {
			return l.Min
		}
		u := 1 - r.Float64() // (0, 1]
		return clampDuration(float64(l.Min) / math.Pow(u, 1/l.Alpha))
	default:
		return l.Value
	}
}

// maxLatency caps a single drawn latency so a heavy tail cannot stall a run.
const maxLatency = float64(time.Minute)

func clampDuration(ns float64) time.Duration {
	switch {
	case ns < 0 || math.IsNaN(ns):
		return 0
	case ns > maxLatency:
		return time.Duration(maxLatency)
	}
	return time.Duration(ns)
}
