package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunIDShown: the run's ID, which replays a run on a shared backend, is
// in the text heading, report.json, junit.xml and report.html.
func TestRunIDShown(t *testing.T) {
	ev := sampleEvidence(t)
	ev.RunID = "7e4e722a22eb0da4"
	rep := New(ev)
	rep.SetVerdicts(sampleVerdicts())

	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(text.String(), "\n"); !strings.Contains(first, ", run 7e4e722a22eb0da4, backend ") {
		t.Errorf("heading %q does not name the run", first)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		RunID string `json:"run_id"`
	}
	if err := json.Unmarshal(b, &back); err != nil || back.RunID != ev.RunID {
		t.Errorf("report.json run_id = %q (%v)", back.RunID, err)
	}
	dir := t.TempDir()
	if err := rep.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"junit.xml":   `name="run_id" value="7e4e722a22eb0da4"`,
		"report.html": "run <b>7e4e722a22eb0da4</b>",
	} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(got, []byte(want)) {
			t.Errorf("%s does not hold %q", name, want)
		}
	}
}
