package assert

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestStalledOutsideSettle keeps the waits of received hops outside in
// shuffled orders and settles them against a shortest window known only
// then: the hops that waited at least that long are counted, by what
// explains them, with as many examples as a judge of each hop would give,
// and settling twice gives the same.
func TestStalledOutsideSettle(t *testing.T) {
	const other = attribution(3)
	tests := []struct {
		name      string
		waits     map[attribution][]int64
		lim       int64
		out, oth  int
		examplesU int // examples of the unexplained finding
	}{{
		name:  "unexplained and during another window",
		waits: map[attribution][]int64{attrUnexplained: {1, 9, 10, 30, 11, 12, 13, 14}, other: {10, 2}},
		lim:   10,
		out:   6, oth: 1, examplesU: 5,
	}, {
		name:  "none long enough",
		waits: map[attribution][]int64{attrUnexplained: {1, 2, 3}},
		lim:   10,
	}, {
		name:  "a falling shortest window counts more",
		waits: map[attribution][]int64{attrUnexplained: {1, 2, 3}},
		lim:   2,
		out:   2, examplesU: 2,
	}}
	for _, tt := range tests {
		for seed := range uint64(3) {
			t.Run(fmt.Sprintf("%s/%d", tt.name, seed), func(t *testing.T) {
				type wait struct {
					a attribution
					v int64
				}
				var all []wait
				for a, ws := range tt.waits {
					for _, v := range ws {
						all = append(all, wait{a, v})
					}
				}
				rand.New(rand.NewPCG(seed, 2)).Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
				var s stalledOutside
				for _, w := range all {
					s.hold(w.a, w.v, func() string { return strconv.FormatInt(w.v, 10) })
				}
				d := &detectTally{n: 1}
				for range 2 {
					var tl tally
					f := newFindings(nil)
					s.settle(d, &tl, f, "svc", "hop stalled", tt.lim)
					if tl.out != tt.out || tl.other != tt.oth {
						t.Errorf("settled %d outside and %d during another fault, want %d and %d", tl.out, tl.other, tt.out, tt.oth)
					}
					fd := f.byKey[findingKey{"svc", "hop stalled outside fault #1's windows", attrUnexplained}]
					switch {
					case tt.out == 0 && fd != nil:
						t.Errorf("finding %+v, want none", fd)
					case tt.out > 0 && (fd == nil || fd.Count != tt.out || len(fd.Examples) != tt.examplesU):
						t.Errorf("finding %+v, want %d with %d examples", fd, tt.out, tt.examplesU)
					}
				}
			})
		}
	}
}

// TestDistAtLeast counts the values at or above a bound exactly while the
// dist keeps them, and within distError of the bound once folded.
func TestDistAtLeast(t *testing.T) {
	var d dist
	for v := range int64(1000) {
		d.add(v * 1000)
	}
	if got := d.atLeast(500_000); got != 500 {
		t.Errorf("exact: %d at least 500000, want 500", got)
	}
	d.fold()
	// The values within 1% of the bound, 495000 to 505000, may fall
	// either side.
	if got := d.atLeast(500_000); got < 495 || got > 505 {
		t.Errorf("folded: %d at least 500000, want 500 within 5", got)
	}
	if got := d.atLeast(2_000_000); got != 0 {
		t.Errorf("folded: %d at least 2000000, want 0", got)
	}
}
