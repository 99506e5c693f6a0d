package report

import (
	"slices"
	"testing"

	"github.com/tracerig/tracerig/internal/record"
)

func TestExportWaiting(t *testing.T) {
	end := func(end, at int64, ex record.Export) record.Ended {
		return record.Ended{Span: record.Span{End: end}, Export: ex, ExportAt: at}
	}
	ok, failed, pending := record.ExportOK, record.ExportFailed, record.ExportPending
	for _, tc := range []struct {
		name  string
		ended []record.Ended
		want  []waitingStep
		peak  int
		at    int64
	}{
		{name: "nothing", want: []waitingStep{}},
		{
			name:  "one span",
			ended: []record.Ended{end(10, 30, ok)},
			want:  []waitingStep{{10, 1}, {30, 0}},
			peak:  1, at: 10,
		},
		{
			name:  "overlapping, failed ones count, dropped ones do not",
			ended: []record.Ended{end(10, 50, ok), end(20, 40, failed), end(30, 40, ok), end(15, 0, pending)},
			want:  []waitingStep{{10, 1}, {20, 2}, {30, 3}, {40, 1}, {50, 0}},
			peak:  3, at: 30,
		},
		{
			name:  "a span leaving as another ends is no overlap",
			ended: []record.Ended{end(10, 20, ok), end(20, 30, ok)},
			want:  []waitingStep{{10, 1}, {20, 1}, {30, 0}},
			peak:  1, at: 10,
		},
		{
			name:  "exported at its end: no wait",
			ended: []record.Ended{end(10, 10, ok)},
			want:  []waitingStep{{10, 0}},
		},
		{
			name:  "an export stamped before the end (skewed clock) waits no time",
			ended: []record.Ended{end(10, 5, ok), end(12, 20, ok)},
			want:  []waitingStep{{10, 0}, {12, 1}, {20, 0}},
			peak:  1, at: 12,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := exportWaiting(tc.ended)
			if !slices.Equal(got, tc.want) {
				t.Errorf("steps %v, want %v", got, tc.want)
			}
			r := exportReport(got, 8192)
			if r.WaitingPeak != tc.peak || r.WaitingPeakAt != tc.at || r.QueueCapacity != 8192 {
				t.Errorf("report %+v, want peak %d at %d", r, tc.peak, tc.at)
			}
		})
	}
}
