package containers

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/moby/moby/client"

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
		in := r.instance(f.Target.Service, f.Target.Instance)
		if in == nil {
			return nil, fmt.Errorf("no container for %s-%d", f.Target.Service, f.Target.Instance)
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
	case topology.FaultPause:
		ins := r.targets(f.Target.Service, f.Target.Instance)
		for _, in := range ins {
			if _, err := r.cli.ContainerPause(ctx, in.c.GetContainerID(), client.ContainerPauseOptions{}); err != nil {
				return nil, fmt.Errorf("pause %s: %w", in.alias, err)
			}
		}
		return func() {
			for _, in := range ins {
				r.cli.ContainerUnpause(context.Background(), in.c.GetContainerID(), client.ContainerUnpauseOptions{})
			}
		}, nil
	case topology.FaultExporterOutage, topology.FaultSlowBackend:
		// The host runtime plays them on the export pipe (Options.Pipe).
		if r.opts.Pipe == nil {
			return nil, fmt.Errorf("%s needs the export pipe between the services and the backend; the run has none", f.Kind)
		}
		return nil, nil
	}
	svc := f.Target.Service
	inst := f.Target.Instance
	if f.Target.From != "" {
		svc, inst = f.Target.From, -1
	}
	ins := r.targets(svc, inst)
	body, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	ids := make([]int, len(ins))
	errs := make([]error, len(ins))
	var wg sync.WaitGroup
	for i, in := range ins {
		wg.Go(func() {
			b, err := do(ctx, "POST", "http://"+in.ctlAddr+"/faults?number=1", "struct", body)
			if err != nil {
				errs[i] = err
				return
			}
			var res struct{ ID int }
			errs[i] = json.Unmarshal(b, &res)
			ids[i] = res.ID
		})
	}
	wg.Wait()
	undo := func() {
		var wg sync.WaitGroup
		for i, in := range ins {
			if ids[i] == 0 {
				continue
			}
			wg.Go(func() {
				do(context.Background(), "DELETE", "http://"+in.ctlAddr+"/faults/"+strconv.Itoa(ids[i]), "", nil)
			})
		}
		wg.Wait()
	}
	for _, err := range errs {
		if err != nil {
			return undo, fmt.Errorf("forward %s: %w", f.Kind, err)
		}
	}
	return undo, nil
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

// kill takes the container's ledger, then kills it (SIGKILL).
func (r *Runtime) kill(ctx context.Context, in *instance) error {
	if b, err := get(ctx, "http://"+in.ctlAddr+"/ledger"); err == nil {
		r.mu.Lock()
		r.saved = append(r.saved, b)
		r.mu.Unlock()
	} else {
		r.logf("ledger of %s before the kill: %v", in.alias, err)
	}
	if _, err := r.cli.ContainerKill(ctx, in.c.GetContainerID(), client.ContainerKillOptions{Signal: "KILL"}); err != nil {
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
		if _, err := get(ctx, "http://"+in.ctlAddr+"/healthz"); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer after its restart: %w", in.alias, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
