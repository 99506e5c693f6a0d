package containers

// This file starts image nodes: services of the user's that a topology
// names with image:, each a container of the user's image on the run's
// network, its service port published on 127.0.0.1. Both placements use
// it: beside the in-process runtime (StartNodes) and inside a container
// run (Options.Nodes).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"
	"sync"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/tracerig/tracerig/simulator/launch"
	"github.com/tracerig/tracerig/topology"
)

// NodeSpec is an image node to start: a service of the topology with
// image: (Service.IsLaunched and Launch.IsImage).
type NodeSpec struct {
	Service *topology.Service
	// Env composes the node's environment from where it reaches what it
	// talks to (launch.Env does the composing). Its values go into the
	// container's environment only: never into logs, labels, errors or
	// its command line.
	Env func(a launch.Addrs) ([]string, error)
	// LogPath, when set, receives the node's stdout and stderr for the
	// whole run; its directories are created.
	LogPath string
}

// node is an image node of the run.
type node struct {
	spec  NodeSpec
	name  string
	alias string // on the run's network
	// addr is the 127.0.0.1:port published for its service port;
	// waitAddr the one for the port its wait checks, when that differs.
	addr, waitAddr string
	env            []string
	c              testcontainers.Container
	log            *nodeLog
}

// nodeRun is what a node's container joins: the run's network, names and
// labels.
type nodeRun struct {
	cli    *testcontainers.DockerClient
	net    string
	runID  string
	labels map[string]string
}

// newNode checks spec and returns its node, reached at alias on the
// network.
func newNode(spec NodeSpec) (*node, error) {
	s := spec.Service
	switch {
	case s == nil:
		return nil, errors.New("image node: no service")
	case s.Launch == nil || !s.Launch.IsImage():
		return nil, fmt.Errorf("image node %s: the service has no image:", s.Name)
	case s.Launch.Port == 0:
		return nil, fmt.Errorf("image node %s: no port: give ports:", s.Name)
	case spec.Env == nil:
		return nil, fmt.Errorf("image node %s: no Env", s.Name)
	}
	return &node{spec: spec, name: s.Name, alias: s.Name}, nil
}

// inNetwork is where other containers of the run reach the node.
func (n *node) inNetwork() string {
	return n.alias + ":" + strconv.Itoa(n.spec.Service.Launch.Port)
}

// compose sets the node's environment from a.
func (n *node) compose(a launch.Addrs) error {
	env, err := n.spec.Env(a)
	if err != nil {
		return &launch.StartError{Node: n.name, Cause: err}
	}
	n.env = env
	return nil
}

// pickPorts picks the host ports the node's ports are published on.
func (n *node) pickPorts() (err error) {
	l := n.spec.Service.Launch
	n.waitAddr = ""
	if n.addr, err = freeAddr(); err == nil && l.Wait.Port != 0 && l.Wait.Port != l.Port {
		n.waitAddr, err = freeAddr()
	}
	return err
}

// ensureNodeImage makes sure image is on this machine, pulling it once
// when it is not; the engine's word is the error's.
func ensureNodeImage(ctx context.Context, cli *testcontainers.DockerClient, name, image string) error {
	if _, err := cli.ImageInspect(ctx, image); err == nil {
		return nil
	}
	err := pull(ctx, cli, image)
	if err != nil {
		return &launch.StartError{Node: name, Cause: fmt.Errorf("image %s is not on this machine and cannot be pulled: %w", image, err)}
	}
	return nil
}

