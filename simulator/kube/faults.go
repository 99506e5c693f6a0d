package kube

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tracerig/tracerig/simulator/remote"
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
	var old string
	if p, err := r.cs.CoreV1().Pods(r.ns).Get(ctx, in.pod, metav1.GetOptions{}); err == nil {
		old = string(p.UID)
	}
	zero := int64(0)
	takeErr, err := in.rem.Stop(ctx, r.Runtime.Ledger(), func() error {
		return r.cs.CoreV1().Pods(r.ns).Delete(ctx, in.pod, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	})
	if takeErr != nil {
		r.logf("ledger of %s before the crash: %v", in.pod, takeErr)
	}
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
// answers its control API through the port-forward, and every pod reaches
// it.
func (r *Runtime) waitReplaced(ctx context.Context, in *instance, old string) error {
	for {
		p, err := r.cs.CoreV1().Pods(r.ns).Get(ctx, in.pod, metav1.GetOptions{})
		if err == nil && string(p.UID) != old && podReady(p) && in.rem.Control.Health(ctx) == nil && r.reached(ctx) {
			in.rem.SetDown(false)
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

// reached reports whether every pod reaches the instances it calls: the
// cluster's service proxy sends a replaced pod's Service to its new
// address a moment after the pod is ready, and calls sent before would
// fail outside the fault's window.
func (r *Runtime) reached(ctx context.Context) bool {
	for _, in := range r.all() {
		if in.rem.Control.Peers(ctx) != nil {
			return false
		}
	}
	return true
}

// forward plants f on the control API of the pods that play it: the target
// service's instances, or the caller's for an edge fault.
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
