package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/fixtures/embedded"
)

// The run tests use the small scenarios in testdata: a second of load at
// most, so that the package stays fast under -race on two cores.

func TestRunPasses(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	r := runCLI(t, "run", "--quiet", "--out", out, "testdata/tiny.yaml")
	r.wantCode(t, exitOK)
	if !strings.HasSuffix(r.stdout, "\nPASS\n") {
		t.Errorf("stdout does not end in PASS:\n%s", r.stdout)
	}
	if want := "report written to " + out + "/report.json"; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
	rep := readReport(t, out)
	if !rep.Passed || rep.Interrupted {
		t.Errorf("report: passed %v, interrupted %v; want passed, not interrupted", rep.Passed, rep.Interrupted)
	}
	if rep.Scenario != "tiny" || rep.Seed != 3 || rep.Backend.Type != "embedded" || !rep.Backend.ReadBack {
		t.Errorf("report: scenario %q seed %d backend %+v", rep.Scenario, rep.Seed, rep.Backend)
	}
	checks := map[string]assert.Status{}
	for _, v := range rep.Verdicts {
		checks[v.Check] = v.Status
	}
	// The load verdict may warn that a busy machine fell short of the rate.
	want := map[string]assert.Status{"propagation": assert.StatusPass, "completeness": assert.StatusPass, "load": assert.StatusPass}
	if len(checks) != len(want) || checks["propagation"] != want["propagation"] || checks["completeness"] != want["completeness"] ||
		checks["load"] != assert.StatusPass && checks["load"] != assert.StatusWarn {
		t.Errorf("verdicts %v, want %v", checks, want)
	}
	if len(rep.Load) != 1 || rep.Load[0].Requests < 50 {
		t.Fatalf("load %+v, want about 100 requests", rep.Load)
	}
	// A request is five spans: the web server span, its two client spans,
	// and the stock and pricing server spans.
	if n := rep.Ledger.SpansEnded; uint64(n) != 5*rep.Load[0].Requests || rep.BackendSpans != n {
		t.Errorf("ledger saw %d spans end for %d requests, backend returned %d", n, rep.Load[0].Requests, rep.BackendSpans)
	}
	if _, err := os.Stat(filepath.Join(out, "results.bin")); err != nil {
		t.Errorf("no load results: %v", err)
	}
}

func TestRunProgress(t *testing.T) {
	t.Parallel()
	r := runCLI(t, "run", "--out", t.TempDir(), "testdata/counted.yaml")
	r.wantCode(t, exitOK)
	for _, want := range []string{"load ", "settling ", "100%"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("no %q progress on stderr without --quiet:\n%q", want, r.stderr)
		}
	}
	if strings.Contains(r.stdout, "\r") {
		t.Errorf("progress line on stdout:\n%q", r.stdout)
	}
	// Not a terminal: plain lines, no \r frames.
	if strings.Contains(r.stderr, "\r") {
		t.Errorf("\\r frames on a stderr that is not a terminal:\n%q", r.stderr)
	}
}

func TestRunBrokenEdge(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	r := runCLI(t, "run", "--quiet", "--out", out, "testdata/broken.yaml")
	r.wantCode(t, exitCheckFailed)
	for _, want := range []string{"FAIL     propagation", "propagation findings:", "legacy-proxy -> inventory", "\nFAIL\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "storefront -> legacy-proxy:") {
		t.Errorf("the intact edge storefront -> legacy-proxy is reported broken:\n%s", r.stdout)
	}
	rep := readReport(t, out)
	if rep.Passed {
		t.Error("report says passed")
	}
	var subjects []string
	for _, v := range rep.Verdicts {
		if v.Check != "propagation" {
			continue
		}
		if v.Status != assert.StatusFail {
			t.Errorf("propagation %s, want fail", v.Status)
		}
		for _, f := range v.Findings {
			subjects = append(subjects, f.Subject)
		}
	}
	found := false
	for _, s := range subjects {
		found = found || s == "legacy-proxy -> inventory"
	}
	if !found {
		t.Errorf("propagation findings on %q, want one on legacy-proxy -> inventory", subjects)
	}
}

