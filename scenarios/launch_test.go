package scenarios

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/simulator/containers"
	"github.com/tracerig/tracerig/simulator/launch"
	"github.com/tracerig/tracerig/topology"
)

// launchScenario is frontend (simulated) -> checkout (a service of the
// team's, started by tracerig as the YAML in node says) -> inventory
// (simulated).
const launchScenario = `name: launched
topology:
  name: launched
  services:
    frontend:
      routes:
        GET /shop:
          calls:
            - checkout: GET /reserve
    checkout:
%s
      routes:
        GET /reserve:
      calls:
        - {service: inventory, route: GET /stock}
    inventory:
      routes:
        GET /stock:
          latency: 1ms
runtime: %s
seed: 7
settle: 5s
load:
  - route: frontend GET /shop
    rate: 40/s
    duration: 2s
expect:
  - propagation: {connected: true}
`

// runLaunched runs the launch scenario with checkout as node says, in
// runtime rt, and returns its report, or the error of a run that could
// not start.
func runLaunched(t *testing.T, node string, rt topology.Runtime) (*report.Report, string, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "launched.yaml")
	if err := os.WriteFile(file, fmt.Appendf(nil, launchScenario, node, rt), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := topology.LoadScenario(file)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, sc, Options{OutDir: out})
	return rep, out, err
}

var (
	svcOnce sync.Once
	svcBin  string
	svcErr  error
)

// teamService builds the team-like instrumented service
// (testdata/external/svc), static, once per test binary.
func teamService(t *testing.T) string {
	t.Helper()
	svcOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tracerig-svc-")
		if err != nil {
			svcErr = err
			return
		}
		svcBin = filepath.Join(dir, "svc")
		cmd := exec.Command("go", "build", "-o", svcBin, "./testdata/external/svc")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			svcErr = fmt.Errorf("build the team's service: %w\n%s", err, out)
		}
	})
	if svcErr != nil {
		t.Fatal(svcErr)
	}
	return svcBin
}

// commandNode is the YAML of checkout as a command node running the
// team's service, with extra env lines.
func commandNode(bin string, env ...string) string {
	return fmt.Sprintf(`      command: [%q]
      env:
        EXT_LISTEN: "127.0.0.1:{port}"
        EXT_READY: "checkout ready"
%s
      wait: {log: "checkout ready", timeout: 20s}
      calls-env: {inventory: INVENTORY_URL}`, bin, envLines(env))
}

func envLines(env []string) string {
	var b strings.Builder
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		fmt.Fprintf(&b, "        %s: %q\n", k, v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// TestCommandNode runs the team's service as a command node between two
// simulated ones: every trace is kept through it and connected in the
// backend, and its output is kept beside the report. Configured with B3
// only, the run fails, saying checkout sends a format inventory does not
// read.
func TestCommandNode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the team's service")
	}
	bin := teamService(t)
	t.Run("kept", func(t *testing.T) {
		rep, out, err := runLaunched(t, commandNode(bin), topology.RuntimeInProcess)
		if err != nil {
			t.Fatal(err)
		}
		requireKept(t, rep)
		log, err := os.ReadFile(filepath.Join(out, "logs", "checkout.log"))
		if err != nil || !strings.Contains(string(log), "checkout ready") {
			t.Errorf("logs/checkout.log: %q, %v", log, err)
		}
	})
	t.Run("containers", func(t *testing.T) {
		// The simulated services in containers reach checkout, on this
		// machine, through the relay; it reaches them at their published
		// ports.
		requireDocker(t)
		rep, _, err := runLaunched(t, commandNode(bin), topology.RuntimeContainers)
		if err != nil {
			t.Fatal(err)
		}
		requireKept(t, rep)
	})
	t.Run("b3 only", func(t *testing.T) {
		rep, _, err := runLaunched(t, commandNode(bin, "OTEL_PROPAGATORS=b3"), topology.RuntimeInProcess)
		if err != nil {
			t.Fatal(err)
		}
		v := verdict(t, rep, "propagation")
		if v.Status != assert.StatusFail {
			t.Fatalf("propagation %s with checkout on b3 only: %s", v.Status, v.Observed)
		}
		if !hasFinding(v, "checkout -> inventory", "sent the trace as b3 only, a format inventory does not read") {
			t.Errorf("no finding says checkout sends b3 only: %+v", v.Findings)
		}
		if !hasFinding(v, "frontend -> checkout", "checkout sends the trace as b3 only (seen at inventory), so it likely reads only that format too, not the traceparent frontend sends") {
			t.Errorf("no finding on frontend -> checkout explains the format: %+v", v.Findings)
		}
	})
}

