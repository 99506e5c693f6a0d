package packaging

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// requireDocker skips without a docker CLI that reaches an engine, or fails
// when TRACERIG_REQUIRE_DOCKER=1.
func requireDocker(t *testing.T) {
	t.Helper()
	_, err := exec.LookPath("docker")
	if err == nil {
		var out []byte
		out, err = exec.CommandContext(t.Context(), "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput()
		if err != nil {
			err = fmt.Errorf("docker version: %w: %s", err, bytes.TrimSpace(out))
		}
	}
	if err != nil {
		if os.Getenv("TRACERIG_REQUIRE_DOCKER") == "1" {
			t.Fatalf("TRACERIG_REQUIRE_DOCKER=1: %v", err)
		}
		t.Skip(err)
	}
}

// TestDockerImage builds the image with scripts/docker-build.sh, as the
// README and docs/ci.md say, checks what it holds and runs tracerig in it:
// validate, and a short quickstart writing its reports into a mounted
// folder. The image is removed afterwards.
func TestDockerImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image")
	}
	requireDocker(t)
	tag := fmt.Sprintf("tracerig:test-%d", os.Getpid())
	built := strings.TrimSpace(run(t, repoRoot, nil, "bash", "scripts/docker-build.sh", tag))
	t.Cleanup(func() {
		if out, err := exec.Command("docker", "rmi", "--force", tag).CombinedOutput(); err != nil {
			t.Errorf("remove image %s: %v: %s", tag, err, out)
		}
	})
	if built != tag {
		t.Errorf("docker-build.sh printed %q, want the tag %q", built, tag)
	}
	config := run(t, "", nil, "docker", "image", "inspect", "--format",
		"{{.Config.User}} {{.Config.WorkingDir}} {{json .Config.Entrypoint}}", tag)
	if want := `65532:65532 /work ["/tracerig"]`; strings.TrimSpace(config) != want {
		t.Errorf("image config %q, want %q", strings.TrimSpace(config), want)
	}
	checkCABundle(t, tag)

	for _, tc := range []struct {
		name  string
		args  []string
		files []string // written into the folder mounted on /work/out
	}{
		{"validate", []string{"validate", "quickstart"}, nil},
		{"run", []string{"run", "quickstart", "--duration", "1s", "--out", "/work/out", "--quiet"},
			[]string{"report.json", "junit.xml", "report.html"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			// The image's user (65532) writes into the mounted folder.
			if err := os.Chmod(out, 0o777); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"run", "--rm", "-v", out + ":/work/out", tag}, tc.args...)
			t.Logf("%s", run(t, "", nil, "docker", args...))
			for _, f := range tc.files {
				if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
					t.Errorf("%s after docker %s: %v", f, strings.Join(args, " "), err)
				}
			}
		})
	}
}

// checkCABundle compares the image's /etc/ssl/certs/ca-certificates.crt
// with the host's, read through a created (never started) container.
func checkCABundle(t *testing.T, tag string) {
	t.Helper()
	const path = "/etc/ssl/certs/ca-certificates.crt"
	id := strings.TrimSpace(run(t, "", nil, "docker", "create", tag))
	t.Cleanup(func() {
		if out, err := exec.Command("docker", "rm", id).CombinedOutput(); err != nil {
			t.Errorf("remove container %s: %v: %s", id, err, out)
		}
	})
	tr := tar.NewReader(strings.NewReader(run(t, "", nil, "docker", "cp", id+":"+path, "-")))
	if _, err := tr.Next(); err != nil {
		t.Fatalf("%s in the image: %v", path, err)
	}
	got, err := io.ReadAll(tr)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s in the image (%d bytes) differs from the host's (%d bytes)", path, len(got), len(want))
	}
}