// TestRunConfigErrors checks that run reports every problem of a bad
// scenario, the same lines validate prints.
func TestRunConfigErrors(t *testing.T) {
	out := t.TempDir()
	r := runCLI(t, "run", "--out", out, "testdata/bad-scenario.bad.yaml")
	r.wantCode(t, exitUsage)
	v := runCLI(t, "validate", "testdata/bad-scenario.bad.yaml")
	lines := strings.Split(strings.TrimSpace(v.stdout), "\n")
	if len(lines) < 5 {
		t.Fatalf("validate found %d problems, want at least 5:\n%s", len(lines), v.stdout)
	}
	want := "tracerig run: " + strconv.Itoa(len(lines)) + " problems:\n" + strings.Join(lines, "\n") + "\n"
	if r.stderr != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", r.stderr, want)
	}
	if _, err := os.Stat(filepath.Join(out, "report.json")); !os.IsNotExist(err) {
		t.Errorf("a report was written for a scenario that does not load: %v", err)
	}
}

func TestRunUsageErrors(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"no file", nil, "want exactly one scenario file, got 0"},
		{"two files", []string{"testdata/tiny.yaml", "testdata/broken.yaml"}, "want exactly one scenario file, got 2"},
		{"missing file", []string{"testdata/missing.yaml"}, "testdata/missing.yaml: cannot read scenario: no such file or directory"},
		{"unparsable rate", []string{"--rate", "fast", "testdata/tiny.yaml"}, `--rate: unparsable rate "fast"`},
		{"rate with a bad period", []string{"--rate", "5/fortnight", "testdata/tiny.yaml"}, `--rate: unparsable rate "5/fortnight"`},
		{"negative rate", []string{"--rate", "-5/s", "testdata/tiny.yaml"}, "--rate must not be negative, got -5/s"},
		{"unparsable duration", []string{"--duration", "soon", "testdata/tiny.yaml"}, `invalid argument "soon" for "--duration" flag`},
		{"zero duration", []string{"--duration", "0s", "testdata/tiny.yaml"}, "--duration must be positive, got 0s"},
		{"negative duration", []string{"--duration", "-1s", "testdata/tiny.yaml"}, "--duration must be positive, got -1s"},
		{"bad seed", []string{"--seed", "-1", "testdata/tiny.yaml"}, `invalid argument "-1" for "--seed" flag`},
		{"unknown flag", []string{"--fast", "testdata/tiny.yaml"}, "unknown flag: --fast"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			r := runCLI(t, append([]string{"run", "--out", out}, tt.args...)...)
			r.wantCode(t, exitUsage)
			if !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty:\n%s", r.stdout)
			}
			if entries, _ := os.ReadDir(out); len(entries) > 0 {
				t.Errorf("the run wrote %d files before failing", len(entries))
			}
		})
	}
}

// TestRunOverrides checks that --seed, --duration and --rate reach the run,
// as report.json shows. testdata/counted.yaml sends 10 requests at 50/s
// with seed 5.
func TestRunOverrides(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		args           []string
		seed           uint64
		minReq, maxReq uint64
		rate           float64
	}{
		// --duration replaces the request count: 30/s for 1s.
		{"seed duration rate", []string{"--seed", "99", "--duration", "1s", "--rate", "30/s"}, 99, 25, 31, 30},
		// --rate 0 keeps the count and goes as fast as the workers go.
		{"rate 0", []string{"--rate", "0"}, 5, 10, 10, 0},
		{"per 100ms", []string{"--rate", "5/100ms", "--seed", "0"}, 0, 10, 10, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			args := append([]string{"run", "--quiet", "--out", out}, tt.args...)
			r := runCLI(t, append(args, "testdata/counted.yaml")...)
			r.wantCode(t, exitOK)
			rep := readReport(t, out)
			if rep.Seed != tt.seed {
				t.Errorf("seed %d, want %d", rep.Seed, tt.seed)
			}
			if want := "seed " + strconv.FormatUint(tt.seed, 10) + ","; !strings.Contains(r.stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
			}
			if len(rep.Load) != 1 {
				t.Fatalf("%d load reports, want 1", len(rep.Load))
			}
			l := rep.Load[0]
			if l.Requests < tt.minReq || l.Requests > tt.maxReq {
				t.Errorf("%d requests, want %d..%d", l.Requests, tt.minReq, tt.maxReq)
			}
			if l.RequestedRate != tt.rate {
				t.Errorf("requested_rate %v, want %v", l.RequestedRate, tt.rate)
			}
			if !rep.Passed {
				t.Errorf("report not passed:\n%s", r.stdout)
			}
		})
	}
}

