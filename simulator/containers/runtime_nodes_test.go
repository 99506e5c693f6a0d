package containers

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// imageNodeTopology is frontend -> checkout (an image node: the
// instrumented test service) -> inventory.
const imageNodeTopology = `name: imagenode
services:
  frontend:
    routes:
      GET /shop:
        calls:
          - checkout: GET /reserve
  checkout:
    image: %s
    ports: {http: 8080}
    wait: {http: /healthz, timeout: 60s}
    routes:
      GET /reserve:
    calls:
      - {service: inventory, route: GET /stock}
  inventory:
    routes:
      GET /stock:
        latency: 1ms
`

// TestContainerImageNode runs an image node inside a container run: the
// simulated frontend reaches it at its alias on the run's network, it
// reaches the simulated inventory at that instance's alias, and every
// trace the load starts goes through it connected.
func TestContainerImageNode(t *testing.T) {
	requireDocker(t)
	src := []byte(fmt.Sprintf(imageNodeTopology, testServiceImage(t)))
	topo, err := topology.ParseTopology("imagenode.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	run, logs := randomHex(8), t.TempDir()
	spec := nodeSpec(topo, "checkout", run, logs, "EXT_READY=checkout listening")
	r := New(topo, Options{Seed: 7, Source: src, Backend: true, RunID: run, Log: testLog{t}, Nodes: []NodeSpec{spec}})
	t.Cleanup(func() {
		r.Close(context.Background())
		assertNothingLeft(t, r.RunID())
	})
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Logf("started in %s (image %s)", r.Startup.Round(time.Millisecond), r.Image.Round(time.Millisecond))
	load := topology.Load{Targets: []topology.Target{{Service: "frontend", Route: "GET /shop", Weight: 1}},
		Rate: topology.Rate{Freq: 20, Per: time.Second}, Requests: 20, Workers: 2}
	if _, err := r.Drive(t.Context(), []topology.Load{load}); err != nil {
		t.Fatal(err)
	}
	if err := r.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	sent := map[record.TraceID]bool{} // by frontend, to checkout
	got := map[record.TraceID]bool{}  // by inventory, from checkout
	for _, h := range r.Ledger().Snapshot().Hops {
		switch {
		case h.From == "frontend" && h.To == "checkout":
			if !h.External || !h.Sent.IsValid() {
				t.Errorf("hop frontend -> checkout: %+v", h)
			}
			sent[h.Sent.Trace] = true
		case h.From == "checkout" && h.To == "inventory":
			if !h.FromExternal || !h.Received || !h.Got.IsValid() {
				t.Errorf("hop checkout -> inventory: %+v", h)
			}
			got[h.Got.Trace] = true
		}
	}
	t.Logf("%d traces sent to checkout, %d reached inventory through it", len(sent), len(got))
	if len(sent) < 20 {
		t.Errorf("%d traces frontend -> checkout, want 20", len(sent))
	}
	for tr := range sent {
		if !got[tr] {
			t.Errorf("trace %s went into checkout and never reached inventory with its ID", tr)
		}
	}
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(spec.LogPath); err != nil || len(b) == 0 {
		t.Errorf("checkout's log %s: %q, %v", spec.LogPath, b, err)
	}
}

// TestRelayPortsHostAddrs: image nodes are reached at their alias, not the
// relay; a command node and an external service whose URL came from the
// environment are carried to the host address Options.HostAddrs gives,
// which wins over a URL; a service of the user's with no host address is
// an error before anything starts.
func TestRelayPortsHostAddrs(t *testing.T) {
	src := []byte(`name: hosts
services:
  front:
    routes:
      GET /:
        calls:
          - {checkout: GET /c}
          - {legacy: GET /l}
          - {mainframe: GET /m}
          - {billing: GET /b}
  checkout:
    image: example/checkout:1
    ports: {http: 8080}
    routes:
      GET /c:
  legacy:
    command: [./legacy, "{port}"]
    routes:
      GET /l:
  mainframe:
    external: ${MAINFRAME_URL}
    routes:
      GET /m:
  billing:
    external: http://127.0.0.1:9300
    routes:
      GET /b:
`)
	topo, err := topology.ParseTopology("hosts.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]string{"legacy": "127.0.0.1:9100", "mainframe": "127.0.0.1:9200", "billing": "127.0.0.1:9301"}
	r := New(topo, Options{HostAddrs: hosts})
	ports, in, err := r.relayPorts()
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]string{}
	for _, p := range ports {
		targets[p.port] = p.target
	}
	for name, want := range hosts {
		_, port, _ := strings.Cut(in[name], ":")
		if got := targets[port]; got != want {
			t.Errorf("%s: relay %s carries to %q, want %q", name, in[name], got, want)
		}
	}
	if _, ok := in["checkout"]; ok || len(ports) != 3 {
		t.Errorf("relay ports %+v for %v: want none for the image node", ports, in)
	}
	serve, err := r.planInstances(in, "backend:4317")
	if err != nil {
		t.Fatal(err)
	}
	if got := serve.Peers["checkout"]; len(got) != 1 || got[0] != "checkout:8080" {
		t.Errorf("the instances reach checkout at %v, want its alias checkout:8080", got)
	}
	delete(hosts, "mainframe")
	if _, _, err := New(topo, Options{HostAddrs: hosts}).relayPorts(); err == nil || !strings.Contains(err.Error(), "mainframe") {
		t.Errorf("mainframe without an address: %v", err)
	}
}
