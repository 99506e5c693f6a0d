package containers

// This file runs image nodes beside the in-process runtime: the simulated
// instances and the backend listen on the host's loopback, which a
// container cannot reach, so a relay container on the run's network
// carries the nodes' connections there.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"sync"

	tcnetwork "github.com/testcontainers/testcontainers-go/network"

	"github.com/tracerig/tracerig/internal/tunnel"
	"github.com/tracerig/tracerig/simulator/launch"
)

// NodesOptions configure StartNodes.
type NodesOptions struct {
	// RunID labels everything the nodes' run makes (ListRun); a random
	// one when empty.
	RunID string
	// Log, when set, receives a line per step.
	Log io.Writer
	// Targets returns the host address (127.0.0.1:port) of instance i of
	// a simulated service, or "" when it has none.
	Targets func(service string, i int) string
	// OTLP is the host:port of the OTLP/gRPC endpoint on the host's
	// loopback the nodes export to, or "" for none.
	OTLP string
}

// Nodes are image nodes running beside an in-process run.
type Nodes struct {
	rt    *Runtime // the run's network, relay, labels and Docker client
	nodes map[string]*node

	mu     sync.Mutex
	closed bool
}

// StartNodes starts the image nodes, each in a container on a network of
// the run's, its service port published on 127.0.0.1 (Addr). What a node
// reaches on the host (the simulated instances Targets gives, the OTLP
// endpoint) it reaches through a relay container on that network. On
// failure, nothing of the run is left, and a node that did not come up is
// a *launch.StartError.
func StartNodes(ctx context.Context, specs []NodeSpec, opts NodesOptions) (_ *Nodes, err error) {
	runID := opts.RunID
	if runID == "" {
		b := make([]byte, 8)
		rand.Read(b)
		runID = hex.EncodeToString(b)
	}
	nodes := make([]*node, len(specs))
	for i, spec := range specs {
		if nodes[i], err = newNode(spec); err != nil {
			return nil, err
		}
	}
	// Every environment first: it says which host targets the relay
	// carries.
	a := newRelayAddrs(nodes, opts)
	for _, n := range nodes {
		if err := n.compose(a); err != nil {
			return nil, err
		}
	}
	if len(a.ports) > tunnel.MaxListeners {
		return nil, fmt.Errorf("image nodes reach %d host addresses, more than a relay carries (%d)", len(a.ports), tunnel.MaxListeners)
	}
	rt := New(nil, Options{Log: opts.Log})
	rt.runID = runID
	if rt.cli, err = Docker(ctx); err != nil {
		return nil, err
	}
	out := &Nodes{rt: rt, nodes: map[string]*node{}}
	defer func() {
		if err != nil {
			out.removeFailedStart(ctx)
		}
	}()
	for _, n := range nodes {
		out.nodes[n.name] = n
		if err := ensureNodeImage(ctx, rt.cli, n.name, n.spec.Service.Launch.Image); err != nil {
			return nil, err
		}
	}
	if err := out.startNetwork(ctx, a.ports); err != nil {
		return nil, err
	}
	run := nodeRun{cli: rt.cli, net: rt.net.Name, runID: runID, labels: rt.labels()}
	if err := startNodes(ctx, run, nodes); err != nil {
		return nil, err
	}
	for _, n := range nodes {
		rt.logf("image node %s (%s) ready at %s", n.name, n.spec.Service.Launch.Image, n.addr)
	}
	return out, nil
}

// startNetwork creates the run's network and, when the nodes reach the
// host, the relay.
func (n *Nodes) startNetwork(ctx context.Context, ports []relayPort) (err error) {
	rt := n.rt
	if len(ports) > 0 {
		if err := rt.prepareImage(ctx); err != nil {
			return err
		}
	}
	if rt.net, err = tcnetwork.New(ctx, tcnetwork.WithLabels(rt.labels())); err != nil {
		return fmt.Errorf("create the image nodes' network: %w", err)
	}
	if len(ports) == 0 {
		return nil
	}
	return rt.startRelay(ctx, ports)
}

// removeFailedStart removes what a failed StartNodes made.
func (n *Nodes) removeFailedStart(ctx context.Context) {
	n.rt.removeFailedStart(ctx)
	closeLogs(maps.Values(n.nodes))
}

// Addr is the 127.0.0.1:port published for the node's service port:
// where simulated callers on the host reach it; "" for no such node.
func (n *Nodes) Addr(service string) string {
	if nd := n.nodes[service]; nd != nil {
		return nd.addr
	}
	return ""
}

// RunID is the value of the tracerig.run label of everything the nodes'
// run makes.
func (n *Nodes) RunID() string { return n.rt.runID }

// Close removes the nodes' containers, the relay and the network, then
// closes the nodes' log files. It is safe to call more than once.
func (n *Nodes) Close(ctx context.Context) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.mu.Unlock()
	err := n.rt.Close(ctx)
	return errors.Join(err, closeLogs(maps.Values(n.nodes)))
}

// relayAddrs is where an image node beside the in-process runtime reaches
// things: another image node at its alias on the network, a host target
// at a port of the relay, one per distinct target.
type relayAddrs struct {
	nodes    map[string]*node
	opts     NodesOptions
	ports    []relayPort
	byTarget map[string]string
}

func newRelayAddrs(nodes []*node, opts NodesOptions) *relayAddrs {
	a := &relayAddrs{nodes: map[string]*node{}, opts: opts, byTarget: map[string]string{}}
	for _, n := range nodes {
		a.nodes[n.name] = n
	}
	return a
}

func (a *relayAddrs) Service(name string, i int) string {
	if n := a.nodes[name]; n != nil {
		return n.inNetwork()
	}
	if a.opts.Targets == nil {
		return ""
	}
	return a.via(a.opts.Targets(name, i))
}

func (a *relayAddrs) OTLP() string { return a.via(a.opts.OTLP) }

// via returns the relay's address for target, given a port of the relay's
// the first time.
func (a *relayAddrs) via(target string) string {
	if target == "" {
		return ""
	}
	if addr, ok := a.byTarget[target]; ok {
		return addr
	}
	port := strconv.Itoa(firstExternalPort + len(a.ports))
	a.ports = append(a.ports, relayPort{port: port, target: target})
	a.byTarget[target] = relayAlias + ":" + port
	return a.byTarget[target]
}

var _ launch.Addrs = (*relayAddrs)(nil)
