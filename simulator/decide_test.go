package simulator

import (
	"slices"
	"testing"
	"time"

	"github.com/tracerig/tracerig/topology"
)

func TestDrawLatency(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name     string
		lat      topology.Latency
		min, max time.Duration // every draw within
		p50      time.Duration // median of the draws, within 5%; 0: not checked
		p99      time.Duration // 99th percentile, within 10%; 0: not checked
	}{
		{"constant", topology.Latency{Dist: topology.DistConstant, Value: 5 * ms}, 5 * ms, 5 * ms, 5 * ms, 5 * ms},
		{"zero", topology.Latency{}, 0, 0, 0, 0},
		{"uniform", topology.Latency{Dist: topology.DistUniform, Min: 2 * ms, Max: 4 * ms}, 2 * ms, 4 * ms, 3 * ms, 0},
		{"normal clamps at zero", topology.Latency{Dist: topology.DistNormal, Mean: ms, StdDev: 2 * ms}, 0, time.Minute, 0, 0},
		{"normal", topology.Latency{Dist: topology.DistNormal, Mean: 20 * ms, StdDev: ms}, 10 * ms, 30 * ms, 20 * ms, 0},
		{"p50 p99 as lognormal", topology.Latency{Dist: topology.DistLognormal, P50: 20 * ms, P99: 120 * ms}, 0, time.Minute, 20 * ms, 120 * ms},
		// Pareto(min 1ms, alpha 2): median min·2^(1/2), p99 min·100^(1/2).
		{"pareto", topology.Latency{Dist: topology.DistPareto, Min: ms, Alpha: 2}, ms, time.Minute, 1414 * time.Microsecond, 10 * ms},
		{"lognormal without spread", topology.Latency{Dist: topology.DistLognormal, P50: 7 * ms, P99: 7 * ms}, 7 * ms, 7 * ms, 7 * ms, 7 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 20000
			draws := make([]time.Duration, n)
			r := hopRand(1, 2)
			for i := range draws {
				draws[i] = tt.lat.Draw(r)
				if draws[i] < tt.min || draws[i] > tt.max {
					t.Fatalf("draw %d = %s, outside [%s, %s]", i, draws[i], tt.min, tt.max)
				}
			}
			slices.Sort(draws)
			near(t, "p50", draws[n/2], tt.p50, 0.05)
			near(t, "p99", draws[n*99/100], tt.p99, 0.10)
		})
	}
}

func near(t *testing.T, what string, got, want time.Duration, tol float64) {
	t.Helper()
	if want == 0 {
		return
	}
	if d := float64(got-want) / float64(want); d > tol || d < -tol {
		t.Errorf("%s = %s, want %s ± %.0f%%", what, got, want, tol*100)
	}
}

func TestDecisionsAreSeeded(t *testing.T) {
	lat := topology.Latency{Dist: topology.DistLognormal, P50: 10 * time.Millisecond, P99: 90 * time.Millisecond}
	draw := func(seed, hop uint64) []time.Duration {
		r := hopRand(seed, hop)
		return []time.Duration{lat.Draw(r), lat.Draw(r), time.Duration(r.Int64())}
	}
	if a, b := draw(42, 7), draw(42, 7); !slices.Equal(a, b) {
		t.Errorf("same seed and hop drew %v then %v", a, b)
	}
	if a, b := draw(42, 7), draw(43, 7); slices.Equal(a, b) {
		t.Errorf("seeds 42 and 43 drew the same %v", a)
	}
	if requestHop(1, 5) != requestHop(1, 5) || requestHop(1, 5) == requestHop(2, 5) {
		t.Error("request hop IDs must be a function of seed and sequence only")
	}
	seen := map[uint64]bool{}
	for call := range 50 {
		for attempt := range 4 {
			h := callHop(requestHop(1, 1), call, attempt)
			if seen[h] {
				t.Fatalf("hop ID collision at call %d attempt %d", call, attempt)
			}
			seen[h] = true
		}
	}
}
