package topology

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestDrawUniform(t *testing.T) {
	tests := []struct {
		name     string
		min, max time.Duration
	}{
		{"narrow", 5 * time.Millisecond, 10 * time.Millisecond},
		{"one value", time.Second, time.Second},
		{"the widest range", 0, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := Latency{Dist: DistUniform, Min: tt.min, Max: tt.max}
			r := rand.New(rand.NewPCG(1, 2))
			for range 1000 {
				if d := l.Draw(r); d < tt.min || d > tt.max {
					t.Fatalf("drew %s outside [%s, %s]", d, tt.min, tt.max)
				}
			}
		})
	}
	// The same draws as before the range went unsigned: seeded runs replay.
	l := Latency{Dist: DistUniform, Min: 5 * time.Millisecond, Max: 10 * time.Millisecond}
	a, b := rand.New(rand.NewPCG(3, 4)), rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		if got, want := l.Draw(a), l.Min+time.Duration(b.Int64N(int64(l.Max-l.Min)+1)); got != want {
			t.Fatalf("drew %s, want %s", got, want)
		}
	}
}
