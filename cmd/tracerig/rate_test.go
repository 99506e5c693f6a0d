package main

import (
	"strings"
	"testing"
)

func TestSpanRate(t *testing.T) {
	tests := []struct {
		in      string
		want    float64
		wantErr string
	}{
		{in: "1000/s", want: 1000},
		{in: "1000", want: 1000},
		{in: "1e9", want: 1e9},
		{in: "2.5", want: 2.5},
		{in: "0", want: 0},
		{in: "300/100ms", want: 3000},
		{in: "60000/1m", want: 1000},
		{in: "-5/s", want: -5}, // refused by blast's checks, which name the flag
		{in: "fast", wantErr: `want spans per second as N/s (e.g. 50000/s, 3000/100ms) or a bare number, got "fast"`},
		{in: "1000/fortnight", wantErr: `got "1000/fortnight"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var r spanRate
			err := r.Set(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Set(%q) = %v, want an error with %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || float64(r) != tt.want {
				t.Errorf("Set(%q) = %v, %v; want %v", tt.in, float64(r), err, tt.want)
			}
		})
	}
}
