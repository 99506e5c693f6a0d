package broker

import (
	"fmt"
	"testing"
)

// round is one batch of one partition as a Kafka consumer sees it: the
// offsets fetched, and those the handler fails.
type round struct {
	fetched []int64
	fail    []int64
	// wanted
	handed  string // "offset/redelivery ..." of the records handed to the handler
	commit  int64
	rewind  bool
	tracked [2]int // deliveries and acked offsets remembered after
}

func TestTracker(t *testing.T) {
	tests := []struct {
		name   string
		rounds []round
	}{
		{"all acknowledged", []round{
			{fetched: []int64{0, 1, 2}, handed: "0/0 1/0 2/0", commit: 3},
		}},
		{"failed twice then acknowledged", []round{
			{fetched: []int64{0, 1, 2}, fail: []int64{1}, handed: "0/0 1/0 2/0", commit: 1, rewind: true, tracked: [2]int{2, 1}},
			{fetched: []int64{1, 2, 3}, fail: []int64{1}, handed: "1/1 3/0", commit: 1, rewind: true, tracked: [2]int{3, 2}},
			{fetched: []int64{1, 2, 3, 4}, handed: "1/2 4/0", commit: 5},
		}},
		{"two failed in one batch", []round{
			{fetched: []int64{10, 11, 12, 13}, fail: []int64{10, 12}, handed: "10/0 11/0 12/0 13/0", commit: 10, rewind: true, tracked: [2]int{4, 2}},
			{fetched: []int64{10, 11, 12, 13}, fail: []int64{12}, handed: "10/1 12/1", commit: 12, rewind: true, tracked: [2]int{2, 1}},
			{fetched: []int64{12, 13}, handed: "12/2", commit: 14},
		}},
		{"acknowledged ones alone in a batch", []round{
			{fetched: []int64{0, 1, 2}, fail: []int64{0}, handed: "0/0 1/0 2/0", commit: 0, rewind: true, tracked: [2]int{3, 2}},
			{fetched: []int64{0}, handed: "0/1", commit: 1, tracked: [2]int{2, 2}},
			{fetched: []int64{1, 2}, handed: "", commit: 3},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracker()
			for i, r := range tt.rounds {
				handed, outs := "", make([]outcome, 0, len(r.fetched))
				for _, off := range r.fetched {
					redelivery, hand := tr.admit(3, off)
					failed := contains(r.fail, off)
					if hand {
						handed += fmt.Sprintf(" %d/%d", off, redelivery)
					}
					outs = append(outs, outcome{offset: off, ok: !hand || !failed})
				}
				if handed != "" {
					handed = handed[1:]
				}
				commit, rewind := tr.settle(3, outs)
				d, a := tr.size()
				if handed != r.handed || commit != r.commit || rewind != r.rewind || [2]int{d, a} != r.tracked {
					t.Errorf("round %d: handed %q, commit %d, rewind %v, tracked %v; want %q, %d, %v, %v",
						i, handed, commit, rewind, [2]int{d, a}, r.handed, r.commit, r.rewind, r.tracked)
				}
			}
		})
	}
}

func TestTrackerDrop(t *testing.T) {
	tr := newTracker()
	for _, p := range []int32{0, 1} {
		tr.admit(p, 5)
		tr.admit(p, 6)
		tr.settle(p, []outcome{{5, false}, {6, true}})
	}
	tr.drop([]int32{0})
	if d, a := tr.size(); d != 2 || a != 1 {
		t.Errorf("after dropping partition 0: %d deliveries, %d acked remembered, want 2, 1", d, a)
	}
	if redelivery, hand := tr.admit(0, 6); !hand || redelivery != 0 {
		t.Errorf("a dropped partition's offset: hand %v, redelivery %d; want true, 0", hand, redelivery)
	}
	if _, hand := tr.admit(1, 6); hand {
		t.Error("a kept partition's acknowledged offset was handed again")
	}
}

func contains(s []int64, v int64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
