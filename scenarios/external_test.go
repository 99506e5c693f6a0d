package scenarios

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/topology"
)

// externalScenario is frontend -> checkout (external, the test's own
// instrumented program) -> inventory, with optional extra YAML (faults,
// expectations).
const externalScenario = `name: external
topology:
  name: external
  services:
    frontend:
      routes:
        GET /shop:
          calls:
            - checkout: GET /reserve
    checkout:
      external: http://127.0.0.1:%d
      routes:
        GET /reserve:
      calls:
        - {service: inventory, route: GET /stock}
    inventory:
      routes:
        GET /stock:
          latency: 1ms
seed: 7
settle: 5s
load:
  - route: frontend GET /shop
    rate: 40/s
    duration: 2s
%s`

// TestExternalNode runs a topology whose middle node is a separately built
// and started instrumented program: clean, every edge through it is
// connected; with strip-headers frontend -> checkout, the report attributes
// the broken traces to that edge and says checkout restarted the trace.
func TestExternalNode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs an external program")
	}
	bin := filepath.Join(t.TempDir(), "extsvc")
	build := exec.Command("go", "build", "-o", bin, "./testdata/external/svc")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build external service: %v\n%s", err, out)
	}
	t.Run("connected", func(t *testing.T) {
		rep, env := runExternal(t, bin, topology.RuntimeInProcess, `expect:
  - propagation: {connected: true}
`)
		if !strings.Contains(strings.Join(env, " "), AddrVar("inventory")+"=http://127.0.0.1:") {
			t.Errorf("external environment lacks the inventory address: %q", env)
		}
		v := verdict(t, rep, "propagation")
		if v.Status != assert.StatusPass {
			t.Fatalf("propagation %s: %s\n%+v", v.Status, v.Observed, v.Findings)
		}
		if v.Stats["external_kept"] == 0 || v.Stats["external_connected"] != v.Stats["external_kept"] ||
			v.Stats["external_restarted"]+v.Stats["external_dropped"]+v.Stats["external_malformed"] != 0 {
			t.Errorf("want every request kept and connected through checkout, stats %v", v.Stats)
		}
	})
	t.Run("strip-headers upstream", func(t *testing.T) {
		rep, _ := runExternal(t, bin, topology.RuntimeInProcess, `faults:
  - at: 0s
    for: 1h
    strip-headers: {from: frontend, to: checkout}
expect:
  - propagation: {connected: true, broken: ["frontend -> checkout"]}
`)
		v := verdict(t, rep, "propagation")
		if v.Status != assert.StatusPass {
			t.Errorf("propagation %s (want the planted break only): %s\n%+v", v.Status, v.Observed, v.Findings)
		}
		var found *assert.Finding
		for i, f := range v.Findings {
			if f.Subject == "frontend -> checkout" && strings.Contains(f.Message, "restarted the trace") {
				found = &v.Findings[i]
			}
		}
		if found == nil {
			t.Fatalf("no finding on frontend -> checkout naming the restart: %+v", v.Findings)
		}
		if found.Count == 0 || found.Count != found.Of || !strings.Contains(found.Fault, "strip-headers") {
			t.Errorf("want every request's restart counted and attributed to the strip-headers fault, got %+v", *found)
		}
		if v.Stats["external_kept"] != 0 {
			t.Errorf("checkout kept %v traces with its headers stripped", v.Stats["external_kept"])
		}
	})
}

// TestExternalNodeInContainers runs the external scenario with every
// simulated service in a container: the external program stays on the
// host, the containers reach it through the relay, and it reaches them at
// their published ports; the edges through it must connect as in-process,
// and a header fault upstream must be attributed the same way.
func TestExternalNodeInContainers(t *testing.T) {
	requireDocker(t)
	bin := filepath.Join(t.TempDir(), "extsvc")
	build := exec.Command("go", "build", "-o", bin, "./testdata/external/svc")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build external service: %v\n%s", err, out)
	}
	rep, _ := runExternal(t, bin, topology.RuntimeContainers, `faults:
  - at: 1s
    for: 1h
    strip-headers: {from: frontend, to: checkout}
expect:
  - propagation: {connected: true, broken: ["frontend -> checkout"], during-fault: 1}
`)
	v := verdict(t, rep, "propagation")
	t.Logf("propagation %s: %s (stats %v)", v.Status, v.Observed, v.Stats)
	if v.Status != assert.StatusPass {
		t.Errorf("propagation %s: %s\n%+v", v.Status, v.Observed, v.Findings)
	}
	if v.Stats["external_kept"] == 0 || v.Stats["external_restarted"] == 0 {
		t.Errorf("want requests kept through checkout before the fault and restarted during it, stats %v", v.Stats)
	}
	if rep.Ledger.Requests < 50 {
		t.Errorf("ledger %+v: the load did not go through", rep.Ledger)
	}
}

// runExternal runs the external scenario with extra YAML in runtime rt,
// starting the external program once the simulated services listen.
func runExternal(t *testing.T, bin string, rt topology.Runtime, extra string) (*report.Report, []string) {
	t.Helper()
	port := freePort(t)
	data := fmt.Sprintf(externalScenario, port, extra)
	// On disk: the containers read the topology from the scenario's file.
	file := filepath.Join(t.TempDir(), "external.yaml")
	if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := topology.LoadScenario(file)
	if err != nil {
		t.Fatal(err)
	}
	sc.Runtime = rt
	addrFile := filepath.Join(t.TempDir(), "addrs.env")
	var env []string
	var cmd *exec.Cmd
	opts := Options{OutDir: t.TempDir(), AddrFile: addrFile}
	opts.ExternalEnv = func(e []string) error {
		env = e
		cmd = exec.Command(bin)
		cmd.Env = append(os.Environ(), e...)
		cmd.Env = append(cmd.Env, fmt.Sprintf("EXT_LISTEN=127.0.0.1:%d", port), "EXT_SERVICE_NAME=checkout")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			return err
		}
		return waitListening(fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second)
	}
	defer func() {
		if cmd != nil && cmd.Process != nil {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	written, err := os.ReadFile(addrFile)
	if err != nil || strings.TrimSpace(string(written)) != strings.Join(env, "\n") {
		t.Errorf("address file %q (%v), want the environment %q", written, err, env)
	}
	return rep, env
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitListening(addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("external service never listened on %s: %w", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
