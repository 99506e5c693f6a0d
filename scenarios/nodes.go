package scenarios

// This file starts the services of the user's that a topology names with
// image: or command:, beside the simulated ones, and stops them with the
// run.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/tracerig/tracerig/internal/otlpconf"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/simulator/containers"
	"github.com/tracerig/tracerig/simulator/launch"
	"github.com/tracerig/tracerig/topology"
)

// nodePlan is what a run decides about its started services before any
// of them, or of the simulated ones, runs: each command node's port.
type nodePlan struct {
	topo   *topology.Topology
	ports  map[string]int // command nodes' loopback ports
	logDir string
	tmpDir bool // logDir is the run's own, removed with it
	id     launch.Identity
	getenv func(string) string
}

// planNodes picks the ports of sc's command nodes and the folder of the
// started services' logs: OutDir/logs, or a temporary folder. nil when
// sc starts no service of the user's.
func planNodes(sc *topology.Scenario, opts Options) (*nodePlan, error) {
	var launched []*topology.Service
	for _, s := range sc.Topology.Services {
		if s.IsLaunched() {
			launched = append(launched, s)
		}
	}
	if len(launched) == 0 {
		return nil, nil
	}
	p := &nodePlan{topo: sc.Topology, ports: map[string]int{}, getenv: opts.getenv(),
		id: launch.Identity{RunID: opts.RunID.String(), ResourceAttributes: otlpconf.FormatResourceAttributes(opts.ResourceAttributes)}}
	// A ${VAR} in a node's env that is not set is a mistake in the
	// scenario, found before anything starts.
	var errs []error
	for _, s := range launched {
		for _, e := range s.Launch.Env {
			if _, err := topology.ExpandEnv(fmt.Sprintf("services.%s.env.%s", s.Name, e.Name), e.Value, p.getenv); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, s := range launched {
		if s.Launch.IsImage() {
			continue
		}
		port := s.Launch.Port
		if port == 0 {
			var err error
			if port, err = launch.FreePort(); err != nil {
				return nil, &RuntimeError{fmt.Errorf("start %s: %w", s.Name, err)}
			}
		}
		p.ports[s.Name] = port
	}
	if opts.OutDir != "" {
		p.logDir = filepath.Join(opts.OutDir, "logs")
	} else {
		dir, err := os.MkdirTemp("", "tracerig-logs-")
		if err != nil {
			return nil, &RuntimeError{fmt.Errorf("a folder for the started services' logs: %w", err)}
		}
		p.logDir, p.tmpDir = dir, true
	}
	return p, nil
}

// hostAddrs returns the addresses of the command nodes, which run on this
// machine, for a runtime that must know them before they start.
func (p *nodePlan) hostAddrs() map[string]string {
	if p == nil {
		return nil
	}
	out := map[string]string{}
	for name, port := range p.ports {
		out[name] = fmt.Sprintf("127.0.0.1:%d", port)
	}
	return out
}

// removeLogs removes the logs' folder when it is the run's own; nil-safe.
func (p *nodePlan) removeLogs() {
	if p != nil && p.tmpDir {
		os.RemoveAll(p.logDir)
	}
}

// logPath is where service's output goes.
func (p *nodePlan) logPath(service string) string {
	return filepath.Join(p.logDir, service+".log")
}

// imageSpecs returns the image nodes of the plan as the containers package
// starts them, each composing its environment from where it runs.
func (p *nodePlan) imageSpecs() []containers.NodeSpec {
	if p == nil {
		return nil
	}
	var out []containers.NodeSpec
	for _, s := range p.topo.Services {
		if !s.IsLaunched() || !s.Launch.IsImage() {
			continue
		}
		out = append(out, containers.NodeSpec{
			Service: s,
			LogPath: p.logPath(s.Name),
			Env: func(a launch.Addrs) ([]string, error) {
				return launch.Env(p.topo, s, s.Launch.Port, p.id, a, p.getenv)
			},
		})
	}
	return out
}

// nodes are the started services of a run.
type nodes struct {
	plan   *nodePlan
	procs  []*launch.Node
	images *containers.Nodes
	once   sync.Once
	err    error
}

// hostView is where a service started on this machine reaches the others:
// at the addresses the runtime reaches them, and the run's OTLP endpoint.
type hostView struct {
	rt   *simulator.Runtime
	otlp string
}

func (v hostView) Service(name string, i int) string { return v.rt.Endpoint(name, i) }
func (v hostView) OTLP() string                      { return v.otlp }

// startNodes starts the services of the user's that plan holds, once the
// runtime up runs: the command nodes on this machine; the image nodes too
// in process (a runtime in containers started them itself). Each is ready
// when it returns; on error, none is left running.
func startNodes(ctx context.Context, sc *topology.Scenario, plan *nodePlan, up started) (*nodes, error) {
	if plan == nil {
		return nil, nil
	}
	n := &nodes{plan: plan}
	rt := up.rt
	for name, port := range plan.ports {
		if err := rt.SetAddr(name, fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
			return nil, &RuntimeError{err}
		}
	}
	view := hostView{rt: rt, otlp: up.snk.Endpoint()}
	if sc.Runtime == topology.RuntimeInProcess {
		if specs := plan.imageSpecs(); len(specs) > 0 {
			var err error
			n.images, err = containers.StartNodes(ctx, specs, containers.NodesOptions{
				RunID: plan.id.RunID, OTLP: view.otlp,
				Targets: func(service string, i int) string { return rt.Endpoint(service, i) },
			})
			if err != nil {
				return nil, &RuntimeError{err}
			}
			for _, s := range specs {
				if err := rt.SetAddr(s.Service.Name, n.images.Addr(s.Service.Name)); err != nil {
					n.stop(ctx)
					return nil, &RuntimeError{err}
				}
			}
		}
	}
	if err := n.startProcesses(ctx, view); err != nil {
		n.stop(ctx)
		return nil, &RuntimeError{err}
	}
	return n, nil
}

// startProcesses starts every command node at once and waits for each.
func (n *nodes) startProcesses(ctx context.Context, view hostView) error {
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	for _, s := range n.plan.topo.Services {
		if !s.IsLaunched() || s.Launch.IsImage() {
			continue
		}
		port := n.plan.ports[s.Name]
		env, err := launch.Env(n.plan.topo, s, port, n.plan.id, view, n.plan.getenv)
		if err != nil {
			return err
		}
		wg.Go(func() {
			node, err := launch.StartProcess(ctx, launch.Process{
				Name: s.Name, Argv: launch.Args(s.Launch, port), Env: env,
				Port: port, Wait: s.Launch.Wait, LogPath: n.plan.logPath(s.Name),
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			n.procs = append(n.procs, node)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// stop stops every started service, once: the command nodes (SIGTERM,
// then SIGKILL after their grace) and the image nodes' containers. It is
// nil-safe.
func (n *nodes) stop(ctx context.Context) error {
	if n == nil {
		return nil
	}
	n.once.Do(func() {
		var errs []error
		for _, p := range n.procs {
			errs = append(errs, p.Stop(ctx))
		}
		if n.images != nil {
			errs = append(errs, n.images.Close(ctx))
		}
		n.plan.removeLogs()
		n.err = errors.Join(errs...)
	})
	return n.err
}
