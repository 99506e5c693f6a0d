package kubecluster

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKubeconfig(t *testing.T) {
	dir := t.TempDir()
	named := filepath.Join(dir, "named.kubeconfig")
	other := filepath.Join(dir, "other.kubeconfig")
	for _, f := range []string{named, other} {
		if err := os.WriteFile(f, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	upDir := filepath.Join(dir, "up")
	if err := os.MkdirAll(upDir, 0o700); err != nil {
		t.Fatal(err)
	}
	upConfig := filepath.Join(upDir, "admin.kubeconfig")
	if err := os.WriteFile(upConfig, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")

	tests := []struct {
		name                    string
		tracerig, kube, kubeDir string
		want                    string
		wantErr                 error  // errors.Is
		wantErrText             string // in the message
	}{
		{name: "tracerig's variable first", tracerig: named, kube: other, kubeDir: upDir, want: named},
		{name: "KUBECONFIG", kube: other, kubeDir: upDir, want: other},
		{name: "first entry of KUBECONFIG", kube: other + string(os.PathListSeparator) + named, want: other},
		{name: "empty entries skipped", kube: string(os.PathListSeparator) + named, want: named},
		{name: "up.sh's cluster", kubeDir: upDir, want: upConfig},
		{name: "none", kubeDir: missing, wantErr: ErrNoCluster},
		{name: "named file missing", tracerig: missing, wantErr: os.ErrNotExist, wantErrText: KubeconfigEnv},
		{name: "KUBECONFIG file missing", kube: missing, wantErr: os.ErrNotExist, wantErrText: "KUBECONFIG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(KubeconfigEnv, tt.tracerig)
			t.Setenv("KUBECONFIG", tt.kube)
			t.Setenv(DirEnv, tt.kubeDir)
			got, err := Kubeconfig()
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantErrText) {
					t.Fatalf("Kubeconfig() = %q, %v; want an error wrapping %v, naming %q", got, err, tt.wantErr, tt.wantErrText)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Kubeconfig() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestDir(t *testing.T) {
	t.Setenv(DirEnv, "")
	if got := Dir(); got != DefaultDir {
		t.Errorf("Dir() = %q without %s, want %q", got, DirEnv, DefaultDir)
	}
	t.Setenv(DirEnv, "/x/y")
	if got := Dir(); got != "/x/y" {
		t.Errorf("Dir() = %q, want /x/y", got)
	}
}

func TestDiffSnapshots(t *testing.T) {
	tests := []struct {
		name, before, after, want string
	}{
		{name: "same", before: "== a\n1\n2\n== b\n3\n", after: "== a\n2\n1\n== b\n3\n", want: ""},
		{name: "line added", before: "== a\n1\n", after: "== a\n1\n2\n", want: "== a\n+ 2\n"},
		{name: "line removed", before: "== a\n1\n2\n", after: "== a\n1\n", want: "== a\n- 2\n"},
		{name: "line changed", before: "== a\nx 1\n", after: "== a\nx 2\n", want: "== a\n- x 1\n+ x 2\n"},
		{name: "repeated line", before: "== a\n1\n", after: "== a\n1\n1\n", want: "== a\n+ 1\n"},
		{name: "same line, other section", before: "== a\n1\n== b\n", after: "== a\n== b\n1\n", want: "== a\n- 1\n== b\n+ 1\n"},
		{name: "new section", before: "== a\n", after: "== a\n== c\n9\n", want: "== c\n+ 9\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := diffSnapshots(tt.before, tt.after); got != tt.want {
				t.Errorf("diffSnapshots() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestSection(t *testing.T) {
	snap := "\n== links\nlo\neth0\n\n== cluster processes (not zombies)\n/bin/x --y\n"
	if got := section(snap, "cluster processes"); len(got) != 1 || got[0] != "/bin/x --y" {
		t.Errorf("section() = %q", got)
	}
	if got := section(snap, "mounts"); got != nil {
		t.Errorf("section(mounts) = %q, want none", got)
	}
}
