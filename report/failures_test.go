package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tracerig/tracerig/internal/record"
)

// TestExportFailuresReported writes the export failures of a run into
// report.json, the text summary and report.html, and none of them when no
// export failed.
func TestExportFailuresReported(t *testing.T) {
	failures := []record.ExportFailure{
		{Service: "api", Reason: "grpc Unauthenticated", Spans: 100, FirstMessage: "rpc error: code = Unauthenticated desc = missing <bearer>\ttoken"},
		{Service: "api", Reason: "connection refused", Spans: 3, FirstMessage: "dial tcp 127.0.0.1:4317: connect: connection refused"},
		{Service: "store", Reason: "http 401", Spans: 20, FirstMessage: "export: 401 Unauthorized"},
	}
	for _, tt := range []struct {
		name     string
		failures []record.ExportFailure
		json     []ServiceExportFailures
		text     []string // lines of the text summary, each collapsed to single spaces
		html     []string
	}{
		{name: "none"},
		{
			name:     "per service and reason",
			failures: failures,
			json: []ServiceExportFailures{
				{Service: "api", Reasons: []ExportFailureReason{
					{Reason: "grpc Unauthenticated", Spans: 100, FirstMessage: failures[0].FirstMessage},
					{Reason: "connection refused", Spans: 3, FirstMessage: failures[1].FirstMessage},
				}},
				{Service: "store", Reasons: []ExportFailureReason{{Reason: "http 401", Spans: 20, FirstMessage: "export: 401 Unauthorized"}}},
			},
			text: []string{
				"export failures:",
				" service reason spans first message",
				" api grpc Unauthenticated 100 rpc error: code = Unauthenticated desc = missing <bearer> token",
				" api connection refused 3 dial tcp 127.0.0.1:4317: connect: connection refused",
				" store http 401 20 export: 401 Unauthorized",
			},
			html: []string{
				"<h2>Export failures</h2>",
				`<tr><td>api</td><td>grpc Unauthenticated</td><td class="num">100</td><td class="ex">rpc error: code = Unauthenticated desc = missing &lt;bearer&gt;`,
				`<tr><td>store</td><td>http 401</td><td class="num">20</td>`,
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := sampleEvidence(t)
			ev.ExportFailures = tt.failures
			rep := New(ev)
			rep.SetVerdicts(sampleVerdicts())
			dir := t.TempDir()
			if err := rep.WriteJSON(filepath.Join(dir, "report.json")); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(dir, "report.json"))
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Export struct {
					Failures []ServiceExportFailures `json:"failures"`
				} `json:"export"`
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Export.Failures, tt.json) {
				t.Errorf("report.json export.failures\n got  %+v\n want %+v", got.Export.Failures, tt.json)
			}
			if tt.json == nil && bytes.Contains(b, []byte(`"failures"`)) {
				t.Error("report.json lists export failures of a run without any")
			}

			var text, page bytes.Buffer
			if err := rep.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if err := rep.WriteHTML(&page); err != nil {
				t.Fatal(err)
			}
			lines := map[string]bool{}
			for l := range strings.Lines(text.String()) {
				lines[" "+strings.Join(strings.Fields(l), " ")] = true
			}
			for _, want := range tt.text {
				if !lines[" "+strings.TrimSpace(want)] && !lines[want] {
					t.Errorf("text summary lacks the line %q:\n%s", want, text.String())
				}
			}
			for _, want := range tt.html {
				if !strings.Contains(page.String(), want) {
					t.Errorf("report.html lacks %q", want)
				}
			}
			if tt.failures == nil && (strings.Contains(text.String(), "export failures:") || strings.Contains(page.String(), "Export failures")) {
				t.Error("a run without export failures shows a table of them")
			}
		})
	}
}