// pull pulls image, reading the engine's progress for its failure.
func pull(ctx context.Context, cli *testcontainers.DockerClient, image string) error {
	res, err := cli.ImagePull(ctx, image, client.ImagePullOptions{})
	if err != nil {
		return err
	}
	defer res.Close()
	dec := json.NewDecoder(res)
	for {
		var msg struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}

// startNodes starts every node at once and returns the errors of those
// that did not come up.
func startNodes(ctx context.Context, run nodeRun, nodes []*node) error {
	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	for i, n := range nodes {
		wg.Go(func() { errs[i] = startNode(ctx, run, n) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// startNode starts the node's container and waits until it is ready, on
// other host ports when another process took the ones picked for it.
// A node that does not come up is a *launch.StartError with its last
// lines of output.
func startNode(ctx context.Context, run nodeRun, n *node) error {
	var err error
	for try := 0; try < 3; try++ {
		if err = n.pickPorts(); err != nil {
			return &launch.StartError{Node: n.name, Cause: err}
		}
		var w *nodeWait
		w, err = startNodeOnce(ctx, run, n)
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "port is already allocated") {
			return n.startError(ctx, run.cli, w, err)
		}
		if n.c != nil {
			testcontainers.TerminateContainer(n.c)
			n.c = nil
		}
	}
	if err != nil {
		return &launch.StartError{Node: n.name, Cause: err}
	}
	if n.spec.LogPath != "" {
		if n.log, err = openNodeLog(n.spec.LogPath); err != nil {
			return &launch.StartError{Node: n.name, Cause: err}
		}
		n.log.follow(run.cli, n.c.GetContainerID())
	}
	return nil
}

// startNodeOnce creates and starts the node's container and waits for it.
func startNodeOnce(ctx context.Context, run nodeRun, n *node) (*nodeWait, error) {
	l := n.spec.Service.Launch
	port := strconv.Itoa(l.Port)
	w := newNodeWait(l, n)
	exposed := []string{port + "/tcp"}
	if n.waitAddr != "" {
		exposed = append(exposed, strconv.Itoa(l.Wait.Port)+"/tcp")
	}
	req := testcontainers.ContainerRequest{
		Image:          l.Image,
		Env:            envMap(n.env),
		ExposedPorts:   exposed,
		Networks:       []string{run.net},
		NetworkAliases: map[string][]string{run.net: {n.alias}},
		Labels:         maps.Clone(run.labels), // testcontainers adds its own to the map

		Name: "tracerig-" + run.runID + "-node-" + n.alias,
		HostConfigModifier: func(hc *container.HostConfig) {
			publish(hc, port, n.addr)
			if n.waitAddr != "" {
				publish(hc, strconv.Itoa(l.Wait.Port), n.waitAddr)
			}
		},
		WaitingFor: w,
	}
	if l.Command != nil {
		req.Cmd = launch.Args(l, l.Port)
	}
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true})
	if c != nil {
		n.c = c
	}
	return w, err
}

// envMap turns NAME=VALUE pairs into the container's environment, a later
// value of a name winning.
func envMap(env []string) map[string]string {
	out := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

// startError says why the node did not come up: what its wait saw, else
// what the engine said; with its last lines of output, which also go to
// its log file.
func (n *node) startError(ctx context.Context, cli *testcontainers.DockerClient, w *nodeWait, err error) error {
	cause := err
	if w != nil && w.err != nil {
		cause = w.err
	} else {
		cause = fmt.Errorf("container of image %s: %w", n.spec.Service.Launch.Image, err)
	}
	se := &launch.StartError{Node: n.name, Cause: cause}
	if n.c == nil {
		return se
	}
	out, rerr := containerOutput(context.WithoutCancel(ctx), cli, n.c.GetContainerID())
	if rerr != nil {
		return se
	}
	se.Lines = lastLines(out, maxStartLines)
	if n.spec.LogPath != "" && writeNodeLog(n.spec.LogPath, out) == nil {
		se.Log = n.spec.LogPath
	}
	return se
}

// maxStartLines is how many lines of a node's output a StartError quotes.
const maxStartLines = 20

// lastLines returns the last n non-empty lines of out.
func lastLines(out []byte, n int) []string {
	var lines []string
	for l := range strings.SplitSeq(strings.TrimRight(string(out), "\n"), "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}