// TestRunOTLPEndpoint exports to a backend the test runs: the run cannot
// read back, so its checks are not run, but the spans arrive there.
func TestRunOTLPEndpoint(t *testing.T) {
	t.Parallel()
	b := startBackend(t)
	out := t.TempDir()
	r := runCLI(t, "run", "--quiet", "--out", out, "--otlp-endpoint", b.GRPCAddr(), "testdata/counted.yaml")
	r.wantCode(t, exitOK)
	rep := readReport(t, out)
	if rep.Backend.Type != "otlp" || rep.Backend.Endpoint != b.GRPCAddr() || rep.Backend.ReadBack {
		t.Errorf("report backend %+v, want otlp at %s without read-back", rep.Backend, b.GRPCAddr())
	}
	// Completeness needs read-back and does not run; propagation checks
	// what the ledger alone shows and says so.
	verdicts := map[string]assert.Verdict{}
	for _, v := range rep.Verdicts {
		verdicts[v.Check] = v
	}
	if len(verdicts) != 3 || verdicts["load"].Status == assert.StatusFail || verdicts["load"].Status == assert.StatusNotRun {
		t.Fatalf("verdicts %+v, want propagation, completeness and load", rep.Verdicts)
	}
	if v := verdicts["completeness"]; v.Status != assert.StatusNotRun || !strings.Contains(v.Reason, b.GRPCAddr()) {
		t.Errorf("completeness: status %s, reason %q; want not-run with a reason naming %s", v.Status, v.Reason, b.GRPCAddr())
	}
	if v := verdicts["propagation"]; v.Status != assert.StatusPass || !strings.Contains(v.Measured, "ledger only") || !strings.Contains(v.Measured, b.GRPCAddr()) {
		t.Errorf("propagation: status %s, measured %q; want a pass on the ledger only, naming %s", v.Status, v.Measured, b.GRPCAddr())
	}
	if !rep.Passed || !strings.Contains(r.stdout, "NOT-RUN") || !strings.Contains(r.stdout, "cannot read back") {
		t.Errorf("passed %v; stdout:\n%s", rep.Passed, r.stdout)
	}
	// Shutdown flushed every provider before the run returned.
	if got, want := b.Stats().Spans, int64(rep.Ledger.SpansExported); got == 0 || got != want {
		t.Errorf("backend holds %d spans, the run exported %d", got, want)
	}
	if got := b.Services(); strings.Join(got, ",") != "pricing,stock,web" {
		t.Errorf("backend services %q, want pricing, stock, web", got)
	}
}

func TestRunOTLPEndpointUnreachable(t *testing.T) {
	t.Parallel()
	r := runCLI(t, "run", "--quiet", "--out", t.TempDir(), "--otlp-endpoint", "127.0.0.1:1", "testdata/counted.yaml")
	r.wantCode(t, exitRuntime)
	if want := "tracerig run: otlp backend at 127.0.0.1:1 is unreachable"; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
}

