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

func TestHuman(t *testing.T) {
	for _, tt := range []struct {
		name string
		d    time.Duration
		want string
	}{
		{"zero", 0, "0s"},
		{"nanoseconds: as is", 987 * time.Nanosecond, "987ns"},
		{"microseconds", 987654 * time.Nanosecond, "988µs"},
		{"tens of milliseconds", 99835988 * time.Nanosecond, "99.8ms"},
		{"hundreds of milliseconds", 204251730 * time.Nanosecond, "204ms"},
		{"rounds up across a unit", 999600 * time.Microsecond, "1s"},
		{"seconds", 1234567890 * time.Nanosecond, "1.23s"},
		{"minutes", 123456 * time.Millisecond, "2m3s"},
		{"hours", 3723 * time.Second, "1h2m0s"},
		{"negative", -99835988 * time.Nanosecond, "-99.8ms"},
		{"exact", 18 * time.Millisecond, "18ms"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Human(tt.d).String(); got != tt.want {
				t.Errorf("Human(%s) = %s, want %s", tt.d, got, tt.want)
			}
		})
	}
}
