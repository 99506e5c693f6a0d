package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateGoodFiles(t *testing.T) {
	files, err := filepath.Glob("../../scenarios/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no library scenarios: %v", err)
	}
	files = append(files, "../../scenarios/topologies/shop.yaml",
		"testdata/tiny.yaml", "testdata/tiny-topology.yaml", "testdata/broken.yaml",
		"testdata/counted.yaml", "testdata/long.yaml")
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			r := runCLI(t, "validate", file)
			r.wantCode(t, exitOK)
			if r.stdout != "" {
				t.Errorf("stdout not empty:\n%s", r.stdout)
			}
			if want := file + ": ok\n"; r.stderr != want {
				t.Errorf("stderr = %q, want %q", r.stderr, want)
			}
		})
	}
	t.Run("all at once", func(t *testing.T) {
		runCLI(t, append([]string{"validate"}, files...)...).wantCode(t, exitOK)
	})
}

// TestValidateBadFiles checks that validate reports every problem of a bad
// topology and a bad scenario in one pass, one file:line:col: path: message
// per line, against testdata/validate.golden.
func TestValidateBadFiles(t *testing.T) {
	r := runCLI(t, "validate", "testdata/bad-topology.bad.yaml", "testdata/tiny.yaml", "testdata/bad-scenario.bad.yaml")
	r.wantCode(t, exitUsage)
	checkGolden(t, "validate.golden", []byte(r.stdout))
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	for _, file := range []string{"testdata/bad-topology.bad.yaml", "testdata/bad-scenario.bad.yaml"} {
		n := 0
		for _, l := range lines {
			if strings.HasPrefix(l, file+":") {
				n++
			}
		}
		if n < 5 {
			t.Errorf("%d problems reported in %s, want every one of its problems (at least 5)", n, file)
		}
	}
	for _, l := range lines {
		// file:line:col: field.path: message
		parts := strings.SplitN(l, ": ", 3)
		if len(parts) != 3 || strings.Count(parts[0], ":") != 2 || parts[1] == "" || parts[2] == "" {
			t.Errorf("line is not file:line:col: field.path: message:\n\t%s", l)
		}
	}
	if want := len(lines); !strings.Contains(r.stderr, fmt.Sprintf("tracerig validate: %d problem(s) found", want)) {
		t.Errorf("stderr does not count %d problems:\n%s", want, r.stderr)
	}
	if !strings.Contains(r.stderr, "testdata/tiny.yaml: ok") {
		t.Errorf("the good file between the bad ones is not reported ok:\n%s", r.stderr)
	}
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStdout string
		wantStderr string
	}{
		{
			name:       "missing file",
			args:       []string{"testdata/missing.yaml"},
			wantStdout: "testdata/missing.yaml: cannot read: no such file or directory\n",
			wantStderr: "1 problem(s) found",
		},
		{
			name:       "missing file among good ones",
			args:       []string{"testdata/tiny.yaml", "testdata/missing.yaml", "testdata/tiny-topology.yaml"},
			wantStdout: "testdata/missing.yaml: cannot read: no such file or directory\n",
			wantStderr: "testdata/tiny-topology.yaml: ok",
		},
		{
			name:       "no files",
			args:       nil,
			wantStderr: "want at least 1 file, got 0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, append([]string{"validate"}, tt.args...)...)
			r.wantCode(t, exitUsage)
			if r.stdout != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", r.stdout, tt.wantStdout)
			}
			if !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, r.stderr)
			}
		})
	}
}

// TestValidateStdin: validate - reads a file from standard input.
func TestValidateStdin(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		code     int
		want     string // on stdout
	}{
		{"valid", "name: t\nservices:\n  a:\n    routes:\n      GET /x: {}\n", exitOK, ""},
		{"invalid", "name: t\nservices:\n  a:\n    protocol: soap\n", exitUsage, "<stdin>:4:15: services.a.protocol: unknown protocol"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			root := newRootCmd()
			root.SetArgs([]string{"validate", "-"})
			root.SetIn(strings.NewReader(tt.in))
			root.SetOut(&stdout)
			root.SetErr(&stderr)
			err := root.Execute()
			code := exitOK
			var ee *exitError
			if errors.As(err, &ee) {
				code = ee.code
			}
			if code != tt.code || !strings.Contains(stdout.String(), tt.want) {
				t.Fatalf("exit %d (%v), stdout %q; want exit %d and %q", code, err, stdout.String(), tt.code, tt.want)
			}
		})
	}
}

// TestInit: init writes a library scenario and its topology files that
// validate, and refuses to overwrite them without --force.
func TestInit(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, "init", "shop", dir)
	r.wantCode(t, exitOK)
	for _, f := range []string{"shop.yaml", filepath.Join("topologies", "shop.yaml")} {
		if !strings.Contains(r.stdout, filepath.Join(dir, f)) {
			t.Errorf("init did not list %s:\n%s", f, r.stdout)
		}
	}
	runCLI(t, "validate", filepath.Join(dir, "shop.yaml")).wantCode(t, exitOK)
	r = runCLI(t, "init", "shop", dir)
	r.wantCode(t, exitUsage)
	if !strings.Contains(r.stderr, "--force") {
		t.Errorf("a second init does not say how to overwrite:\n%s", r.stderr)
	}
	runCLI(t, "init", "--force", "shop", dir).wantCode(t, exitOK)
}
