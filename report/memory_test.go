package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestMemoryReported: the samples a run took reach report.json (with the
// peak), the text summary and a plot of report.html; without samples none
// of them says anything of memory.
func TestMemoryReported(t *testing.T) {
	for _, tt := range []struct {
		name    string
		samples []MemSample
		want    bool
	}{
		{"sampled", []MemSample{{0, 100 << 20, 0}, {time.Second, 300 << 20, 1_000_000}, {2 * time.Second, 200 << 20, 3_000_000}}, true},
		{"not sampled", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep := New(sampleEvidence(t))
			rep.SetMemory(tt.samples)
			b, err := json.Marshal(rep)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Memory *MemoryReport `json:"memory"`
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if (got.Memory != nil) != tt.want || tt.want && (got.Memory.PeakRSS != 300<<20 || len(got.Memory.Samples) != 3 ||
				got.Memory.GrowthPerSpan != -(100<<20)/2_000_000.0) {
				t.Fatalf("report.json memory = %+v", got.Memory)
			}
			var text, html bytes.Buffer
			if err := rep.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if err := rep.WriteHTML(&html); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(text.String(), "memory: peak resident set 300 MiB, checks included; -52 bytes per span") != tt.want {
				t.Errorf("text summary:\n%s", text.String())
			}
			if strings.Contains(html.String(), "Memory: tracerig&#39;s resident set size") != tt.want {
				t.Errorf("report.html memory plot present = %v, want %v", !tt.want, tt.want)
			}
		})
	}
}
