package packaging

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"testing"
)

// repoRoot is the repository's root, seen from this package's folder (the
// working directory of its tests).
const repoRoot = ".."

// buildTracerig builds cmd/tracerig from this checkout into a folder of its
// own and returns the folder, to put first on a PATH.
func buildTracerig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	run(t, repoRoot, nil, "go", "build", "-o", filepath.Join(dir, "tracerig"), "./cmd/tracerig")
	return dir
}

// run runs a command in dir with env (nil: the test's own) and returns its
// standard output; the test fails on a non-zero exit, with both outputs.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %q: %v\nstdout:\n%s\nstderr:\n%s", name, args, err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.String()
}
