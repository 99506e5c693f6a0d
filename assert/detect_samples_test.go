package assert

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

func TestKeepTop(t *testing.T) {
	tests := []struct {
		name   string
		values []int64
		want   []int64
	}{
		{"fewer than kept", []int64{3, 1, 2}, []int64{3, 2, 1}},
		{"more than kept", []int64{5, 9, 1, 7, 3, 8, 2, 6}, []int64{9, 8, 7, 6, 5}},
		{"ties keep the first met", []int64{4, 4, 4, 4, 4, 4, 4}, []int64{4, 4, 4, 4, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var top []topSample
			for i, v := range tt.values {
				top = keepTop(top, v, attribution(i), func() string { return strconv.Itoa(i) })
			}
			var got []int64
			for _, s := range top {
				got = append(got, s.v)
				if s.ex != strconv.Itoa(int(s.attr)) {
					t.Errorf("sample %d has evidence %q", s.attr, s.ex)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("kept %v, want %v", got, tt.want)
			}
			if tt.name == "ties keep the first met" && top[0].attr != 0 {
				t.Errorf("first kept is value %d, want the first met", top[0].attr)
			}
		})
	}
}

// TestHeldHopsSettle feeds held and outside waits in shuffled orders, some
// pruned as they come: the count of held hops, and of examples, must be
// the one a threshold known from the start gives. A floor that falls
// before the verdict (a shorter window came) counts the waits above the
// final one; final windows let the floor drop waits as they come.
func TestHeldHopsSettle(t *testing.T) {
	tests := []struct {
		name     string
		floor    int64
		settle   int64 // the floor at the verdict when not floor
		final    bool
		inside   map[attribution][]int64
		outside  []int64
		want     map[attribution]int
		examples map[attribution]int
	}{{
		name:   "floor only",
		floor:  10,
		inside: map[attribution][]int64{2: {5, 10, 11, 40}, 3: {9}},
		want:   map[attribution]int{2: 3}, examples: map[attribution]int{2: 3},
	}, {
		name:    "the baseline raises the threshold",
		floor:   10,
		inside:  map[attribution][]int64{2: {5, 10, 11, 40, 41, 42, 43, 44, 45, 46}, 3: {12, 13}},
		outside: []int64{3, 20, 7},
		want:    map[attribution]int{2: 7}, examples: map[attribution]int{2: 5},
	}, {
		name:   "the floor falls",
		floor:  100,
		settle: 10,
		inside: map[attribution][]int64{2: {5, 10, 11, 40}, 3: {9}},
		want:   map[attribution]int{2: 3}, examples: map[attribution]int{2: 3},
	}, {
		name:    "final windows",
		floor:   10,
		final:   true,
		inside:  map[attribution][]int64{2: {5, 10, 11, 40, 41, 42, 43, 44, 45, 46}, 3: {12, 13}},
		outside: []int64{3, 20, 7},
		want:    map[attribution]int{2: 7}, examples: map[attribution]int{2: 5},
	}, {
		name:    "nothing held",
		floor:   10,
		inside:  map[attribution][]int64{2: {5, 6}},
		outside: []int64{100},
	}}
	for _, tt := range tests {
		for seed := range uint64(3) {
			t.Run(fmt.Sprintf("%s/%d", tt.name, seed), func(t *testing.T) {
				type wait struct {
					a       attribution
					v       int64
					outside bool
				}
				var all []wait
				for a, ws := range tt.inside {
					for _, v := range ws {
						all = append(all, wait{a, v, false})
					}
				}
				for _, v := range tt.outside {
					all = append(all, wait{v: v, outside: true})
				}
				rand.New(rand.NewPCG(seed, 1)).Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
				h := heldHops{floor: tt.floor, final: tt.final}
				for i, w := range all {
					if w.outside {
						h.outside(w.v)
					} else {
						h.hold(w.a, w.v, func() string { return strconv.FormatInt(w.v, 10) })
					}
					if i%3 == 0 {
						h.prune()
					}
				}
				if tt.settle != 0 {
					h.floor = tt.settle
				}
				f := newFindings(nil)
				n := h.settle(f, "svc", "held")
				total := 0
				for a, c := range tt.want {
					total += c
					fd := f.byKey[findingKey{"svc", "held", a}]
					if fd == nil || fd.Count != c || len(fd.Examples) != tt.examples[a] {
						t.Errorf("window %d: finding %+v, want %d held with %d examples", a, fd, c, tt.examples[a])
					}
				}
				if n != total || len(f.byKey) != len(tt.want) {
					t.Errorf("settled %d in %d findings, want %d in %d", n, len(f.byKey), total, len(tt.want))
				}
			})
		}
	}
}