// requireKept requires a run whose propagation passed with every request
// kept and connected through checkout.
func requireKept(t *testing.T, rep *report.Report) {
	t.Helper()
	v := verdict(t, rep, "propagation")
	if v.Status != assert.StatusPass {
		t.Fatalf("propagation %s: %s\n%+v", v.Status, v.Observed, v.Findings)
	}
	if rep.Ledger.Requests < 40 || v.Stats["external_kept"] < float64(rep.Ledger.Requests)*0.95 ||
		v.Stats["external_restarted"]+v.Stats["external_dropped"]+v.Stats["external_malformed"] != 0 {
		t.Errorf("want every one of %d requests kept through checkout, stats %v", rep.Ledger.Requests, v.Stats)
	}
}

func hasFinding(v assert.Verdict, subject, message string) bool {
	for _, f := range v.Findings {
		if f.Subject == subject && strings.Contains(f.Message, message) {
			return true
		}
	}
	return false
}

// TestPythonCommandNode: a service in another language, Python's standard
// library forwarding traceparent by hand, keeps every trace; the variant
// that drops it fails on the edge out of it.
func TestPythonCommandNode(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("TRACERIG_REQUIRE_PYTHON") == "1" {
			t.Fatalf("TRACERIG_REQUIRE_PYTHON=1: %v", err)
		}
		t.Skip("no python3 here:", err)
	}
	script, err := filepath.Abs("../simulator/launch/testdata/forward.py")
	if err != nil {
		t.Fatal(err)
	}
	node := func(extra string) string {
		return fmt.Sprintf(`      command: [%q, %q, --port, "{port}"%s]
      wait: {http: /healthz, timeout: 20s}
      calls-env: {inventory: INVENTORY_URL}`, py, script, extra)
	}
	t.Run("forwards", func(t *testing.T) {
		rep, _, err := runLaunched(t, node(""), topology.RuntimeInProcess)
		if err != nil {
			t.Fatal(err)
		}
		requireKept(t, rep)
	})
	t.Run("drops", func(t *testing.T) {
		rep, _, err := runLaunched(t, node(", --drop"), topology.RuntimeInProcess)
		if err != nil {
			t.Fatal(err)
		}
		v := verdict(t, rep, "propagation")
		if v.Status != assert.StatusFail || !hasFinding(v, "checkout -> inventory", "dropped the trace headers") {
			t.Errorf("propagation %s, want the drop found on checkout -> inventory: %+v", v.Status, v.Findings)
		}
	})
}

// TestImageNode runs the team's service from a FROM scratch image, in
// process (its port published on 127.0.0.1, its calls and spans through
// the relay) and in the containers runtime (on the run's network): every
// trace is kept through it; nothing is left running.
func TestImageNode(t *testing.T) {
	requireDocker(t)
	bin := teamService(t)
	b := make([]byte, 4)
	rand.Read(b)
	tag := "tracerig-test/checkout:" + hex.EncodeToString(b)
	if err := containers.BuildBinaryImage(t.Context(), tag, bin); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { containers.RemoveImage(context.Background(), tag) })
	node := fmt.Sprintf(`      image: %s
      ports: {http: 8080}
      env: {EXT_LISTEN: ":8080", EXT_READY: "checkout ready"}
      wait: {http: /healthz, timeout: 30s}
      calls-env: {inventory: INVENTORY_URL}`, tag)
	for _, rt := range []topology.Runtime{topology.RuntimeInProcess, topology.RuntimeContainers} {
		t.Run(string(rt), func(t *testing.T) {
			rep, out, err := runLaunched(t, node, rt)
			if err != nil {
				t.Fatal(err)
			}
			requireKept(t, rep)
			if log, err := os.ReadFile(filepath.Join(out, "logs", "checkout.log")); err != nil || !strings.Contains(string(log), "checkout ready") {
				t.Errorf("logs/checkout.log: %q, %v", log, err)
			}
		})
	}
}

// TestNodeThatDoesNotComeUp: a node whose image does not exist, whose
// command exits at once, or that never becomes ready stops the run before
// any load with one error naming the node, the cause and its last lines.
func TestNodeThatDoesNotComeUp(t *testing.T) {
	bin := teamService(t)
	cases := []struct {
		name, node string
		docker     bool
		want       []string
	}{
		{"exits at once", fmt.Sprintf(`      command: [%q]
      env: {EXT_LISTEN: "nonsense:{port}"}`, bin), false,
			[]string{"start checkout", "exited at once", "nonsense"}},
		{"never ready", fmt.Sprintf(`      command: [%q]
      env: {EXT_LISTEN: "127.0.0.1:{port}"}
      wait: {http: /never, timeout: 2s}`, bin), false, []string{"start checkout", "not ready after 2s", "/never"}},
		{"no such image", `      image: tracerig-test/does-not-exist:1
      ports: {http: 8080}`, true, []string{"start checkout", "tracerig-test/does-not-exist:1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.docker {
				requireDocker(t)
			}
			_, _, err := runLaunched(t, c.node, topology.RuntimeInProcess)
			var rerr *RuntimeError
			var serr *launch.StartError
			if !errors.As(err, &rerr) || !errors.As(err, &serr) || serr.Node != "checkout" {
				t.Fatalf("want a runtime error with checkout's StartError, got %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}
