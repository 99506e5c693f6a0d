package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/simulator/control"
)

var controlRE = regexp.MustCompile(`(?m)^control API on http://(\S+) \(tracerig fault --control (\S+) \.\.\.\)$`)

// TestFaultControl runs testdata/control.yaml (3s of load) with --control on
// a free port, and while load flows adds a strip-headers fault on web ->
// stock with `tracerig fault add`, sees it with `fault list`, and clears it
// with `fault clear`. The report then holds the live window, and the
// propagation verdict a finding on web -> stock that the live fault
// explains.
func TestFaultControl(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"run", "--quiet", "--out", out, "--control", "127.0.0.1:0", "testdata/control.yaml"}, &stdout, &stderr)
	}()
	code, finished := -1, false
	wait := func() int {
		if !finished {
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("the run did not end\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			}
			finished = true
		}
		return code
	}
	defer wait()

	var addr string
	waitFor(t, 15*time.Second, "the control address on stderr", func() bool {
		select {
		case code = <-done:
			finished = true
			t.Fatalf("the run ended (exit %d) before its control API listened\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
		default:
		}
		m := controlRE.FindStringSubmatch(stderr.String())
		if m != nil {
			addr = m[2]
			if m[1] != m[2] {
				t.Errorf("control API on %s, but the hint dials %s", m[1], m[2])
			}
		}
		return m != nil
	})
	if n := strings.Count(stderr.String(), "control API on"); n != 1 {
		t.Errorf("the control address printed %d times, want once:\n%s", n, stderr.String())
	}

	add := runCLI(t, "fault", "add", "--control", addr, "strip-headers: {from: web, to: stock}")
	add.wantCode(t, exitOK)
	m := regexp.MustCompile(`^added fault (\d+)\n$`).FindStringSubmatch(add.stdout)
	if m == nil {
		t.Fatalf("fault add printed %q, want \"added fault N\"", add.stdout)
	}
	id := m[1]

	list := runCLI(t, "fault", "list", "--control", addr)
	list.wantCode(t, exitOK)
	if !regexp.MustCompile(`(?m)^ID +FAULT +LIVE +SINCE$`).MatchString(list.stdout) ||
		!regexp.MustCompile(`(?m)^`+id+` +strip-headers web -> stock +yes +\d\d:\d\d:\d\d \(`).MatchString(list.stdout) {
		t.Errorf("fault list does not show fault %s, live, on web -> stock:\n%s", id, list.stdout)
	}
	js := runCLI(t, "fault", "list", "--json", "--control", addr)
	js.wantCode(t, exitOK)
	var st control.State
	if err := json.Unmarshal([]byte(js.stdout), &st); err != nil {
		t.Fatalf("fault list --json: %v\n%s", err, js.stdout)
	}
	if len(st.Active) != 1 || strconv.Itoa(st.Active[0].ID) != id || !st.Active[0].Live || st.Active[0].Kind != "strip-headers" {
		t.Errorf("fault list --json: active %+v, want live strip-headers %s", st.Active, id)
	}

	// --for ends a fault by itself; here one from a file that has none.
	file := filepath.Join(t.TempDir(), "latency.yaml")
	if err := os.WriteFile(file, []byte("latency:\n  service: pricing\n  add: 1ms\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	timed := runCLI(t, "fault", "add", "--control", addr, "--for", "200ms", file)
	timed.wantCode(t, exitOK)
	timedID := strings.TrimSuffix(strings.TrimPrefix(timed.stdout, "added fault "), "\n")

	// Problems the server finds come back one a line, exit 2; nothing is
	// added.
	bad := runCLI(t, "fault", "add", "--control", addr, "strip-headers: {from: web, to: nowhere}\nevery: -1s")
	bad.wantCode(t, exitUsage)
	for _, want := range []string{
		"argument:1:32: strip-headers.to: service \"nowhere\" is not defined",
		"argument:2:8: every: must be positive, got -1s",
		"tracerig fault add: the fault was rejected: 2 problems",
	} {
		if !strings.Contains(bad.stderr, want) {
			t.Errorf("fault add of a bad fault: stderr lacks %q:\n%s", want, bad.stderr)
		}
	}
	notFault := runCLI(t, "fault", "add", "--control", addr, "shrug: yes")
	notFault.wantCode(t, exitUsage)
	if !strings.Contains(notFault.stderr, "argument:1:1: ") || strings.Count(notFault.stderr, "\n") < 2 {
		t.Errorf("fault add of an unknown kind: stderr:\n%s", notFault.stderr)
	}
	unknown := runCLI(t, "fault", "clear", "--control", addr, "99")
	unknown.wantCode(t, exitUsage)
	if !strings.Contains(unknown.stderr, "tracerig fault clear: no active fault 99") {
		t.Errorf("fault clear 99: stderr:\n%s", unknown.stderr)
	}

	// Let requests cross the stripped edge, then clear the fault.
	time.Sleep(600 * time.Millisecond)
	clear := runCLI(t, "fault", "clear", "--control", addr, id)
	clear.wantCode(t, exitOK)
	if want := "cleared fault " + id + "\n"; clear.stdout != want {
		t.Errorf("fault clear printed %q, want %q", clear.stdout, want)
	}
	after := runCLI(t, "fault", "list", "--control", addr)
	after.wantCode(t, exitOK)
	if !strings.HasPrefix(after.stdout, "no active faults\n") ||
		!regexp.MustCompile(`(?m)^past windows:\n.*\n`+id+` +strip-headers web -> stock +yes +`).MatchString(after.stdout) {
		t.Errorf("fault list after clearing does not show the fault as a past window:\n%s", after.stdout)
	}

	// A check may fail on the fault's effect (exit 1); the run itself must
	// not have failed.
	if c := wait(); c != exitOK && c != exitCheckFailed {
		t.Fatalf("run exit %d\nstdout:\n%s\nstderr:\n%s", c, stdout.String(), stderr.String())
	}
	t.Logf("run exit %d", code)
	rep := readReport(t, out)
	var live int
	for _, f := range rep.Faults {
		if strconv.Itoa(f.ID) == timedID {
			if d := time.Duration(f.End - f.Start); !f.Live || f.Kind != "latency" || d < 150*time.Millisecond || d > 2*time.Second {
				t.Errorf("report fault window %+v (%s), want a live latency window of about 200ms", f, d)
			}
			continue
		}
		if strconv.Itoa(f.ID) != id {
			t.Errorf("report fault window %+v: not a fault the test added", f)
			continue
		}
		live++
		if !f.Live || f.Kind != "strip-headers" || f.From != "web" || f.To != "stock" || f.Number != 0 {
			t.Errorf("report fault window %+v, want a live strip-headers web -> stock", f)
		}
		if d := time.Duration(f.End - f.Start); d < 500*time.Millisecond || d > 10*time.Second {
			t.Errorf("report fault window lasted %s, want about the 600ms it was active", d)
		}
	}
	if live != 1 || len(rep.Faults) != 2 {
		t.Errorf("report faults %+v, want the live windows of faults %s and %s", rep.Faults, id, timedID)
	}
	var found bool
	for _, v := range rep.Verdicts {
		if v.Check != "propagation" {
			continue
		}
		for _, f := range v.Findings {
			if f.Subject == "web -> stock" {
				found = true
				if !strings.Contains(f.Fault, "live") {
					t.Errorf("finding on web -> stock: fault %q, want it explained by the live fault", f.Fault)
				}
			}
		}
	}
	if !found {
		t.Errorf("no propagation finding on web -> stock:\n%s", stdout.String())
	}
	if !strings.Contains(stdout.String(), "fault live "+id+" strip-headers web -> stock: ") {
		t.Errorf("the verdict table does not list the live fault:\n%s", stdout.String())
	}
}

// TestFaultUnreachable: without a run going, every subcommand exits 3 and
// says which address it tried and that a run must be going with --control.
// The address may come from $TRACERIG_CONTROL.
func TestFaultUnreachable(t *testing.T) {
	for _, args := range [][]string{
		{"add", "--control", "127.0.0.1:1", "strip-headers: {from: web, to: stock}"},
		{"list", "--control", "127.0.0.1:1"},
		{"clear", "--control", "127.0.0.1:1", "3"},
		{"clear", "--control", "http://127.0.0.1:1/"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runCLI(t, append([]string{"fault"}, args...)...)
			r.wantCode(t, exitRuntime)
			for _, want := range []string{"cannot reach the control API at 127.0.0.1:1", "a run must be going with --control 127.0.0.1:1"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
		})
	}
	t.Run("address from the environment", func(t *testing.T) {
		t.Setenv(controlEnv, "127.0.0.1:1")
		r := runCLI(t, "fault", "list")
		r.wantCode(t, exitRuntime)
		if !strings.Contains(r.stderr, "cannot reach the control API at 127.0.0.1:1") {
			t.Errorf("stderr:\n%s", r.stderr)
		}
	})
}

func TestFaultUsageErrors(t *testing.T) {
	t.Setenv(controlEnv, "")
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"no subcommand", nil, "want a subcommand: add, list or clear"},
		{"unknown subcommand", []string{"remove"}, `unknown command "remove"`},
		{"no control address", []string{"list"}, "no control address: pass --control HOST:PORT"},
		{"bad control address", []string{"list", "--control", "7000"}, `--control: "7000" is not HOST:PORT`},
		{"add without a fault", []string{"add", "--control", "127.0.0.1:1"}, "want exactly one fault, got 0"},
		{"add two faults", []string{"add", "--control", "127.0.0.1:1", "a: b", "c: d"}, "want exactly one fault, got 2"},
		{"add a missing file", []string{"add", "--control", "127.0.0.1:1", "testdata/nofault.yaml"}, "testdata/nofault.yaml: no such file"},
		{"zero --for", []string{"add", "--control", "127.0.0.1:1", "--for", "0s", "crash: {service: web}"}, "--for must be positive, got 0s"},
		{"list with arguments", []string{"list", "--control", "127.0.0.1:1", "all"}, "unexpected arguments: all"},
		{"clear a bad id", []string{"clear", "--control", "127.0.0.1:1", "one"}, `fault ID must be a positive number, got "one"`},
		{"clear two ids", []string{"clear", "--control", "127.0.0.1:1", "1", "2"}, "want at most 1 fault ID, got 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, append([]string{"fault"}, tt.args...)...)
			r.wantCode(t, exitUsage)
			if !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty:\n%s", r.stdout)
			}
		})
	}
}

