package containers

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/tracerig/tracerig/simulator/launch"
	"github.com/tracerig/tracerig/topology"
)

// isImageNode reports whether s is a service of the user's that runs from
// a container image.
func isImageNode(s *topology.Service) bool { return s.IsLaunched() && s.Launch.IsImage() }

// planNodes checks Options.Nodes against the topology, one for each image
// node, each alias free on the network, and each image on this machine.
func (r *Runtime) planNodes(ctx context.Context) error {
	given := map[string]bool{}
	for _, spec := range r.opts.Nodes {
		n, err := newNode(spec)
		if err != nil {
			return err
		}
		if s := r.topo.Service(n.name); s == nil || !isImageNode(s) {
			return fmt.Errorf("image node %s: not an image service of topology %s", n.name, r.topo.Name)
		}
		if given[n.name] {
			return fmt.Errorf("image node %s: given twice", n.name)
		}
		given[n.name] = true
		if taken := r.aliasTaken(n.alias); taken != "" {
			return fmt.Errorf("image node %s: its network alias is taken by %s; rename the service", n.name, taken)
		}
		r.nodes = append(r.nodes, n)
	}
	for _, s := range r.topo.Services {
		if isImageNode(s) && !given[s.Name] {
			return fmt.Errorf("start containers: image node %s (%s) has no NodeSpec in Options.Nodes", s.Name, s.Launch.Image)
		}
	}
	for _, n := range r.nodes {
		if err := ensureNodeImage(ctx, r.cli, n.name, n.spec.Service.Launch.Image); err != nil {
			return err
		}
	}
	return nil
}

// aliasTaken names what else of the run has alias on the network, or "".
func (r *Runtime) aliasTaken(alias string) string {
	switch alias {
	case relayAlias, "backend", "jaeger":
		return "the run's " + alias
	}
	for _, b := range r.topo.Brokers {
		if alias == "broker-"+b.Name {
			return "broker " + b.Name
		}
	}
	for _, s := range r.topo.Services {
		if s.IsExternal() {
			continue
		}
		for i := range s.Instances {
			if alias == fmt.Sprintf("%s-%d", s.Name, i) {
				return "instance " + alias
			}
		}
	}
	return ""
}

// startImageNodes composes every image node's environment, for the run's
// network, and starts them all at once.
func (r *Runtime) startImageNodes(ctx context.Context, externalIn map[string]string, endpoint string) error {
	if len(r.nodes) == 0 {
		return nil
	}
	a := networkAddrs{topo: r.topo, externalIn: externalIn, otlp: endpoint}
	for _, n := range r.nodes {
		if err := n.compose(a); err != nil {
			return err
		}
	}
	run := nodeRun{cli: r.cli, net: r.net.Name, runID: r.runID, labels: r.labels()}
	if err := startNodes(ctx, run, r.nodes); err != nil {
		return err
	}
	for _, n := range r.nodes {
		r.logf("image node %s (%s) ready at %s in the network, %s on the host", n.name, n.spec.Service.Launch.Image, n.inNetwork(), n.addr)
	}
	return nil
}

// closeLogs closes the image nodes' log files, once their containers are
// gone.
func closeLogs(nodes iter.Seq[*node]) error {
	var errs []error
	for n := range nodes {
		errs = append(errs, n.log.close())
		n.log = nil
	}
	return errors.Join(errs...)
}

// networkAddrs is where an image node in a container run reaches things:
// a simulated instance and another image node at their aliases, a service
// on the host at its port of the relay, the backend where the instances
// export.
type networkAddrs struct {
	topo       *topology.Topology
	externalIn map[string]string
	otlp       string
}

func (a networkAddrs) Service(name string, i int) string {
	s := a.topo.Service(name)
	switch {
	case s == nil:
		return ""
	case isImageNode(s):
		return fmt.Sprintf("%s:%d", s.Name, s.Launch.Port)
	case s.IsExternal():
		return a.externalIn[name]
	}
	return fmt.Sprintf("%s-%d:%s", name, i, servicePort)
}

func (a networkAddrs) OTLP() string { return a.otlp }

var _ launch.Addrs = networkAddrs{}
