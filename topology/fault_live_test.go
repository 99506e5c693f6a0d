package topology

import (
	"strings"
	"testing"
	"time"
)

func TestParseFault(t *testing.T) {
	topo, err := LoadTopology("testdata/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, data string
		want       func(Fault) bool
		errs       []string // substrings, one per expected error
	}{
		{"yaml without at", "strip-headers: {from: frontend, to: cart}\nfor: 10s", func(f Fault) bool {
			return f.Kind == FaultStripHeaders && f.Target.From == "frontend" && f.Target.To == "cart" && f.Window.For == 10*time.Second
		}, nil},
		{"json", `{"latency": {"service": "payment", "add": "300ms"}}`, func(f Fault) bool {
			return f.Kind == FaultLatency && f.Latency.Add == 300*time.Millisecond && f.Target.Instance == -1
		}, nil},
		{"every problem at once", "crash: {service: nowhere}\nevery: -1s", nil, []string{
			`request:1:18: crash.service: service "nowhere" is not defined`,
			`request:2:8: every: must be positive, got -1s`,
		}},
		{"not a fault", "[1, 2]", nil, []string{"request:1:1: must be a mapping"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFault("request", []byte(tt.data), topo)
			if tt.errs == nil {
				if err != nil {
					t.Fatal(err)
				}
				if !tt.want(f) {
					t.Errorf("parsed %+v", f)
				}
				return
			}
			got := ErrorList(err)
			if len(got) != len(tt.errs) {
				t.Fatalf("errors %v, want %d", err, len(tt.errs))
			}
			for i, e := range got {
				if !strings.Contains(e.Error(), tt.errs[i]) {
					t.Errorf("error %d: %q, want it to contain %q", i, e, tt.errs[i])
				}
			}
		})
	}
}
