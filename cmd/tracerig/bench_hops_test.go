package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestHopsFloorDrift: the summary says when the floor before and after the
// run are far apart, and only then.
func TestHopsFloorDrift(t *testing.T) {
	for _, tc := range []struct {
		before, after time.Duration
		drift         float64
		note          bool
	}{
		{60 * time.Microsecond, 60 * time.Microsecond, 1, false},
		{60 * time.Microsecond, 72 * time.Microsecond, 1.2, false},
		{80 * time.Microsecond, 60 * time.Microsecond, 80.0 / 60, true},
		{0, 60 * time.Microsecond, 1, false},
	} {
		fl := &hopsFloor{Before: tc.before, After: tc.after, PerHop: 70 * time.Microsecond, Clients: 4}
		if d := fl.drift(); d < tc.drift-1e-9 || d > tc.drift+1e-9 {
			t.Errorf("drift(%s, %s) = %g, want %g", tc.before, tc.after, d, tc.drift)
		}
		hr := hopsReport{Hops: 10, SpansExported: 20, Floor: fl, FloorRatio: 1.5}
		var out bytes.Buffer
		hr.print(&out)
		if got := strings.Contains(out.String(), "note: the floor moved"); got != tc.note {
			t.Errorf("before %s, after %s: note %v, want %v:\n%s", tc.before, tc.after, got, tc.note, out.String())
		}
	}
}
