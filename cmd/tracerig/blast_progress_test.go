package main

import (
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/simulator/synthetic"
)

// TestBlastProgress: a plain line every five seconds of samples, with the
// totals so far and the rate since the last line; no \r.
func TestBlastProgress(t *testing.T) {
	var out strings.Builder
	on := blastProgress(&out, 10*time.Second)
	for i := 1; i <= 10; i++ {
		on(synthetic.Sample{At: time.Duration(i) * time.Second, Interval: time.Second, Built: 1000, Delivered: 990, Failed: 10})
	}
	want := "blast  50%: 5000 spans sent, 4950 delivered, 50 undelivered, 1000/s\n" +
		"blast 100%: 10000 spans sent, 9900 delivered, 100 undelivered, 1000/s\n"
	if out.String() != want {
		t.Errorf("progress:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestBlastQuiet: blast for longer than a progress interval prints its
// progress on stderr, and nothing with --quiet.
func TestBlastQuiet(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want bool
	}{
		{nil, true},
		{[]string{"--quiet"}, false},
	} {
		args := append([]string{"blast", "--duration", "5500ms", "--workers", "1", "--conns", "1", "--rate", "2000/s"}, tt.args...)
		r := runCLI(t, append(args, "quickstart")...)
		r.wantCode(t, exitOK)
		if got := strings.Contains(r.stderr, "spans sent"); got != tt.want {
			t.Errorf("%v: progress on stderr = %v, want %v:\n%s", tt.args, got, tt.want, r.stderr)
		}
		if strings.Contains(r.stderr, "\r") {
			t.Errorf("%v: \\r on stderr", tt.args)
		}
	}
}
