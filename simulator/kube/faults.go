package kube

import (
	"context"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tracerig/tracerig/topology"
)

// applyFault is the host runtime's Applier. A crash (or restart) deletes
// the instance's pod at once, its ledger taken first; its StatefulSet
// brings a new pod back under the same name and ordinal, and the window
// ends when that pod is ready (the undo waits for it). Every other fault,
// pause included, is planted on the control API of the pods that play it,
// as in the containers runtime: a pause holds every request the pod
// receives until it ends, and an edge fault (partition, header faults) is
// played by the caller's pods. Pipeline faults need the host's export pipe,
// which the pods cannot reach: the scenario is refused before it starts.
func (r *Runtime) applyFault(f topology.Fault, _ time.Time) (func(), error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch f.Kind {
	case topology.FaultCrash, topology.FaultRestart:
		return r.crash(ctx, f.Target)
	case topology.FaultExporterOutage, topology.FaultSlowBackend:
		return nil, fmt.Errorf("%s needs the export pipe between the services and the backend, which a kubernetes run has not", f.Kind)
	}
	return r.forward(ctx, f)
}

// crash deletes the target's pod (no grace); the undo waits until its
// replacement is ready.
func (r *Runtime) crash(ctx context.Context, t topology.FaultTarget) (func(), error) {
	in := r.instance(t.Service, t.Instance)
	if in == nil {
		return nil, fmt.Errorf("no pod for %s-%d", t.Service, t.Instance)
	}
	in.pull.Lock()
	if err := r.takeLocked(ctx, in); err != nil {
		r.logf("ledger of %s before the crash: %v", in.pod, err)
	}
	in.down = true
	var old string
	if p, err := r.cs.CoreV1().Pods(r.ns).Get(ctx, in.pod, metav1.GetOptions{}); err == nil {
		old = string(p.UID)
	}
	zero := int64(0)
	err := r.cs.CoreV1().Pods(r.ns).Delete(ctx, in.pod, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	in.pull.Unlock()
	if err != nil {
		return nil, fmt.Errorf("delete pod %s: %w", in.pod, err)
	}
	in.fwd.reset()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := r.waitReplaced(ctx, in, old); err != nil {
			r.logf("%v", err)
		}
	}, nil
}

// waitReplaced waits until the pod of in is another than uid old, ready,
// and answers its control API through the port-forward.
func (r *Runtime) waitReplaced(ctx context.Context, in *instance, old string) error {
	for {
		p, err := r.cs.CoreV1().Pods(r.ns).Get(ctx, in.pod, metav1.GetOptions{})
		if err == nil && string(p.UID) != old && podReady(p) && in.control().Health(ctx) == nil {
			in.pull.Lock()
			in.down = false
			in.pull.Unlock()
			return nil
		}
		if err != nil && !errNotFound(err) {
			r.logf("pod %s: %v", in.pod, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pod %s was not replaced: %w", in.pod, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// forward plants f on the control API of the pods that play it: the target
// service's instances, or the caller's for an edge fault. The undo clears
// it from each that took it, also after a partial failure.
func (r *Runtime) forward(ctx context.Context, f topology.Fault) (func(), error) {
	svc, inst := f.Target.Service, f.Target.Instance
	if f.Target.From != "" {
		svc, inst = f.Target.From, -1
	}
	ins := r.targets(svc, inst)
	ids := make([]int, len(ins))
	errs := make([]error, len(ins))
	var wg sync.WaitGroup
	for i, in := range ins {
		// Number 1 plants it as a planned fault: the host's timeline
		// opens and closes its window.
		wg.Go(func() { ids[i], errs[i] = in.control().Forward(ctx, f, 1) })
	}
	wg.Wait()
	undo := func() {
		var wg sync.WaitGroup
		for i, in := range ins {
			if ids[i] != 0 {
				wg.Go(func() { in.control().Clear(context.Background(), ids[i]) })
			}
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
