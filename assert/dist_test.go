package assert

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// distValues returns n values drawn by kind: "delays" spread evenly on a
// log scale from 1ns to 100s, "mixed" adds zeros and negative values (a
// backend clock behind the ledger's), "small" stays under 300.
func distValues(kind string, n int, seed uint64) []int64 {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]int64, n)
	for i := range out {
		v := int64(math.Exp(rng.Float64() * math.Log(1e11)))
		switch kind {
		case "mixed":
			switch rng.IntN(10) {
			case 0:
				v = 0
			case 1, 2:
				v = -v
			}
		case "small":
			v = rng.Int64N(300) - 20
		}
		out[i] = v
	}
	return out
}

// exactQuantile is the nearest-rank q-quantile of values.
func exactQuantile(values []int64, q float64) int64 {
	s := slices.Clone(values)
	slices.Sort(s)
	return s[rankIndex(q, int64(len(s)))]
}

var distQuantiles = []float64{0, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1}

func TestDist(t *testing.T) {
	tests := []struct {
		name   string
		kind   string
		n      int
		folded bool
	}{
		{"one value", "delays", 1, false},
		{"delays below the cap", "delays", 1000, false},
		{"mixed at the cap", "mixed", distCap, false},
		{"delays past the cap", "delays", distCap + 1, true},
		{"mixed past the cap", "mixed", 3 * distCap, true},
		{"small values past the cap", "small", 2 * distCap, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values := distValues(tt.kind, tt.n, 1)
			var d dist
			for _, v := range values {
				d.add(v)
			}
			if d.count() != int64(tt.n) || d.folded() != tt.folded {
				t.Fatalf("count %d, folded %t; want %d, %t", d.count(), d.folded(), tt.n, tt.folded)
			}
			for _, q := range distQuantiles {
				checkQuantile(t, &d, values, q)
				if a, b := d.quantile(q), d.quantile(q); a != b {
					t.Errorf("q%g: %d, then %d", q, a, b)
				}
			}
		})
	}
}

// checkQuantile fails t when d's q-quantile is not values' exact one (d
// not folded) or further from it than distError allows (folded).
func checkQuantile(t *testing.T, d *dist, values []int64, q float64) {
	t.Helper()
	got, want := d.quantile(q), exactQuantile(values, q)
	if !d.folded() {
		if got != want {
			t.Errorf("q%g = %d, want exactly %d", q, got, want)
		}
		return
	}
	if math.Abs(float64(got-want)) > distError*math.Abs(float64(want)) {
		t.Errorf("q%g = %d, want %d within %g%%", q, got, want, distError*100)
	}
}

func TestDistMerge(t *testing.T) {
	tests := []struct {
		name   string
		sizes  []int
		folded bool
	}{
		{"exact parts stay exact", []int{10, 1000, distCap - 1010}, false},
		{"exact parts past the cap together", []int{distCap / 2, distCap/2 + 1}, true},
		{"folded into exact", []int{100, distCap + 5}, true},
		{"exact into folded", []int{distCap + 5, 100}, true},
		{"folded into folded", []int{distCap + 5, 2 * distCap}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var all []int64
			var whole, merged dist
			for i, n := range tt.sizes {
				values := distValues("mixed", n, uint64(i))
				all = append(all, values...)
				var part dist
				for _, v := range values {
					part.add(v)
					whole.add(v)
				}
				merged.merge(&part)
				if part.count() != int64(n) {
					t.Fatalf("merging changed the part: count %d, want %d", part.count(), n)
				}
			}
			if merged.count() != int64(len(all)) || merged.folded() != tt.folded {
				t.Fatalf("count %d, folded %t; want %d, %t", merged.count(), merged.folded(), len(all), tt.folded)
			}
			for _, q := range distQuantiles {
				checkQuantile(t, &merged, all, q)
				if whole.folded() == merged.folded() && whole.quantile(q) != merged.quantile(q) {
					t.Errorf("q%g: merged %d, added one by one %d", q, merged.quantile(q), whole.quantile(q))
				}
			}
		})
	}
}

func TestDistEmpty(t *testing.T) {
	var d dist
	if d.count() != 0 || d.quantile(0.5) != 0 || d.folded() {
		t.Errorf("empty dist: count %d, p50 %d, folded %t", d.count(), d.quantile(0.5), d.folded())
	}
}
