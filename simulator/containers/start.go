package containers

// This file starts the run's containers: the backend (tracerig's own or
// Jaeger) and one per service instance, on host ports picked up front.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/tracerig/tracerig/internal/tunnel"
	"github.com/tracerig/tracerig/simulator/control"
	"github.com/tracerig/tracerig/simulator/remote"
)

func (r *Runtime) startBackend(ctx context.Context) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	req := testcontainers.ContainerRequest{
		Image:          r.image,
		Cmd:            append([]string{"backend"}, control.BackendConfig{GRPCAddr: "0.0.0.0:" + otlpPort, HTTPAddr: "0.0.0.0:" + queryPort}.Args()...),
		ExposedPorts:   []string{queryPort + "/tcp"},
		Networks:       []string{r.net.Name},
		NetworkAliases: map[string][]string{r.net.Name: {"backend"}},
		Labels:         r.labels(),
		Name:           "tracerig-" + r.runID + "-backend",
		HostConfigModifier: func(hc *container.HostConfig) {
			publish(hc, queryPort, addr)
		},
		WaitingFor: onLoopback(wait.ForHTTP("/api/stats").WithPort(queryPort + "/tcp").WithStartupTimeout(30 * time.Second)),
	}
	// Removed with the run, by label, even when the start fails.
	_, err = testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true})
	if err != nil {
		return fmt.Errorf("start the backend container: %w", err)
	}
	r.backURL = "http://" + addr
	return nil
}

// jaegerQueryPort is the port of Jaeger's HTTP query API in its container.
const jaegerQueryPort = "16686"

// startJaeger runs Jaeger v2 in a container of its own, built FROM scratch
// around the static binary, with tracerig's config: OTLP/gRPC on 4317 for
// the services, the query API published on 127.0.0.1 for read-back.
func (r *Runtime) startJaeger(ctx context.Context) error {
	image, err := EnsureJaegerImage(ctx, r.cli, r.opts.Jaeger)
	if err == nil {
		image, err = runImage(ctx, r.cli, image, r.runID)
	}
	if err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	cfg := r.opts.JaegerConfig
	req := testcontainers.ContainerRequest{
		Image:          image,
		Cmd:            []string{"--config=file:/jaeger.yaml"},
		ExposedPorts:   []string{jaegerQueryPort + "/tcp"},
		Networks:       []string{r.net.Name},
		NetworkAliases: map[string][]string{r.net.Name: {"jaeger"}},
		Labels:         r.labels(),
		Name:           "tracerig-" + r.runID + "-jaeger",
		Files: []testcontainers.ContainerFile{{
			Reader: strings.NewReader(cfg), ContainerFilePath: "/jaeger.yaml", FileMode: 0o644,
		}},
		HostConfigModifier: func(hc *container.HostConfig) {
			publish(hc, jaegerQueryPort, addr)
		},
		WaitingFor: onLoopback(wait.ForHTTP("/api/services").WithPort(jaegerQueryPort + "/tcp").WithStartupTimeout(60 * time.Second)),
	}
	// Removed with the run, by label, even when the start fails.
	_, err = testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true})
	if err != nil {
		return fmt.Errorf("start the jaeger container: %w", err)
	}
	r.backURL = "http://" + addr
	r.logf("jaeger ready, query API on %s", r.backURL)
	return nil
}

// The relay container: its network alias, the port it waits for the
// host's connections on, and the first of the ports external services are
// reached at inside the network.
const (
	relayAlias        = "relay"
	tunnelPort        = "4320"
	firstExternalPort = 5000
)

// relayPort is one port of the relay and what on the host it leads to.
type relayPort struct {
	port   string // inside the network
	target string // host:port on the host's loopback
}

