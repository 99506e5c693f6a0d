package assert

import (
	"maps"
	"math"
	"slices"
)

// distCap is how many values a dist keeps exactly. Every run whose evidence
// fits in memory at once has fewer traces than this, so its quantiles are
// the exact ones the checks have always reported.
const distCap = 1 << 16

// distError is the relative error a dist's quantiles keep once it has
// folded its values into buckets, as a verdict states it.
const distError = 0.01

// distGamma is the ratio between the bounds of consecutive buckets. Its
// half-width, 0.5%, is below distError so that rounding a bucket's
// representative to a whole value stays within distError as well: values
// under 100 fall in buckets narrower than one, where the representative
// rounds back to the value itself, and above 100 half a unit is at most
// another 0.5%.
var distGamma = (1 + distError/2) / (1 - distError/2)

// dist is a distribution of int64 values (delays in nanoseconds) whose
// nearest-rank quantiles a verdict reports. It keeps its first distCap
// values exactly, and the quantiles are then exact; past the cap it folds
// every value into log-scale buckets, so what it holds grows with the
// logarithm of the values' range rather than with their number, and each
// quantile is within distError (1%) of the exact one. Two dists merge into
// what one given both's values would hold.
type dist struct {
	exact  []int64 // the values, while at most distCap
	sorted bool    // exact is in order
	// buckets counts the values once folded, by bucket key (see bucketKey);
	// nil until the cap is passed.
	buckets map[int32]int64
	n       int64
}

// add records one value.
func (d *dist) add(v int64) {
	d.n++
	if d.buckets != nil {
		d.buckets[bucketKey(v)]++
		return
	}
	d.exact = append(d.exact, v)
	d.sorted = false
	if len(d.exact) > distCap {
		d.fold()
	}
}

// merge adds every value of o to d; o is left as it was.
func (d *dist) merge(o *dist) {
	if d.buckets == nil && o.buckets == nil && len(d.exact)+len(o.exact) <= distCap {
		d.exact = append(d.exact, o.exact...)
		d.sorted = false
		d.n += o.n
		return
	}
	d.fold()
	for _, v := range o.exact {
		d.buckets[bucketKey(v)]++
	}
	for k, c := range o.buckets {
		d.buckets[k] += c
	}
	d.n += o.n
}

// fold moves the exact values into buckets, for good.
func (d *dist) fold() {
	if d.buckets != nil {
		return
	}
	d.buckets = make(map[int32]int64)
	for _, v := range d.exact {
		d.buckets[bucketKey(v)]++
	}
	d.exact, d.sorted = nil, false
}

// count returns how many values were added.
func (d *dist) count() int64 { return d.n }

// folded reports whether the quantiles are approximate (within distError).
func (d *dist) folded() bool { return d.buckets != nil }

// quantile returns the nearest-rank q-quantile of the values, 0 when there
// are none. Sorting the exact values in place changes no result.
func (d *dist) quantile(q float64) int64 {
	if d.n == 0 {
		return 0
	}
	if d.buckets == nil {
		if !d.sorted {
			slices.Sort(d.exact)
			d.sorted = true
		}
		return d.exact[rankIndex(q, int64(len(d.exact)))]
	}
	want := rankIndex(q, d.n)
	keys := slices.Sorted(maps.Keys(d.buckets))
	var seen int64
	for _, k := range keys {
		seen += d.buckets[k]
		if seen > want {
			return bucketValue(k)
		}
	}
	return bucketValue(keys[len(keys)-1]) // not reached: the counts sum to n
}

// rankIndex returns the 0-based index of the nearest-rank q-quantile among
// n sorted values.
func rankIndex(q float64, n int64) int64 {
	i := int64(q*float64(n)+0.999999999) - 1
	return min(max(i, 0), n-1)
}

// bucketKey names the bucket holding v, so that keys sort as the values
// do: 0 for zero, i+1 for a positive v in (γ^(i-1), γ^i], -(i+1) for the
// negative of such a v.
func bucketKey(v int64) int32 {
	if v == 0 {
		return 0
	}
	a := math.Abs(float64(v))
	k := int32(math.Ceil(math.Log(a)/math.Log(distGamma))) + 1
	if v < 0 {
		return -k
	}
	return k
}

// bucketValue returns the value standing for bucket k: the point of its
// range nearest, relatively, to both its bounds, rounded.
func bucketValue(k int32) int64 {
	if k == 0 {
		return 0
	}
	i := float64(max(k, -k) - 1)
	r := int64(math.Round(2 * math.Pow(distGamma, i) / (distGamma + 1)))
	if k < 0 {
		return -r
	}
	return r
}
