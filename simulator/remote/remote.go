// Package remote is the host's side of instances that run in processes of
// their own (containers, pods), reached through their control APIs: taking
// their ledger records into the host's as the run goes and at its end,
// and planting faults on them. The containers and Kubernetes runtimes
// share it.
package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/simulator/control"
	"github.com/tracerig/tracerig/topology"
)

// Instance is one instance in a process of its own.
type Instance struct {
	// Name names it in messages ("stock-0").
	Name string
	// Control is the client of its control API.
	Control *control.Client

	// mu is held across a take of the instance's records and their merge,
	// so its takes enter the host's ledger in the order they were taken,
	// and while a fault stops its process, so that none is taken from it
	// meanwhile. It guards the fields below.
	mu sync.Mutex
	// merger merges its takes into the host's ledger, those of the
	// processes a restart starts included, into one shard per shard of
	// theirs.
	merger *simulator.Merger
	// down says a fault stopped it (killed, deleted, paused): Pull skips it.
	down bool
	// merged is the ID of the last batch of its records merged, which the
	// next take acknowledges.
	merged string
}

// take takes the records the instance wrote since its last take into l.
// The caller holds in.mu.
func (in *Instance) take(ctx context.Context, l *simulator.Ledger) error {
	id, b, err := in.Control.TakeLedger(ctx, in.merged)
	if err != nil {
		return fmt.Errorf("take the ledger of %s: %w", in.Name, err)
	}
	if in.merger == nil {
		in.merger = l.Merger()
	}
	if err := in.merger.Merge(bytes.NewReader(b)); err != nil {
		return fmt.Errorf("merge the ledger of %s: %w", in.Name, err)
	}
	in.merged = id
	return nil
}

// Stop takes the instance's records into l, marks it down and runs stop
// (a kill, a delete), so that the spans it had ended and not exported
// count as lost. It returns the take's error and stop's apart: a take that
// failed does not keep the fault from being played.
func (in *Instance) Stop(ctx context.Context, l *simulator.Ledger, stop func() error) (takeErr, stopErr error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	takeErr = in.take(ctx, l)
	in.down = true
	return takeErr, stop()
}

// SetDown says whether a fault stopped the instance, once no take from it
// is under way.
func (in *Instance) SetDown(down bool) {
	in.mu.Lock()
	in.down = down
	in.mu.Unlock()
}

// Pull takes the records every instance that runs wrote since its last
// take into l, at most most at a time; an instance a fault stopped is
// skipped, its records taken when it was stopped and once it runs again.
// Records Pull takes are gone from the instance: Flush takes only what is
// left.
func Pull(ctx context.Context, l *simulator.Ledger, ins []*Instance, most int) error {
	errs := make([]error, len(ins))
	sem := make(chan struct{}, max(1, most))
	var wg sync.WaitGroup
	for i, in := range ins {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			in.mu.Lock()
			defer in.mu.Unlock()
			if !in.down {
				errs[i] = in.take(ctx, l)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Flush asks every instance to stop serving and flush its spans, and takes
// what is left of its records into l.
func Flush(ctx context.Context, l *simulator.Ledger, ins []*Instance) error {
	errs := make([]error, len(ins))
	var wg sync.WaitGroup
	for i, in := range ins {
		wg.Go(func() {
			if err := in.Control.Shutdown(ctx); err != nil {
				errs[i] = fmt.Errorf("flush %s: %w", in.Name, err)
			}
			in.mu.Lock()
			defer in.mu.Unlock()
			errs[i] = errors.Join(errs[i], in.take(ctx, l))
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Plant plants f on the control API of every instance of ins, as a
// planned fault (the host's timeline opens and closes its window). The
// undo clears it from each that took it, also after a partial failure.
func Plant(ctx context.Context, f topology.Fault, ins []*Instance) (func(), error) {
	ids := make([]int, len(ins))
	errs := make([]error, len(ins))
	var wg sync.WaitGroup
	for i, in := range ins {
		wg.Go(func() { ids[i], errs[i] = in.Control.Forward(ctx, f, 1) })
	}
	wg.Wait()
	undo := func() {
		var wg sync.WaitGroup
		for i, in := range ins {
			if ids[i] != 0 {
				wg.Go(func() { in.Control.Clear(context.Background(), ids[i]) })
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

// Caller returns the service whose instances play f, and which of them
// (-1: all): the target service's, or for an edge fault the caller's,
// which plays the network.
func Caller(f topology.Fault) (service string, instance int) {
	if f.Target.From != "" {
		return f.Target.From, -1
	}
	return f.Target.Service, f.Target.Instance
}