func TestReadFault(t *testing.T) {
	file := filepath.Join(t.TempDir(), "fault.yaml")
	if err := os.WriteFile(file, []byte("crash: {service: web}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		arg, stdin  string
		body, label string
	}{
		{"-", "latency: {service: web, add: 5ms}", "latency: {service: web, add: 5ms}", "stdin"},
		{file, "", "crash: {service: web}\n", file},
		{"strip-headers: {from: a, to: b}", "", "strip-headers: {from: a, to: b}", "argument"},
	}
	for _, tt := range tests {
		body, label, err := readFault(tt.arg, strings.NewReader(tt.stdin))
		if err != nil || string(body) != tt.body || label != tt.label {
			t.Errorf("readFault(%q) = %q, %q, %v; want %q, %q", tt.arg, body, label, err, tt.body, tt.label)
		}
	}
}

// TestWithFor: --for adds or overrides for:, appending a line to a block
// mapping (so the server's line:col still point into the user's text) and
// rewriting anything else.
func TestWithFor(t *testing.T) {
	tests := []struct {
		name, in, want string
		same           bool
	}{
		{"block", "crash:\n  service: web\n", "crash:\n  service: web\nfor: 2s\n", true},
		{"block without a final newline", "crash: {service: web}", "crash: {service: web}\nfor: 2s\n", true},
		{"flow", "{crash: {service: web}}", "{crash: {service: web}, for: 2s}\n", false},
		{"json", `{"crash": {"service": "web"}, "for": "10s"}`, "{\"crash\": {\"service\": \"web\"}, \"for\": 2s}\n", false},
		{"override", "crash: {service: web}\nfor: 10s\n", "crash: {service: web}\nfor: 2s\n", false},
		{"not a mapping", "[1, 2]", "[1, 2]", true},
		{"not yaml", "crash: [", "crash: [", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, same := withFor([]byte(tt.in), 2*time.Second)
			if string(got) != tt.want || same != tt.same {
				t.Errorf("withFor(%q) = %q, %v; want %q, %v", tt.in, got, same, tt.want, tt.same)
			}
		})
	}
}

