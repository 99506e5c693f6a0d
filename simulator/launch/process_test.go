//go:build unix

package launch

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tracerig/tracerig/topology"
)

// secret is an env value that must appear in no error.
const secret = "s3cr3t-value-never-shown"

// nodeProcess returns a Process running testdata/node with args, {port}
// replaced as for a topology's command, on a free port, with its log in a
// temporary directory and a 5s wait.
func nodeProcess(t *testing.T, name string, args ...string) Process {
	t.Helper()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	l := &topology.Launch{Command: append([]string{testNode(t)}, args...)}
	return Process{
		Name:    name,
		Argv:    Args(l, port),
		Env:     []string{"TRACERIG_TEST_SECRET=" + secret},
		Port:    port,
		Wait:    topology.Wait{Timeout: 5 * time.Second},
		LogPath: filepath.Join(t.TempDir(), "logs", name+".log"),
	}
}

// mustStart starts p and stops it when the test ends.
func mustStart(t *testing.T, p Process) *Node {
	t.Helper()
	n, err := StartProcess(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return n
}

// pids returns the node's and its child's pids from its output ("pid N",
// "child pid M").
func pids(t *testing.T, lines []string) []int {
	t.Helper()
	var out []int
	for _, l := range lines {
		for _, prefix := range []string{"pid ", "child pid "} {
			if s, ok := strings.CutPrefix(l, prefix); ok {
				if pid, err := strconv.Atoi(s); err == nil {
					out = append(out, pid)
				}
			}
		}
	}
	return out
}

// requireGone fails the test unless every pid in the output is gone.
func requireGone(t *testing.T, lines []string, want int) {
	t.Helper()
	ps := pids(t, lines)
	if len(ps) != want {
		t.Fatalf("want %d pids in the output, got %v in %q", want, ps, lines)
	}
	for _, pid := range ps {
		if alive(pid) {
			t.Errorf("process %d still runs", pid)
		}
	}
}

func get(t *testing.T, url string) int {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestStartProcessWaits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		wait topology.Wait
		// check runs once the node is ready.
		check func(t *testing.T, n *Node)
	}{
		{
			name: "service port by default",
			args: []string{"-listen", "127.0.0.1:{port}", "-listen-after", "300ms"},
			check: func(t *testing.T, n *Node) {
				if code := get(t, "http://"+n.Addr()+"/healthz"); code != http.StatusOK {
					t.Errorf("GET /healthz: %d", code)
				}
			},
		},
		{
			name: "http",
			args: []string{"-listen", "127.0.0.1:{port}", "-unhealthy-for", "400ms"},
			wait: topology.Wait{HTTP: "/healthz"},
			check: func(t *testing.T, n *Node) {
				if code := get(t, "http://"+n.Addr()+"/healthz"); code != http.StatusOK {
					t.Errorf("ready while GET /healthz answers %d", code)
				}
			},
		},
		{
			name: "port",
			args: []string{"-listen", "127.0.0.1:{port}", "-listen-after", "300ms"},
			wait: topology.Wait{Port: -1}, // the service port, set below
		},
		{
			name: "log split across writes",
			args: []string{"-ready", "ready to serve", "-split"},
			wait: topology.Wait{Log: "ready to serve"},
			check: func(t *testing.T, n *Node) {
				b, _ := os.ReadFile(n.LogPath())
				if !strings.Contains(string(b), "ready to serve") {
					t.Errorf("ready before the text was written: %q", b)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := nodeProcess(t, "checkout", tt.args...)
			w := tt.wait
			if w.Port == -1 {
				w.Port = p.Port
			}
			w.Timeout = 5 * time.Second
			p.Wait = w
			n := mustStart(t, p)
			if want := "127.0.0.1:" + strconv.Itoa(p.Port); n.Addr() != want {
				t.Errorf("Addr() = %q, want %q", n.Addr(), want)
			}
			if tt.check != nil {
				tt.check(t, n)
			}
			select {
			case <-n.Exited():
				t.Fatalf("exited: %v", n.ExitErr())
			default:
			}
		})
	}
}

// TestStartProcessEnv: the node gets tracerig's environment and its own,
// a later value of a name winning.
func TestStartProcessEnv(t *testing.T) {
	p := nodeProcess(t, "checkout", "-print-env", "-echo", "TRACERIG_TEST_VAR", "-ready", "env printed")
	p.Env = append(p.Env, "TRACERIG_TEST_VAR=first", "TRACERIG_TEST_VAR=second")
	p.Wait.Log = "env printed"
	t.Setenv("TRACERIG_TEST_INHERITED", "1")
	n := mustStart(t, p)
	out := strings.Join(LastLines(n.LogPath(), 200), "\n")
	for _, want := range []string{"env TRACERIG_TEST_SECRET", "env TRACERIG_TEST_INHERITED", "env PATH", "TRACERIG_TEST_VAR=second"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestStartProcessFails(t *testing.T) {
	t.Parallel()
	notExec := filepath.Join(t.TempDir(), "not-executable")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []failure{
		{
			name:  "exits at once",
			args:  []string{"-exit", "3"},
			cause: "exited at once (exit status 3)",
			lines: []string{"failing on purpose with code 3"},
			gone:  1,
		},
		{
			name:   "never ready",
			args:   []string{"-child"},
			wait:   topology.Wait{HTTP: "/healthz", Timeout: time.Second},
			cause:  "not ready after 1s (waiting for http GET /healthz; last attempt: ",
			gone:   2,
			within: 3 * time.Second,
		},
		{
			name:   "never ready and ignores SIGTERM",
			args:   []string{"-child", "-ignore-term"},
			wait:   topology.Wait{Log: "never printed", Timeout: time.Second},
			cause:  `not ready after 1s (waiting for "never printed" in its output)`,
			gone:   2,
			within: 3 * time.Second, // 1s, then the 300ms grace
		},
		{
			name:  "program not found",
			argv:  []string{"./no-such-program"},
			cause: "program ./no-such-program not found: no such file or directory",
			is:    fs.ErrNotExist,
		},
		{
			name:  "program not in PATH",
			argv:  []string{"tracerig-no-such-program"},
			cause: "program tracerig-no-such-program: executable file not found in $PATH",
			is:    exec.ErrNotFound,
		},
		{
			name:  "program not executable",
			argv:  []string{notExec},
			cause: "program " + notExec + " is not executable: permission denied",
			is:    fs.ErrPermission,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := nodeProcess(t, "checkout", tt.args...)
			if tt.argv != nil {
				p.Argv = tt.argv
			}
			if tt.wait.Timeout != 0 {
				p.Wait = tt.wait
			}
			p.Grace = 300 * time.Millisecond
			began := time.Now()
			n, err := StartProcess(t.Context(), p)
			if n != nil {
				n.Stop(context.Background())
				t.Fatal("started")
			}
			tt.check(t, p, err, time.Since(began))
		})
	}
}

// failure is a node that does not come up, and how StartProcess says so.
type failure struct {
	name   string
	args   []string
	argv   []string // replaces the program and args when set
	wait   topology.Wait
	cause  string   // in the StartError's cause
	is     error    // errors.Is the error, when set
	lines  []string // in its last lines
	gone   int      // pids in the output, each gone
	within time.Duration
}

// check checks the error StartProcess returned for p after took.
func (tt failure) check(t *testing.T, p Process, err error, took time.Duration) {
	t.Helper()
	var se *StartError
	if !errors.As(err, &se) {
		t.Fatalf("want a *StartError, got %T: %v", err, err)
	}
	if tt.within != 0 && took > tt.within {
		t.Errorf("took %s, want at most %s", took, tt.within)
	}
	msg := err.Error()
	if se.Node != "checkout" || se.Log != p.LogPath || !strings.HasPrefix(msg, "start checkout: ") {
		t.Errorf("node %q, log %q, message %q", se.Node, se.Log, msg)
	}
	if !strings.Contains(se.Cause.Error(), tt.cause) {
		t.Errorf("cause %q, want %q in it", se.Cause, tt.cause)
	}
	if tt.is != nil && !errors.Is(err, tt.is) {
		t.Errorf("%v is not %v", err, tt.is)
	}
	for _, l := range tt.lines {
		if !strings.Contains(strings.Join(se.Lines, "\n"), l) || !strings.Contains(msg, "\n\t"+l) {
			t.Errorf("want line %q in the error:\n%s", l, msg)
		}
	}
	if strings.Contains(msg, secret) {
		t.Errorf("the error shows an env value: %s", msg)
	}
	if tt.gone > 0 {
		requireGone(t, se.Lines, tt.gone)
	}
}

// TestStartProcessCancelled: a wait that ctx ends stops the node and
// returns ctx's error.
func TestStartProcessCancelled(t *testing.T) {
	t.Parallel()
	p := nodeProcess(t, "checkout", "-child")
	p.Wait = topology.Wait{HTTP: "/healthz", Timeout: 20 * time.Second}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan struct{})
	go func() { // cancel once the child runs, mid-wait
		defer close(done)
		for !strings.Contains(strings.Join(LastLines(p.LogPath, 20), "\n"), "running") {
			select {
			case <-ctx.Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
		time.Sleep(100 * time.Millisecond)
		cancel()
	}()
	began := time.Now()
	n, err := StartProcess(ctx, p)
	<-done
	if n != nil {
		n.Stop(context.Background())
	}
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "start checkout: ") {
		t.Fatalf("want start checkout: context canceled, got %v", err)
	}
	if d := time.Since(began); d > 3*time.Second {
		t.Errorf("returned after %s", d)
	}
	requireGone(t, LastLines(p.LogPath, 20), 2)
}

// TestStop: SIGTERM ends a node and its child; one that ignores it is
// killed after its grace period, or when Stop's ctx ends first.
func TestStop(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		grace      time.Duration
		ctxTimeout time.Duration
		min, max   time.Duration // how long Stop takes
		signal     string        // how the process ended
	}{
		{name: "SIGTERM", args: []string{"-child"}, grace: 10 * time.Second, max: 2 * time.Second, signal: "signal: terminated"},
		{name: "SIGKILL after grace", args: []string{"-child", "-ignore-term"}, grace: 400 * time.Millisecond, min: 400 * time.Millisecond, max: 3 * time.Second, signal: "signal: killed"},
		{name: "SIGKILL when ctx ends", args: []string{"-child", "-ignore-term"}, grace: time.Minute, ctxTimeout: 300 * time.Millisecond, min: 300 * time.Millisecond, max: 3 * time.Second, signal: "signal: killed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := nodeProcess(t, "checkout", append(tt.args, "-ready", "started child")...)
			p.Wait.Log = "started child"
			p.Grace = tt.grace
			n := mustStart(t, p)
			ctx := context.Background()
			if tt.ctxTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctxTimeout)
				defer cancel()
			}
			began := time.Now()
			var wg sync.WaitGroup
			errs := make([]error, 3)
			for i := range errs { // concurrent Stops all wait for the end
				wg.Go(func() { errs[i] = n.Stop(ctx) })
			}
			wg.Wait()
			took := time.Since(began)
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			if took < tt.min || took > tt.max {
				t.Errorf("Stop took %s, want between %s and %s", took, tt.min, tt.max)
			}
			if got := n.ExitErr(); got == nil || got.Error() != tt.signal {
				t.Errorf("ended by %v, want %s", got, tt.signal)
			}
			requireGone(t, LastLines(p.LogPath, 20), 2)
			again := time.Now()
			if err := n.Stop(context.Background()); err != nil || time.Since(again) > 100*time.Millisecond {
				t.Errorf("Stop again: %v after %s", err, time.Since(again))
			}
		})
	}
}

