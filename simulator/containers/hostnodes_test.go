package containers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/fixtures/embedded"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/simulator/launch"
	"github.com/tracerig/tracerig/topology"
)

// TestStartNodes runs image nodes beside an in-process run: checkout, the
// instrumented test service, reaches the simulated inventory on the host's
// loopback and exports its spans to the embedded backend there, both
// through the relay; the trace the test starts goes through it, and its
// server span reaches the backend with its name and the run's ID.
func TestStartNodes(t *testing.T) {
	requireDocker(t)
	image := testServiceImage(t)
	topo, err := topology.ParseTopology("nodes.yaml", []byte(fmt.Sprintf(nodesTopology, image)))
	if err != nil {
		t.Fatal(err)
	}
	backend, tee, otlp := startBackend(t)
	inv := startInventory(t)
	run, logs := randomHex(8), t.TempDir()
	specs := []NodeSpec{nodeSpec(topo, "checkout", run, logs, "EXT_READY=checkout listening"), nodeSpec(topo, "search", run, logs), nodeSpec(topo, "audit", run, logs)}
	start := time.Now()
	nodes, err := StartNodes(t.Context(), specs, NodesOptions{
		RunID: run, OTLP: otlp, Log: testLog{t},
		Targets: func(service string, i int) string {
			if service == "inventory" && i == 0 {
				return inv.addr
			}
			return ""
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("3 image nodes and the relay up in %s", time.Since(start).Round(time.Millisecond))
	defer func() {
		if err := nodes.Close(context.Background()); err != nil {
			t.Error(err)
		}
		assertNothingLeft(t, run)
	}()
	for _, name := range []string{"search", "audit"} {
		if code := get(t, "http://"+nodes.Addr(name)+"/healthz", ""); code != http.StatusOK {
			t.Errorf("%s /healthz answered %d", name, code)
		}
	}
	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	if code := get(t, "http://"+nodes.Addr("checkout")+"/reserve", "00-"+trace+"-00f067aa0ba902b7-01"); code != http.StatusOK {
		t.Fatalf("GET /reserve answered %d", code)
	}
	got := inv.traceparents()
	if len(got) != 1 || !strings.Contains(got[0], trace) {
		t.Errorf("inventory got traceparents %q, want one of trace %s", got, trace)
	}
	assertServerSpan(t, backend, "checkout", trace)
	res := tee.resourceOf("checkout")
	if res[record.RunIDKey] != run {
		t.Errorf("checkout's resource %v: want %s=%s", res, record.RunIDKey, run)
	}
	if err := nodes.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, spec := range specs {
		if b, err := os.ReadFile(spec.LogPath); err != nil || len(b) == 0 && spec.Service.Name != "search" {
			t.Errorf("%s's log %s: %q, %v", spec.Service.Name, spec.LogPath, b, err)
		}
	}
}

// assertServerSpan waits for service's server span of trace in the backend.
func assertServerSpan(t *testing.T, b *embedded.Backend, service, trace string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, s := range b.Query(embedded.Query{Service: service}) {
			if s.Trace.String() == trace && s.Kind == record.KindServer {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no server span of %s in trace %s in the backend; it has services %v", service, trace, b.Services())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(t *testing.T, url, traceparent string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if traceparent != "" {
		req.Header.Set("Traceparent", traceparent)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// testLog writes the runtime's steps to the test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestStartNodesFailures: an image that is not there, a container that
// exits at once and one never ready each fail the start with a
// *launch.StartError naming the node, and leave nothing of the run.
func TestStartNodesFailures(t *testing.T) {
	requireDocker(t)
	image := testServiceImage(t)
	for _, tc := range []struct {
		name, service, want string
		extra               []string
		lines               bool // the error quotes the container's output
	}{
		{name: "missing image", service: "image: tracerig-test/absent:" + randomHex(4) + "\n    ports: {http: 8080}",
			want: "tracerig-test/absent"},
		{name: "exits at once", service: "image: " + image + "\n    ports: {http: 8080}\n    wait: {http: /healthz, timeout: 30s}",
			extra: []string{"EXT_LISTEN=bad"}, want: "exited with code 1", lines: true},
		{name: "never ready", service: "image: " + image + "\n    ports: {http: 8080}\n    wait: {http: /nope, timeout: 2s}",
			want: "not ready within 2s"},
		{name: "port never listens", service: "image: " + image + "\n    ports: {http: 8080}\n    wait: {port: 9999, timeout: 2s}",
			want: "not ready within 2s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "name: bad\nservices:\n  checkout:\n    " + tc.service + "\n    routes:\n      GET /reserve:\n"
			topo, err := topology.ParseTopology("bad.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			run := randomHex(8)
			start := time.Now()
			// A secret in the environment stays there: not in the error.
			const secret = "s3cr3t-v4lue"
			extra := append([]string{"API_TOKEN=" + secret}, tc.extra...)
			nodes, err := StartNodes(t.Context(), []NodeSpec{nodeSpec(topo, "checkout", run, t.TempDir(), extra...)}, NodesOptions{RunID: run})
			if err == nil {
				nodes.Close(context.Background())
				t.Fatal("the start succeeded")
			}
			t.Logf("failed in %s: %v", time.Since(start).Round(time.Millisecond), err)
			var se *launch.StartError
			if !errors.As(err, &se) || se.Node != "checkout" || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v: want a *launch.StartError for checkout saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %v holds the secret", err)
			}
			if tc.lines && (se == nil || len(se.Lines) == 0 || se.Log == "") {
				t.Errorf("error %v quotes none of the container's output", err)
			}
			assertNothingLeft(t, run)
		})
	}
}
