package simulator

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/tracerig/tracerig/topology"
)

// mix derives a 64-bit key from a parent key and an index with the
// SplitMix64 finaliser. Every decision in a run hangs off keys derived this
// way from the seed, so the same seed and topology reproduce the same hop IDs,
// trace IDs, latencies, errors and instance picks whatever the scheduling.
func mix(key, index uint64) uint64 {
	z := key + 0x9e3779b97f4a7c15*(index+1)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// requestHop returns the hop ID of load request seq.
func requestHop(seed, seq uint64) uint64 { return mix(mix(seed, 0x10ad), seq) }

// callHop returns the hop ID of attempt of the call at index in the handler
// of hop parent.
func callHop(parent uint64, index, attempt int) uint64 {
	return mix(mix(parent, uint64(index)), uint64(attempt))
}

// hopRand returns the decision source of the handler serving hop.
func hopRand(seed, hop uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, hop))
}

// z99 is the standard normal quantile at 0.99.
const z99 = 2.3263478740408408

// drawLatency draws one latency from l using r. It is a pure function of its
// inputs: the same draws from r give the same latency.
func drawLatency(l topology.Latency, r *rand.Rand) time.Duration {
	switch l.Dist {
	case topology.DistUniform:
		if l.Max <= l.Min {
			return l.Min
		}
		return l.Min + time.Duration(r.Int64N(int64(l.Max-l.Min)+1))
	case topology.DistNormal:
		d := float64(l.Mean) + r.NormFloat64()*float64(l.StdDev)
		return clampDuration(d)
	case topology.DistLognormal:
		if l.P50 <= 0 {
			return 0
		}
		mu := math.Log(float64(l.P50))
		if l.P99 <= l.P50 {
			return l.P50
		}
		sigma := math.Log(float64(l.P99)/float64(l.P50)) / z99
		return clampDuration(math.Exp(mu + sigma*r.NormFloat64()))
	case topology.DistPareto:
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