// TestExited: a node that dies during the run closes Exited.
func TestExited(t *testing.T) {
	t.Parallel()
	n := mustStart(t, nodeProcess(t, "checkout", "-listen", "127.0.0.1:{port}"))
	if err := n.ExitErr(); err != nil {
		t.Fatalf("ExitErr before the end: %v", err)
	}
	if err := syscall.Kill(n.pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-n.Exited():
	case <-time.After(5 * time.Second):
		t.Fatal("Exited not closed")
	}
	if err := n.ExitErr(); err == nil || err.Error() != "signal: killed" {
		t.Errorf("ExitErr = %v", err)
	}
}

func TestStartProcessChecks(t *testing.T) {
	ok := Process{Name: "checkout", Argv: []string{"x"}, Port: 8080, LogPath: "x.log"}
	tests := []struct {
		name string
		edit func(*Process)
		want string
	}{
		{"no name", func(p *Process) { p.Name = "" }, "start a process: no service name"},
		{"no program", func(p *Process) { p.Argv = nil }, "start checkout: no program"},
		{"no log", func(p *Process) { p.LogPath = "" }, "start checkout: no log file"},
		{"no port", func(p *Process) { p.Port = 0 }, "start checkout: port must be between 1 and 65535, got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.edit(&p)
			if _, err := StartProcess(t.Context(), p); err == nil || err.Error() != tt.want {
				t.Errorf("got %v, want %s", err, tt.want)
			}
		})
	}
}
