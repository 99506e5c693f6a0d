package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracerig/tracerig/scenarios"
)

// TestList prints the library: one line a scenario, its name then its
// summary, in the order of scenarios.Library.
func TestList(t *testing.T) {
	lib, err := scenarios.Library()
	if err != nil || len(lib) < 3 {
		t.Fatalf("library: %d entries, %v", len(lib), err)
	}
	r := runCLI(t, "list")
	r.wantCode(t, exitOK)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != len(lib) {
		t.Fatalf("%d lines for %d library scenarios:\n%s", len(lines), len(lib), r.stdout)
	}
	for i, e := range lib {
		name, summary, _ := strings.Cut(lines[i], " ")
		if name != e.Name || strings.TrimSpace(summary) != e.Summary || e.Summary == "" {
			t.Errorf("line %d = %q, want %s and %q", i+1, lines[i], e.Name, e.Summary)
		}
	}
	for _, name := range []string{"quickstart", "shop", "broken-proxy"} {
		if !strings.Contains(r.stdout, name+" ") {
			t.Errorf("list lacks %s:\n%s", name, r.stdout)
		}
	}
	runCLI(t, "list", "extra").wantCode(t, exitUsage)
}

// TestRunByName runs a library scenario by its name, with the flags after
// it.
func TestRunByName(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	r := runCLI(t, "run", "quickstart", "--duration", "1s", "--quiet", "--out", out)
	r.wantCode(t, exitOK)
	rep := readReport(t, out)
	if rep.Scenario != "quickstart" || !rep.Passed || len(rep.Load) != 1 || rep.Load[0].Requests == 0 {
		t.Errorf("report: scenario %q, passed %v, load %+v", rep.Scenario, rep.Passed, rep.Load)
	}
}

// TestLibraryNames: validate and graph take a library scenario's name too,
// and an unknown name, for any of them, lists the library. A name that is
// a file in the working folder stays a file.
func TestLibraryNames(t *testing.T) {
	r := runCLI(t, "validate", "quickstart", "shop")
	r.wantCode(t, exitOK)
	if r.stderr != "quickstart: ok\nshop: ok\n" {
		t.Errorf("validate stderr = %q", r.stderr)
	}
	g := runCLI(t, "graph", "--format", "mermaid", "quickstart")
	g.wantCode(t, exitOK)
	for _, want := range []string{"web", "stock", "pricing"} {
		if !strings.Contains(g.stdout, want) {
			t.Errorf("graph quickstart lacks %s:\n%s", want, g.stdout)
		}
	}

	lib, err := scenarios.Library()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range lib {
		names = append(names, e.Name)
	}
	want := "quikstart: no such file, and no library scenario of that name (the library: " + strings.Join(names, ", ") + "; see 'tracerig list')"
	for _, args := range [][]string{
		{"run", "--out", t.TempDir(), "quikstart"},
		{"validate", "quikstart"},
		{"graph", "quikstart"},
	} {
		r := runCLI(t, args...)
		r.wantCode(t, exitUsage)
		if !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("%s: output lacks %q:\nstdout:\n%s\nstderr:\n%s", args[0], want, r.stdout, r.stderr)
		}
	}

	// With a path separator or a .yaml suffix, the argument is a file.
	for _, arg := range []string{"./quickstart", "quickstart.yaml"} {
		r := runCLI(t, "validate", arg)
		r.wantCode(t, exitUsage)
		if want := arg + ": cannot read: no such file or directory"; !strings.Contains(r.stdout, want) {
			t.Errorf("validate %s: stdout lacks %q:\n%s", arg, want, r.stdout)
		}
	}
	// An existing file of that name wins over the library.
	dir := t.TempDir()
	data, err := os.ReadFile("testdata/tiny-topology.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "quickstart"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	v := runCLI(t, "graph", "quickstart")
	v.wantCode(t, exitOK)
	if !strings.Contains(v.stdout, "tiny") || strings.Contains(v.stdout, "quickstart") {
		t.Errorf("graph of the file quickstart:\n%s", v.stdout)
	}
}
