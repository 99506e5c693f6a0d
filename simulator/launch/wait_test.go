package launch

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLogWatch: the text counts only after the start's offset, and when
// split across writes.
func TestLogWatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.log")
	old := "ready to serve (an earlier run)\n"
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pr := logProbe("ready to serve", path, int64(len(old)))
	defer pr.close()
	for i, step := range []struct {
		write string
		want  bool
	}{
		{"", false},
		{"starting\nready ", false},
		{"to se", false},
		{"", false},
		{"rve\n", true},
	} {
		if _, err := f.WriteString(step.write); err != nil {
			t.Fatal(err)
		}
		if got, err := pr.try(t.Context()); got != step.want || err != nil {
			t.Fatalf("step %d (wrote %q): ready %v, %v; want %v", i, step.write, got, err, step.want)
		}
	}
}