// startRelay runs `tracerig relay` in the run's network (alias "relay")
// and keeps connections from the host waiting at it, so that what the
// containers send to each of ports reaches its target on the host's
// loopback, which they cannot reach themselves: exports to a collector, an
// otlp endpoint or the export pipe; calls to external services.
func (r *Runtime) startRelay(ctx context.Context, ports []relayPort) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	listen := make([]string, len(ports))
	targets := make([]string, len(ports))
	for i, p := range ports {
		listen[i], targets[i] = "0.0.0.0:"+p.port, p.target
	}
	req := testcontainers.ContainerRequest{
		Image:          r.image,
		Cmd:            append([]string{"relay"}, control.RelayConfig{Listen: listen, Tunnel: "0.0.0.0:" + tunnelPort}.Args()...),
		ExposedPorts:   []string{tunnelPort + "/tcp"},
		Networks:       []string{r.net.Name},
		NetworkAliases: map[string][]string{r.net.Name: {relayAlias}},
		Labels:         r.labels(),
		Name:           "tracerig-" + r.runID + "-relay",
		HostConfigModifier: func(hc *container.HostConfig) {
			publish(hc, tunnelPort, addr)
		},
		WaitingFor: wait.ForLog("relay listening").WithStartupTimeout(30 * time.Second).WithPollInterval(50 * time.Millisecond),
	}
	// Removed with the run, by label, even when the start fails.
	_, err = testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true})
	if err != nil {
		return fmt.Errorf("start the relay container: %w", err)
	}
	r.tunnel = tunnel.Dial(addr, func(i int) string { return targets[i] }, relayIdle)
	for _, p := range ports {
		r.logf("relay ready: %s:%s carries to %s on the host", relayAlias, p.port, p.target)
	}
	return nil
}

// relayIdle is how many host connections wait at the relay: every service
// instance holds one export connection and a few to each external service,
// so a few cover the connections being opened at any one time.
const relayIdle = 8

// relayPorts lists what the relay carries to the host's loopback: exports
// to HostEndpoint, calls to external services and command nodes (at
// Options.HostAddrs, else their URL); and the address each of those
// services has inside the network. Image nodes are on the network itself.
func (r *Runtime) relayPorts() ([]relayPort, map[string]string, error) {
	var ports []relayPort
	if r.opts.HostEndpoint != "" {
		ports = append(ports, relayPort{port: otlpPort, target: r.opts.HostEndpoint})
	}
	externalIn := map[string]string{}
	for _, s := range r.topo.Services {
		if !s.IsExternal() || isImageNode(s) {
			continue
		}
		target, ok := r.opts.HostAddrs[s.Name]
		if !ok {
			target = s.ExternalAddr()
		}
		if target == "" {
			return nil, nil, fmt.Errorf("start containers: service %s has no address on the host for the containers to reach it at", s.Name)
		}
		port := strconv.Itoa(firstExternalPort + len(externalIn))
		externalIn[s.Name] = relayAlias + ":" + port
		ports = append(ports, relayPort{port: port, target: target})
	}
	return ports, externalIn, nil
}

// startExportTarget starts what the services export to, unless it is on
// the host (through the relay), and returns its address in the network.
func (r *Runtime) startExportTarget(ctx context.Context) (string, error) {
	switch {
	case r.opts.HostEndpoint != "":
		return relayAlias + ":" + otlpPort, nil
	case r.opts.Jaeger != "":
		return "jaeger:" + otlpPort, r.startJaeger(ctx)
	case r.opts.Backend:
		return "backend:" + otlpPort, r.startBackend(ctx)
	}
	return "", errors.New("start containers: no backend: set Backend, Jaeger or HostEndpoint")
}

// planInstances picks every instance's host ports and returns the serve
// configuration they share: peers by network alias, external services at
// the relay. Host ports are chosen up front so a container keeps them
// across a kill and restart, and so every peer list is known before any
// starts.
func (r *Runtime) planInstances(externalIn map[string]string, endpoint string) (control.ServeConfig, error) {
	peers := map[string][]string{}
	for _, s := range r.topo.Services {
		if isImageNode(s) {
			peers[s.Name] = []string{s.Name + ":" + strconv.Itoa(s.Launch.Port)}
			continue
		}
		if s.IsExternal() {
			peers[s.Name] = []string{externalIn[s.Name]}
			continue
		}
		for i := range s.Instances {
			alias := fmt.Sprintf("%s-%d", s.Name, i)
			in := &instance{service: s.Name, index: i, alias: alias,
				rem: &remote.Instance{Name: alias, Control: &control.Client{HTTP: controlHTTP}}}
			if err := in.pickPorts(); err != nil {
				return control.ServeConfig{}, err
			}
			r.insts[s.Name] = append(r.insts[s.Name], in)
			peers[s.Name] = append(peers[s.Name], in.alias+":"+servicePort)
		}
	}
	serve := control.DefaultServeConfig()
	serve.Topology = topologyPath
	serve.Listen, serve.Control = "0.0.0.0:"+servicePort, "0.0.0.0:"+controlPort
	serve.Peers = peers
	serve.OTLPEndpoint = endpoint
	serve.Seed = r.opts.Seed
	serve.RunID, serve.IsolateIDs, serve.ResourceAttributes = r.opts.RunID, r.opts.IsolateIDs, r.opts.ResourceAttributes
	if r.opts.ExportRetry > 0 {
		serve.ExportRetry = r.opts.ExportRetry
	}
	return serve, nil
}

