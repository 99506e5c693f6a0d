package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"golang.org/x/tools/txtar"
)

// helpCommands are the commands whose --help output is pinned in
// testdata/help/<command>.golden.
var helpCommands = [][]string{
	{}, {"run"}, {"list"}, {"validate"}, {"graph"}, {"backend"}, {"blast"}, {"blast-shard"}, {"bench"},
	{"conformance"}, {"clean"}, {"infer"}, {"init"}, {"show"}, {"schema"}, {"version"}, {"serve"}, {"relay"}, {"broker"}, {"render"},
	{"fault"}, {"fault", "add"}, {"fault", "list"}, {"fault", "clear"},
}

// TestHelp pins every command's --help: on stdout, nothing on stderr, exit 0.
func TestHelp(t *testing.T) {
	t.Setenv(controlEnv, "") // the default of fault's --control
	for _, path := range helpCommands {
		name := strings.Join(path, "-")
		if name == "" {
			name = "tracerig"
		}
		t.Run(name, func(t *testing.T) {
			r := runCLI(t, append(path, "--help")...)
			r.wantCode(t, exitOK)
			if r.stderr != "" {
				t.Errorf("stderr: %q", r.stderr)
			}
			checkGolden(t, filepath.Join("help", name+".golden"), []byte(r.stdout))
			if !strings.Contains(r.stdout, "Examples:\n") {
				t.Errorf("no examples in the help of %s", name)
			}
		})
	}
}

// TestCLI runs the command lines of testdata/cli/*.txtar. Each archive's
// files: args (one argument a line), code (the exit code), and any of
// stdout and stderr (the whole output), stdout-has and stderr-has (lines
// the output must contain), stdout-lacks (lines it must not).
func TestCLI(t *testing.T) {
	t.Setenv(controlEnv, "")
	files, err := filepath.Glob(filepath.Join("testdata", "cli", "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/cli/*.txtar: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			sec := map[string]string{}
			for _, f := range ar.Files {
				sec[f.Name] = string(f.Data)
			}
			args := lines(sec["args"])
			code, err := strconv.Atoi(strings.TrimSpace(sec["code"]))
			if err != nil {
				t.Fatalf("%s: code: %v", file, err)
			}
			r := runCLI(t, args...)
			r.wantCode(t, code)
			checkOutput(t, "stdout", r.stdout, sec)
			checkOutput(t, "stderr", r.stderr, sec)
		})
	}
}

// checkOutput checks out, the output called name, against the sections
// name, name-has and name-lacks of sec.
func checkOutput(t *testing.T, name, out string, sec map[string]string) {
	t.Helper()
	if want, ok := sec[name]; ok && out != want {
		t.Errorf("%s:\n%s\nwant:\n%s", name, out, want)
	}
	for _, line := range lines(sec[name+"-has"]) {
		if !strings.Contains(out, line) {
			t.Errorf("%s lacks %q:\n%s", name, line, out)
		}
	}
	for _, line := range lines(sec[name+"-lacks"]) {
		if strings.Contains(out, line) {
			t.Errorf("%s has %q:\n%s", name, line, out)
		}
	}
}

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// TestProgressInALog runs the built binary with stderr a pipe, as in a CI
// log: the progress comes as plain lines, never as \r frames.
func TestProgressInALog(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "tracerig")
	if out, err := exec.Command("go", "build", "-o", exe, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(exe, "run", "quickstart", "--duration", "1s", "--out", filepath.Join(dir, "out"))
	cmd.Env = withoutEnv(os.Environ(), "CI")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr // os/exec gives the child pipes
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitCheckFailed {
			t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		}
	}
	if !strings.Contains(stderr.String(), "load ") {
		t.Errorf("no progress line on stderr:\n%q", stderr.String())
	}
	if strings.ContainsRune(stderr.String(), '\r') || strings.ContainsRune(stdout.String(), '\r') {
		t.Errorf("\\r reached the log:\nstderr: %q\nstdout: %q", stderr.String(), stdout.String())
	}
}

// withoutEnv returns env without the variable name.
func withoutEnv(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// TestEveryCommandPinned: every command has its help pinned, so a new one
// cannot go without examples.
func TestEveryCommandPinned(t *testing.T) {
	pinned := map[string]bool{}
	for _, p := range helpCommands {
		pinned[strings.Join(p, " ")] = true
	}
	var walk func(prefix string, cmds []*cobra.Command)
	walk = func(prefix string, cmds []*cobra.Command) {
		for _, c := range cmds {
			name := strings.TrimSpace(prefix + " " + c.Name())
			if !pinned[name] {
				t.Errorf("the help of %q is not pinned in helpCommands", name)
			}
			walk(name, c.Commands())
		}
	}
	walk("", commands())
}
