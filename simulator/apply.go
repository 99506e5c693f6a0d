package simulator

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tracerig/tracerig/topology"
)

// apply makes the changes a fault needs beyond what the request paths
// consult on their own, and returns how to revert them.
func (rt *Runtime) apply(a *activeFault) func() {
	f := a.f
	var external func()
	if rt.cfg.applier != nil {
		undo, err := rt.cfg.applier(f, a.start)
		if err != nil {
			rt.fail(fmt.Errorf("apply %s: %w", a.desc, err))
		}
		external = undo
	}
	local := rt.applyLocal(a)
	if external == nil {
		return local
	}
	return func() {
		if local != nil {
			local()
		}
		external()
	}
}

func (rt *Runtime) applyLocal(a *activeFault) func() {
	f := a.f
	switch f.Kind {
	case topology.FaultCrash, topology.FaultRestart:
		in := rt.local(f.Target.Service, f.Target.Instance)
		if in == nil {
			return nil
		}
		in.crash(a.start)
		return func() { in.restart() }
	case topology.FaultQueueOverflow:
		var undo []func()
		for _, in := range rt.targetInstances(f.Target) {
			undo = append(undo, in.shrinkQueue(f.Queue))
		}
		return func() {
			for _, u := range undo {
				u()
			}
		}
	case topology.FaultPartition:
		rt.dropConns(f.Target.From, f.Target.To)
		return func() { rt.dropConns(f.Target.From, f.Target.To) }
	case topology.FaultExporterOutage:
		if rt.cfg.pipe == nil {
			return nil
		}
		rt.cfg.pipe.setOutage(true)
		return func() { rt.cfg.pipe.setOutage(false) }
	case topology.FaultSlowBackend:
		if rt.cfg.pipe == nil {
			return nil
		}
		rt.cfg.pipe.setDelay(f.Delay)
		return func() { rt.cfg.pipe.setDelay(0) }
	case topology.FaultClockSkew:
		return rt.addSkew(f.Target, f.Skew, a.start)
	case topology.FaultBrokerOutage:
		ref := rt.msg.brokers[f.Target.Broker]
		if ref == nil || ref.embedded == nil {
			return nil // run elsewhere: the runtime that runs it stops it
		}
		ref.embedded.Stop()
		return func() {
			if err := ref.embedded.Start(context.Background()); err != nil {
				rt.fail(fmt.Errorf("restart broker %s after %s: %w", f.Target.Broker, a.desc, err))
			}
		}
	}
	return nil
}

// targetInstances returns the instances a service target names.
func (rt *Runtime) targetInstances(t topology.FaultTarget) []*instance {
	if t.Instance >= 0 {
		if in := rt.local(t.Service, t.Instance); in != nil {
			return []*instance{in}
		}
		return nil
	}
	return rt.locals(t.Service)
}

// dropConns closes the gRPC connections from → to, so the next call dials
// again through the partition (or past its end).
func (rt *Runtime) dropConns(from, to string) {
	for _, in := range rt.locals(from) {
		in.dropConns(to)
	}
}

// addSkew opens a clock-skew window; the returned undo closes it.
func (rt *Runtime) addSkew(t topology.FaultTarget, skew topology.SkewFault, start time.Time) func() {
	rt.fx.mu.Lock()
	defer rt.fx.mu.Unlock()
	w := skewWindow{service: t.Service, instance: t.Instance, from: start.UnixNano(), skew: skew}
	var ws []skewWindow
	if p := rt.fx.skews.Load(); p != nil {
		ws = slices.Clone(*p)
	}
	ws = append(ws, w)
	idx := len(ws) - 1
	rt.fx.skews.Store(&ws)
	return func() {
		rt.fx.mu.Lock()
		defer rt.fx.mu.Unlock()
		next := slices.Clone(*rt.fx.skews.Load())
		next[idx].to = time.Now().UnixNano()
		rt.fx.skews.Store(&next)
	}
}

// skewAt returns the clock skew of instance in at unix time t.
func (rt *Runtime) skewAt(in *instance, t int64) time.Duration {
	p := rt.fx.skews.Load()
	if p == nil {
		return 0
	}
	var d time.Duration
	for _, w := range *p {
		if w.service != in.svc.Name || (w.instance >= 0 && w.instance != in.index) {
			continue
		}
		if t < w.from || (w.to != 0 && t > w.to) {
			continue
		}
		d += w.skew.Offset + time.Duration(float64(w.skew.Drift)*float64(t-w.from)/float64(time.Second))
	}
	return d
}