// TestRunControlAddress: --control listens on loopback unless --allow-remote
// says otherwise; a bad address is a usage error before anything starts.
func TestRunControlAddress(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"not loopback", []string{"--control", "10.0.0.1:0"}, "--control: 10.0.0.1 is not a loopback address; the control API lets anyone who reaches it inject faults, so pass --allow-remote"},
		{"every interface", []string{"--control", "0.0.0.0:0"}, "--control: 0.0.0.0 is not a loopback address"},
		{"a host name", []string{"--control", "example.com:7000"}, "--control: example.com is not a loopback address"},
		{"no port", []string{"--control", "127.0.0.1"}, `--control: "127.0.0.1" is not HOST:PORT`},
		{"bad port", []string{"--control", "127.0.0.1:http-ish"}, `--control: bad port in "127.0.0.1:http-ish"`},
		{"allow-remote alone", []string{"--allow-remote"}, "--allow-remote needs --control, --metrics or --ui"},
		{"control-any alone", []string{"--control-any"}, "--allow-remote needs --control, --metrics or --ui"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			r := runCLI(t, append(append([]string{"run", "--out", out}, tt.args...), "testdata/tiny.yaml")...)
			r.wantCode(t, exitUsage)
			if !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, r.stderr)
			}
			if entries, _ := os.ReadDir(out); len(entries) > 0 {
				t.Errorf("the run wrote %d files before failing", len(entries))
			}
		})
	}

	addrs := []struct {
		in       string
		allowAny bool
		want     string
	}{
		{"127.0.0.1:0", false, "127.0.0.1:0"},
		{"127.0.0.2:7000", false, "127.0.0.2:7000"},
		{"[::1]:0", false, "[::1]:0"},
		{"localhost:0", false, "localhost:0"},
		{":7000", false, "127.0.0.1:7000"},
		{":7000", true, ":7000"},
		{"10.0.0.1:0", true, "10.0.0.1:0"},
	}
	for _, a := range addrs {
		if got, err := controlListenAddr(a.in, a.allowAny); err != nil || got != a.want {
			t.Errorf("controlListenAddr(%q, %v) = %q, %v; want %q", a.in, a.allowAny, got, err, a.want)
		}
	}
	for in, want := range map[string]string{"0.0.0.0:7000": "127.0.0.1:7000", "[::]:7000": "127.0.0.1:7000", "127.0.0.1:7000": "127.0.0.1:7000", "10.1.2.3:7000": "10.1.2.3:7000"} {
		if got := clientAddr(in); got != want {
			t.Errorf("clientAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRunControlPortTaken: a --control address in use is a runtime failure
// (exit 3) that names it, and no load is sent.
func TestRunControlPortTaken(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	r := runCLI(t, "run", "--quiet", "--out", t.TempDir(), "--control", lis.Addr().String(), "testdata/tiny.yaml")
	r.wantCode(t, exitRuntime)
	if want := "listen for the control API on " + lis.Addr().String(); !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
}
