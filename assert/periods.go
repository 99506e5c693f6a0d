package assert

import "slices"

// timePeriods are the times at which attributing an effect to a fault
// window, or placing it in a DuringFault window, may change its answer:
// every window bound, with the graces around it. Two times in the same
// period (between two neighbouring points, or on one) get the same
// answers, so a tally can count effects by period instead of keeping
// their times. Empty without faults: all of time is one period.
type timePeriods []int64

func newTimePeriods(fs *faultSet) timePeriods {
	if fs == nil {
		return nil
	}
	var ps []int64
	for i := range fs.wins {
		w := &fs.wins[i]
		lo, hi := w.Start+w.shiftLo, w.End+w.shiftHi
		ps = append(ps, lo, lo-pipelinePre, hi, hi+postGrace, w.Start, w.End+postGrace)
	}
	slices.Sort(ps)
	return slices.Compact(ps)
}

// of returns t's period: 2i+1 on point i, 2i between points i-1 and i.
func (tp timePeriods) of(t int64) int {
	i, on := slices.BinarySearch(tp, t)
	if on {
		return 2*i + 1
	}
	return 2 * i
}
