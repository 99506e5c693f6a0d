package scenarios

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRunWritesEveryOutput runs a short story scenario (a header-stripping
// sidecar in the shop, at a fifth of its timeline) and checks the files Run
// writes: every one of them, the load's results collected for the latency
// plots, and a page that shows the broken edge.
func TestRunWritesEveryOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 6 s scenario")
	}
	sc := load(t, "header-stripping-proxy.yaml")
	out := t.TempDir()
	rep, err := Run(t.Context(), sc, Options{OutDir: out, TimeScale: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.json", "results.bin", "decisions.tsv", "junit.xml", "report.html"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	if len(rep.Evidence.Samples) == 0 {
		t.Error("the load results were not collected for the latency plots")
	}
	junit, err := os.ReadFile(filepath.Join(out, "junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(junit, new(struct{})); err != nil {
		t.Errorf("junit.xml does not parse: %v", err)
	}
	page, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cart -&gt; inventory", "broken", "Latency of frontend GET /checkout", "Spans per second", "sidecar strips headers"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}

// TestReportFilesOnInterrupt requires junit.xml and report.html from an
// interrupted run too, both saying it was interrupted.
func TestReportFilesOnInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a scenario")
	}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(700*time.Millisecond, cancel)
	d, out := time.Minute, t.TempDir()
	rep, err := Run(ctx, load(t, "quickstart.yaml"), Options{Duration: &d, OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted {
		t.Fatal("the run was not interrupted")
	}
	junit, err := os.ReadFile(filepath.Join(out, "junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(junit, []byte(`<testcase name="run"`)) || !bytes.Contains(junit, []byte("interrupted")) {
		t.Errorf("junit.xml of an interrupted run has no run error:\n%s", junit)
	}
	page, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(page, []byte(`class="badge INTERRUPTED"`)) {
		t.Error("report.html of an interrupted run is not marked INTERRUPTED")
	}
}