// TestRunInterrupted cancels a run of an hour once load flows: the run
// stops, writes a partial report marked interrupted, exits 130 and leaves
// no goroutine behind.
func TestRunInterrupted(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	start := time.Now()
	go func() { done <- run(ctx, []string{"run", "--out", out, "testdata/long.yaml"}, &stdout, &stderr) }()

	waitFor(t, 30*time.Second, "load to start", func() bool { return strings.Contains(stderr.String(), "load ") })
	time.Sleep(max(0, 1500*time.Millisecond-time.Since(start)))
	cancel()
	cancelled := time.Now()
	var code int
	select {
	case code = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return within 20s of cancellation")
	}
	t.Logf("returned %s after cancellation", time.Since(cancelled).Round(time.Millisecond))
	if code != exitInterrupted {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitInterrupted, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "INTERRUPTED") {
		t.Errorf("stdout does not say INTERRUPTED:\n%s", stdout.String())
	}
	rep := readReport(t, out)
	if !rep.Interrupted || rep.Passed {
		t.Errorf("report: interrupted %v, passed %v; want interrupted, not passed", rep.Interrupted, rep.Passed)
	}
	if len(rep.Load) != 1 || rep.Load[0].Requests == 0 {
		t.Errorf("load %+v, want the requests sent before the interrupt", rep.Load)
	}
}

// TestRunCancelledBeforeStart: an interrupt that comes before load starts
// is an interrupt (130), not a runtime failure, even when it makes the
// start fail (here: the probe of the --otlp-endpoint backend).
func TestRunCancelledBeforeStart(t *testing.T) {
	t.Parallel()
	b := startBackend(t)
	tests := []struct {
		name string
		args []string
	}{
		{"embedded backend", nil},
		{"otlp endpoint", []string{"--otlp-endpoint", b.GRPCAddr()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			args := append([]string{"run", "--quiet", "--out", t.TempDir()}, tt.args...)
			r := runCLIContext(t, ctx, append(args, "testdata/tiny.yaml")...)
			r.wantCode(t, exitInterrupted)
			if strings.Contains(r.stderr, "unreachable") {
				t.Errorf("an interrupt reported as an unreachable backend:\n%s", r.stderr)
			}
			if r.code == exitInterrupted && r.stdout == "" && !strings.Contains(r.stderr, "tracerig run: interrupted while starting the run") {
				t.Errorf("stderr does not say the start was interrupted:\n%s", r.stderr)
			}
		})
	}
}

// startBackend starts an embedded backend on free loopback ports and shuts
// it down at cleanup.
func startBackend(t *testing.T) *embedded.Backend {
	t.Helper()
	b := embedded.New()
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.Shutdown(ctx); err != nil {
			t.Errorf("shut down backend: %v", err)
		}
	})
	return b
}

// TestRunNodeDoesNotComeUp: a command node that exits at once stops the
// run with exit 3 and one error naming it, its exit status and its last
// lines; an unset variable in its env is a config error (exit 2); the
// secret its env names appears nowhere.
func TestRunNodeDoesNotComeUp(t *testing.T) {
	t.Setenv("SECRET_TOKEN", "hunter2-secret")
	out := t.TempDir()
	r := runCLI(t, "run", "--quiet", "--out", out, "testdata/command-node.yaml")
	r.wantCode(t, exitRuntime)
	for _, want := range []string{"tracerig run: start checkout: exited at once (exit status 4)", "\tlisten: bad address"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if log, err := os.ReadFile(filepath.Join(out, "logs", "checkout.log")); err != nil || !strings.Contains(string(log), "starting") {
		t.Errorf("logs/checkout.log: %q, %v", log, err)
	}
	if strings.Contains(r.stderr+r.stdout, "hunter2-secret") {
		t.Errorf("the secret reached the output:\n%s", r.stderr)
	}
	t.Setenv("SECRET_TOKEN", "")
	r = runCLI(t, "run", "--quiet", "--out", t.TempDir(), "testdata/command-node.yaml")
	r.wantCode(t, exitUsage)
	if want := "services.checkout.env.API_TOKEN: environment variable SECRET_TOKEN is not set"; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
}
