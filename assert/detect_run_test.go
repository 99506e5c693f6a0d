package assert

import (
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// detectExpects is the one detect expectation exp.
func detectExpects(exp topology.DetectExpect) []topology.Expect {
	return []topology.Expect{{Kind: topology.ExpectDetect, Detect: exp}}
}

func TestRunDetect(t *testing.T) {
	in := detectSim(detectKinds["strip-headers"], func(s *sim) func(int64) bool { return s.between(20, 30) }).in
	expects := []topology.Expect{
		{Kind: topology.ExpectPropagation, Propagation: topology.PropagationExpect{Connected: true, Broken: []string{"cart -> inventory"}, DuringFault: 1}},
		{Kind: topology.ExpectDetect, Detect: topology.DetectExpect{Fault: 1}},
		{Kind: topology.ExpectCompleteness, Completeness: topology.CompletenessExpect{Min: 1}},
	}
	vs := Run(in, expects)
	checkStreamed(t, in, expects)
	for _, v := range vs {
		if v.Status != StatusPass {
			t.Errorf("%s: %s: %s", v.Check, v.Status, v.Observed)
		}
		if _, ok := v.Stats["unexplained"]; !ok {
			t.Errorf("%s: no unexplained stat", v.Check)
		}
	}
}

// TestDetectHeldBaseline pins the held threshold of a pause, which depends
// on the longest wait outside the windows anywhere in the run: hops inside
// held 11s count while that baseline is 5s (threshold 10s) and not once it
// is 6s (threshold 12s), whichever group brings it.
func TestDetectHeldBaseline(t *testing.T) {
	tests := []struct {
		name      string
		outside   time.Duration
		status    Status
		observe   string
		threshold float64
	}{
		{"a baseline below the window's tenth", 500 * time.Millisecond, StatusPass, "10 stalled hops inside", 1},
		{"a baseline under half the held time", 5 * time.Second, StatusPass, "10 stalled hops inside", 10},
		{"a baseline over half the held time", 6 * time.Second, StatusFail, "0 stalled hops inside", 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := faultChain(nil)
			s.spans(and(isSpan("frontend", record.KindClient, "call cart"), s.between(20, 30), start), func(sp *record.Span) {
				sp.End = sp.Start + int64(11*time.Second)
			})
			s.spans(and(isSpan("frontend", record.KindClient, "call cart"), s.between(45, 45.5), start), func(sp *record.Span) {
				sp.End = sp.Start + int64(tt.outside)
			})
			in := s.plant(detectKinds["pause"].f, [2]float64{20, 30}).in
			exp := topology.DetectExpect{Fault: 1}
			v := Detect(in, exp)
			if v.Status != tt.status || !strings.Contains(v.Observed, tt.observe) {
				t.Errorf("status %s, observed %q; want %s, %q", v.Status, v.Observed, tt.status, tt.observe)
			}
			if got := v.Stats["held_threshold_seconds"]; got != tt.threshold {
				t.Errorf("held threshold %vs, want %vs", got, tt.threshold)
			}
			checkStreamed(t, in, detectExpects(exp))
		})
	}
}
