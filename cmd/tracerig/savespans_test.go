package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracerig/tracerig/internal/otlpfile"
	"github.com/tracerig/tracerig/internal/record"
)

// TestRunSaveSpans runs with --save-spans and reads the file back: the
// spans the report says the backend returned, each once.
func TestRunSaveSpans(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	path := filepath.Join(out, "spans.pb")
	r := runCLI(t, "run", "--quiet", "--out", out, "--save-spans", path, "testdata/tiny.yaml")
	r.wantCode(t, exitOK)
	rep := readReport(t, out)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[record.SpanID]bool{}
	st, err := otlpfile.Read(f, func(sp *record.Span) error {
		if seen[sp.ID] {
			t.Errorf("span %s saved twice", sp.ID)
		}
		seen[sp.ID] = true
		return nil
	})
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if st.Format != otlpfile.Protobuf || st.Spans != int64(rep.BackendSpans) || st.Spans == 0 {
		t.Errorf("saved %d spans as %v; the backend returned %d", st.Spans, st.Format, rep.BackendSpans)
	}
}

// TestRunSaveSpansUnwritable fails before any load when the file cannot
// be created, naming it.
func TestRunSaveSpansUnwritable(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "missing", "spans.pb")
	r := runCLI(t, "run", "--quiet", "--out", t.TempDir(), "--save-spans", path, "testdata/tiny.yaml")
	r.wantCode(t, exitRuntime)
	if !strings.Contains(r.stderr, "save spans: open "+path) {
		t.Errorf("stderr does not name the file:\n%s", r.stderr)
	}
}
