package durfmt

import (
	"testing"
	"time"
)

func TestRound(t *testing.T) {
	for _, tt := range []struct {
		name string
		d    time.Duration
		want time.Duration
	}{
		{"below a millisecond: as is", 987654 * time.Nanosecond, 987654 * time.Nanosecond},
		{"milliseconds: to 10µs", 24504999 * time.Nanosecond, 24500 * time.Microsecond},
		{"seconds: to 10ms", 1234567890 * time.Nanosecond, 1230 * time.Millisecond},
		{"zero", 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Round(tt.d); got != tt.want {
				t.Errorf("Round(%s) = %s, want %s", tt.d, got, tt.want)
			}
		})
	}
}