// topologyPath is where the topology source is in every container.
const topologyPath = "/topology.yaml"

// pickPorts picks free host ports for the instance's service and control
// ports.
func (in *instance) pickPorts() (err error) {
	if in.svcAddr, err = freeAddr(); err == nil {
		in.ctlAddr, err = freeAddr()
	}
	in.rem.Control.Addr = in.ctlAddr
	return err
}

// startInstances starts every instance at once, each running serve (for
// its service and index).
func (r *Runtime) startInstances(ctx context.Context, serve control.ServeConfig) error {
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var errs []error
	for _, ins := range r.insts {
		for _, in := range ins {
			wg.Go(func() {
				if err := r.startRetrying(ctx, in, serve); err != nil {
					errMu.Lock()
					errs = append(errs, err)
					errMu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// startRetrying starts an instance, on other host ports when another
// process took the ones picked for it between the pick and the bind.
func (r *Runtime) startRetrying(ctx context.Context, in *instance, serve control.ServeConfig) error {
	var err error
	for try := 0; try < 3; try++ {
		if err = r.startInstance(ctx, in, serve); err == nil || !strings.Contains(err.Error(), "port is already allocated") {
			return err
		}
		r.mu.Lock()
		c := in.c
		in.c = nil
		r.mu.Unlock()
		if c != nil {
			testcontainers.TerminateContainer(c)
		}
		if err = in.pickPorts(); err != nil {
			return err
		}
	}
	return err
}

// startInstance starts the instance's container, running serve for it,
// and waits until its control API answers.
func (r *Runtime) startInstance(ctx context.Context, in *instance, serve control.ServeConfig) error {
	serve.Service, serve.Instance = in.service, in.index
	req := testcontainers.ContainerRequest{
		Image:          r.image,
		Cmd:            append([]string{"serve"}, serve.Args()...),
		ExposedPorts:   []string{servicePort + "/tcp", controlPort + "/tcp"},
		Networks:       []string{r.net.Name},
		NetworkAliases: map[string][]string{r.net.Name: {in.alias}},
		Labels:         r.labels(),
		Name:           "tracerig-" + r.runID + "-" + in.alias,
		Files: append([]testcontainers.ContainerFile{{Reader: bytes.NewReader(r.opts.Source), ContainerFilePath: topologyPath, FileMode: 0o644}},
			r.export.containerFiles()...),
		Env: r.export.env,
		HostConfigModifier: func(hc *container.HostConfig) {
			publish(hc, servicePort, in.svcAddr)
			publish(hc, controlPort, in.ctlAddr)
		},
		WaitingFor: onLoopback(wait.ForHTTP(control.HealthPath).WithPort(controlPort + "/tcp").WithStartupTimeout(30 * time.Second).WithPollInterval(50 * time.Millisecond)),
	}
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true})
	if c != nil {
		r.mu.Lock()
		in.c = c
		r.mu.Unlock()
	}
	if err != nil {
		return fmt.Errorf("start container %s: %w", in.alias, err)
	}
	return nil
}

// onLoopback waits as s does, reaching the container at 127.0.0.1, where
// publish binds its ports, whatever host testcontainers would infer from
// the Docker endpoint.
func onLoopback(s wait.Strategy) wait.Strategy { return loopbackWait{s} }

type loopbackWait struct{ wait.Strategy }

func (w loopbackWait) WaitUntilReady(ctx context.Context, target wait.StrategyTarget) error {
	return w.Strategy.WaitUntilReady(ctx, loopbackTarget{target})
}

// loopbackTarget is a container reached at 127.0.0.1.
type loopbackTarget struct{ wait.StrategyTarget }

func (loopbackTarget) Host(context.Context) (string, error) { return "127.0.0.1", nil }

// publish binds a container port to host address addr (127.0.0.1:port).
func publish(hc *container.HostConfig, port, addr string) {
	host, hp, _ := net.SplitHostPort(addr)
	if hc.PortBindings == nil {
		hc.PortBindings = network.PortMap{}
	}
	hc.PortBindings[network.MustParsePort(port+"/tcp")] = []network.PortBinding{{HostIP: netip.MustParseAddr(host), HostPort: hp}}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("pick a host port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
