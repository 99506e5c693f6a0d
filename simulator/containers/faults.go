package containers

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/client"

	"github.com/tracerig/tracerig/simulator/remote"
	"github.com/tracerig/tracerig/topology"
)

// applyFault is the host runtime's Applier. Instance faults act on the
// containers themselves: crash = docker kill (its ledger is taken first, so
// the spans it had ended and not exported count as lost), restart = kill and
// start again, pause = docker pause. Every other fault is forwarded to the
// control API of the containers it concerns: a service's instances for a
// service fault, the caller's instances for an edge fault (partition,
// header faults: the caller plays the network between the two). Pipeline
// faults act on the host's export pipe (Options.Pipe).
func (r *Runtime) applyFault(f topology.Fault, _ time.Time) (func(), error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch f.Kind {
	case topology.FaultCrash, topology.FaultRestart:
		return r.crash(ctx, f.Target)
	case topology.FaultPause:
		return r.pause(ctx, f.Target)
	case topology.FaultBrokerOutage:
		return r.brokerOutage(ctx, f.Target.Broker)
	case topology.FaultExporterOutage, topology.FaultSlowBackend:
		// The host runtime plays them on the export pipe (Options.Pipe).
		if r.opts.Pipe == nil {
			return nil, fmt.Errorf("%s needs the export pipe between the services and the backend; the run has none", f.Kind)
		}
		return nil, nil
	}
	return r.forward(ctx, f)
}

// crash kills the target's container; the undo starts it again.
func (r *Runtime) crash(ctx context.Context, t topology.FaultTarget) (func(), error) {
	in := r.instance(t.Service, t.Instance)
	if in == nil {
		return nil, fmt.Errorf("no container for %s-%d", t.Service, t.Instance)
	}
	if err := r.kill(ctx, in); err != nil {
		return nil, err
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.restart(ctx, in); err != nil {
			r.logf("restart %s: %v", in.alias, err)
		}
	}, nil
}

// pause pauses the target's containers; the undo unpauses them. No Pull
// takes from a paused container: a take it could not answer would be
// answered once it runs again, to a host that gave up on it.
func (r *Runtime) pause(ctx context.Context, t topology.FaultTarget) (func(), error) {
	ins := r.targets(t.Service, t.Instance)
	for _, in := range ins {
		in.rem.SetDown(true)
		if _, err := r.cli.ContainerPause(ctx, in.c.GetContainerID(), client.ContainerPauseOptions{}); err != nil {
			return nil, fmt.Errorf("pause %s: %w", in.alias, err)
		}
	}
	return func() {
		for _, in := range ins {
			r.cli.ContainerUnpause(context.Background(), in.c.GetContainerID(), client.ContainerUnpauseOptions{})
			in.rem.SetDown(false)
		}
	}, nil
}

// forward plants f on the control API of the containers that play it: the
// target service's instances, or the caller's for an edge fault.
func (r *Runtime) forward(ctx context.Context, f topology.Fault) (func(), error) {
	var ins []*remote.Instance
	for _, in := range r.targets(remote.Caller(f)) {
		ins = append(ins, in.rem)
	}
	return remote.Plant(ctx, f, ins)
}

func (r *Runtime) instance(service string, i int) *instance {
	r.mu.Lock()
	defer r.mu.Unlock()
	ins := r.insts[service]
	if i < 0 || i >= len(ins) {
		return nil
	}
	return ins[i]
}

// targets returns instance i of service, or all of them for i < 0.
func (r *Runtime) targets(service string, i int) []*instance {
	if i >= 0 {
		if in := r.instance(service, i); in != nil {
			return []*instance{in}
		}
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*instance(nil), r.insts[service]...)
}

// kill takes the container's ledger, then kills it (SIGKILL). No Pull
// takes from it until restart has it answer again.
func (r *Runtime) kill(ctx context.Context, in *instance) error {
	takeErr, err := in.rem.Stop(ctx, r.Runtime.Ledger(), func() error {
		_, err := r.cli.ContainerKill(ctx, in.c.GetContainerID(), client.ContainerKillOptions{Signal: "KILL"})
		return err
	})
	if takeErr != nil {
		r.logf("ledger of %s before the kill: %v", in.alias, takeErr)
	}
	if err != nil {
		return fmt.Errorf("kill %s: %w", in.alias, err)
	}
	return nil
}

// restart starts a killed container again and waits until it answers.
func (r *Runtime) restart(ctx context.Context, in *instance) error {
	if _, err := r.cli.ContainerStart(ctx, in.c.GetContainerID(), client.ContainerStartOptions{}); err != nil {
		return err
	}
	for {
		if err := in.rem.Control.Health(ctx); err == nil {
			in.rem.SetDown(false)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer after its restart: %w", in.alias, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
