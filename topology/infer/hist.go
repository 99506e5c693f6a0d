package infer

import (
	"math"
	"slices"
)

// bucketRatio is the width of a histogram bucket: values within 1% of
// each other share one, so a quantile is known to within 0.5%.
const bucketRatio = 1.01

var logRatio = math.Log(bucketRatio)

// zeroBucket holds values under a microsecond.
const zeroBucket = math.MinInt32

// hist is a log-bucketed histogram of nanosecond durations: memory grows
// with the spread of the values (about 230 buckets per decade), not with
// their number.
type hist struct {
	counts map[int32]int64
	n      int64
}

func (h *hist) add(ns int64) {
	if h.counts == nil {
		h.counts = map[int32]int64{}
	}
	h.n++
	if ns < 1000 {
		h.counts[zeroBucket]++
		return
	}
	h.counts[int32(math.Floor(math.Log(float64(ns))/logRatio))]++
}

// quantiles returns the values at each q of qs (ascending), in ns, each the
// middle of its bucket (0 for the bucket under a microsecond).
func (h *hist) quantiles(qs ...float64) []float64 {
	keys := make([]int32, 0, len(h.counts))
	for k := range h.counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]float64, len(qs))
	var cum int64
	i := 0
	for _, k := range keys {
		cum += h.counts[k]
		for i < len(qs) && float64(cum) >= qs[i]*float64(h.n) {
			out[i] = bucketValue(k)
			i++
		}
	}
	for ; i < len(qs); i++ {
		out[i] = bucketValue(keys[len(keys)-1])
	}
	return out
}

func bucketValue(k int32) float64 {
	if k == zeroBucket {
		return 0
	}
	return math.Exp((float64(k) + 0.5) * logRatio)
}

// z99 is the standard normal's 99th percentile, as the topology's {p50,
// p99} form uses it.
const z99 = 2.3263

// fitQuantiles are the quantiles a lognormal fit is judged at, with the
// standard normal's value at each.
var fitQuantiles = []struct{ q, z float64 }{
	{0.10, -1.2816}, {0.25, -0.6745}, {0.75, 0.6745}, {0.90, 1.2816}, {0.95, 1.6449},
}

// fit is a lognormal fitted to a route's own latency.
type fit struct {
	p50, p99 float64 // ns
	err      float64 // largest relative gap at fitQuantiles
	n        int64
}

// lognormal fits h's p50 and p99 exactly, and measures the fit's error at
// the other quantiles.
func (h *hist) lognormal() fit {
	qs := []float64{0.5, 0.99}
	for _, fq := range fitQuantiles {
		qs = append(qs, fq.q)
	}
	v := h.quantiles(sortedCopy(qs)...)
	at := map[float64]float64{}
	for i, q := range sortedCopy(qs) {
		at[q] = v[i]
	}
	f := fit{p50: at[0.5], p99: at[0.99], n: h.n}
	if f.p50 <= 0 {
		return f
	}
	mu, sigma := math.Log(f.p50), math.Log(f.p99/f.p50)/z99
	for _, fq := range fitQuantiles {
		model := math.Exp(mu + sigma*fq.z)
		if obs := at[fq.q]; obs > 0 {
			f.err = max(f.err, math.Abs(model-obs)/obs)
		} else {
			f.err = max(f.err, 1)
		}
	}
	return f
}

func sortedCopy(qs []float64) []float64 {
	c := slices.Clone(qs)
	slices.Sort(c)
	return c
}
