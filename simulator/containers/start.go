package containers

// This file starts the run's containers: the backend (tracerig's own or
// Jaeger) and one per service instance, on host ports picked up front.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/tracerig/tracerig/internal/tunnel"
)

func (r *Runtime) startBackend(ctx context.Context) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	req := testcontainers.ContainerRequest{
		Image:          r.image,
		Cmd:            []string{"backend", "--grpc-addr", "0.0.0.0:" + otlpPort, "--http-addr", "0.0.0.0:" + queryPort, "--interval", "0"},
		ExposedPorts:   []string{queryPort + "/tcp"},
		Networks:       []string{r.net.Name},
		NetworkAliases: map[string][]string{r.net.Name: {"backend"}},
		Labels:         r.labels(),
		Name:           "tracerig-" + r.runID + "-backend",
		HostConfigModifier: func(hc *container.HostConfig) {
			publish(hc, queryPort, addr)
		},
		WaitingFor: wait.ForHTTP("/api/stats").WithPort(queryPort + "/tcp").WithStartupTimeout(30 * time.Second),
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
		WaitingFor: wait.ForHTTP("/api/services").WithPort(jaegerQueryPort + "/tcp").WithStartupTimeout(60 * time.Second),
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
		Cmd:            []string{"relay", "--listen", strings.Join(listen, ","), "--tunnel", "0.0.0.0:" + tunnelPort},
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

// startRetrying starts an instance, on other host ports when another
// process took the ones picked for it between the pick and the bind.
func (r *Runtime) startRetrying(ctx context.Context, in *instance, peers, endpoint string) error {
	var err error
	for try := 0; try < 3; try++ {
		if err = r.startInstance(ctx, in, peers, endpoint); err == nil || !strings.Contains(err.Error(), "port is already allocated") {
			return err
		}
		r.mu.Lock()
		c := in.c
		in.c = nil
		r.mu.Unlock()
		if c != nil {
			testcontainers.TerminateContainer(c)
		}
		if in.svcAddr, err = freeAddr(); err == nil {
			in.ctlAddr, err = freeAddr()
		}
		if err != nil {
			return err
		}
	}
	return err
}

func (r *Runtime) startInstance(ctx context.Context, in *instance, peers, endpoint string) error {
	cmd := []string{"serve", "--topology", "/topology.yaml", "--service", in.service, "--instance", strconv.Itoa(in.index),
		"--listen", "0.0.0.0:" + servicePort, "--control", "0.0.0.0:" + controlPort,
		"--peers", peers, "--otlp-endpoint", endpoint, "--seed", strconv.FormatUint(r.opts.Seed, 10)}
	if r.opts.ExportRetry > 0 {
		cmd = append(cmd, "--export-retry", r.opts.ExportRetry.String())
	}
	req := testcontainers.ContainerRequest{
		Image:          r.image,
		Cmd:            cmd,
		ExposedPorts:   []string{servicePort + "/tcp", controlPort + "/tcp"},
		Networks:       []string{r.net.Name},
		NetworkAliases: map[string][]string{r.net.Name: {in.alias}},
		Labels:         r.labels(),
		Name:           "tracerig-" + r.runID + "-" + in.alias,
		Files:          []testcontainers.ContainerFile{{Reader: bytes.NewReader(r.opts.Source), ContainerFilePath: "/topology.yaml", FileMode: 0o644}},
		HostConfigModifier: func(hc *container.HostConfig) {
			publish(hc, servicePort, in.svcAddr)
			publish(hc, controlPort, in.ctlAddr)
		},
		WaitingFor: wait.ForHTTP("/healthz").WithPort(controlPort + "/tcp").WithStartupTimeout(30 * time.Second).WithPollInterval(50 * time.Millisecond),
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
