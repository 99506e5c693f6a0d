package assert

import (
	"testing"

	"github.com/tracerig/tracerig/internal/record"
)

func TestAftermath(t *testing.T) {
	w := &faultWin{
		Fault:     record.Fault{Start: 100, End: 200},
		recovered: map[caller]int64{{"web", 0}: 250},
		nextCut:   1000,
	}
	tests := []struct {
		name string
		hop  record.Hop
		want bool
	}{
		{"inside the window is not aftermath", record.Hop{From: "web", SentAt: 150}, false},
		{"before the caller got through again", record.Hop{From: "web", SentAt: 240}, true},
		{"after the caller got through again", record.Hop{From: "web", SentAt: 260}, false},
		{"a caller that never got through stays cut off", record.Hop{From: "web", FromInstance: 1, SentAt: 900}, true},
		{"until the next window on the target", record.Hop{From: "web", FromInstance: 1, SentAt: 1000}, false},
		{"on a connection idle since before the window closed", record.Hop{From: "web", SentAt: 900, ConnIdleSince: 180}, true},
		{"on a connection idle since the window closed exactly", record.Hop{From: "web", SentAt: 900, ConnIdleSince: 200}, true},
		{"on a connection last used after the window", record.Hop{From: "web", SentAt: 900, ConnIdleSince: 230}, false},
		{"on a new connection", record.Hop{From: "web", SentAt: 900}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := w.aftermath(&tt.hop); got != tt.want {
				t.Errorf("aftermath(%+v) = %v, want %v", tt.hop, got, tt.want)
			}
		})
	}
}
