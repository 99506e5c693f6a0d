package main

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/simulator/control"
)

// TestServeUsage: serve's command-line mistakes exit 2 with the one error
// that names them.
func TestServeUsage(t *testing.T) {
	topo := "testdata/tiny-topology.yaml"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"nothing", nil, "--topology and --service are required"},
		{"no service", []string{"--topology", topo}, "--topology and --service are required"},
		{"an unknown service", []string{"--topology", topo, "--service", "nope"}, `topology tiny has no service "nope"`},
		{"an instance too many", []string{"--topology", topo, "--service", "web", "--instance", "1"}, "service web has 1 instances, no instance 1"},
		{"bad peers", []string{"--topology", topo, "--service", "web", "--peers", "web"}, `--peers: "web": want svc=host:port,host:port`},
		{"an argument", []string{"--topology", topo, "--service", "web", "extra"}, "unexpected arguments: extra"},
		{"a missing file", []string{"--topology", "testdata/none.yaml", "--service", "web"}, "testdata/none.yaml: no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, append([]string{"serve"}, tt.args...)...)
			r.wantCode(t, exitUsage)
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, r.stderr)
			}
		})
	}
}

var serveControlRE = regexp.MustCompile(`control on (\S+),`)

// TestServeControl runs one instance and drives its control API as the
// host of a container run does: health, a fault, shutdown, the ledger.
func TestServeControl(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--topology", "testdata/tiny-topology.yaml", "--service", "stock",
			"--listen", "127.0.0.1:0", "--control", "127.0.0.1:0", "--peers", "web=127.0.0.1:1;pricing=127.0.0.1:1", "--otlp-endpoint", "127.0.0.1:1", "--export-retry", "0s"}, &stdout, &stderr)
	}()
	var addr string
	waitFor(t, 10*time.Second, "the control address on stdout", func() bool {
		if m := serveControlRE.FindStringSubmatch(stdout.String()); m != nil {
			addr = m[1]
		}
		return addr != ""
	})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &control.Client{Addr: addr, HTTP: &http.Client{Transport: tr}}
	if err := c.Health(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Add(t.Context(), []byte("latency: {service: stock, add: 1ms}")); err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Ledger(t.Context()); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("serve exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not end 15s after its context")
	}
}
