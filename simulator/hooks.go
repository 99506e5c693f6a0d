package simulator

import (
	"context"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/tracerig/tracerig/topology"
)

// injected is the error of a route that was told to fail: by its own error
// rate or by an errors fault.
type injected struct {
	httpStatus int
	grpcCode   uint32
}

func (e *injected) Error() string { return "injected error" }

// serveFaults adjusts a handler's latency and failure for the faults that
// target the instance and route, and returns the done channel of a pause
// that holds the request. u is the hop's own draw for fault errors, so a
// seed reproduces which requests a fault fails.
func (in *instance) serveFaults(route *topology.Route, hop uint64, latency time.Duration, fail *injected, u float64) (time.Duration, *injected, <-chan struct{}) {
	var pause <-chan struct{}
	in.rt.fx.set.Load().each(func(a *activeFault) bool {
		if !a.targets(in, route.Name) {
			return true
		}
		switch a.f.Kind {
		case topology.FaultLatency:
			l := a.f.Latency
			if l.Replace.Dist != "" {
				latency = l.Replace.Draw(rand.New(rand.NewPCG(in.rt.cfg.seed^0xfa17, hop)))
			}
			if l.Multiply > 0 {
				latency = time.Duration(float64(latency) * l.Multiply)
			}
			latency += l.Add
		case topology.FaultErrors:
			if u < a.f.Errors.Rate {
				fail = &injected{httpStatus: a.f.Errors.HTTPStatus, grpcCode: a.f.Errors.GRPCCode}
			}
		case topology.FaultPause:
			pause = a.done
		}
		return true
	})
	return latency, fail, pause
}

// callOptions returns c with any timeout fault on the edge applied.
func (in *instance) callOptions(c *topology.Call) *topology.Call {
	out := c
	in.rt.fx.set.Load().each(func(a *activeFault) bool {
		if a.f.Kind == topology.FaultTimeout && a.onEdge(in.svc.Name, c.Service) {
			cc := *c
			t := a.f.Timeout
			cc.Timeout = t.Timeout
			if t.Retries >= 0 {
				cc.Retries = t.Retries
			}
			if t.Backoff > 0 {
				cc.Backoff = t.Backoff
			}
			out = &cc
			return false
		}
		return true
	})
	return out
}

// edgeFault returns the active fault of kind on the edge from → to, if any.
func (rt *Runtime) edgeFault(kind topology.FaultKind, from, to string) *activeFault {
	var found *activeFault
	rt.fx.set.Load().each(func(a *activeFault) bool {
		if a.f.Kind == kind && a.onEdge(from, to) {
			found = a
			return false
		}
		return true
	})
	return found
}

// headerFaults returns the header faults active on the edge from → to.
func (rt *Runtime) headerFaults(from, to string) []*activeFault {
	var out []*activeFault
	rt.fx.set.Load().each(func(a *activeFault) bool {
		if isHeaderFault(a.f.Kind) && a.onEdge(from, to) {
			out = append(out, a)
		}
		return true
	})
	return out
}

func isHeaderFault(k topology.FaultKind) bool {
	switch k {
	case topology.FaultStripHeaders, topology.FaultCorruptTraceparent, topology.FaultDuplicateHeader,
		topology.FaultTracestateOverflow, topology.FaultBaggageOverflow:
		return true
	}
	return false
}

// instrumentedNow reports whether the instance traces requests right now,
// and, when it does not, whether it forwards trace headers.
func (in *instance) instrumentedNow() (instrumented, forward bool) {
	instrumented, forward = in.svc.Instrumented, in.svc.ForwardHeaders
	if !instrumented {
		return
	}
	in.rt.fx.set.Load().each(func(a *activeFault) bool {
		if a.f.Kind == topology.FaultUninstrument && a.targets(in, "") {
			instrumented, forward = false, a.f.Forward
			return false
		}
		return true
	})
	return
}

// partitioned blocks or fails a call from → to while a partition is active:
// refuse fails at once, blackhole waits until the caller gives up or the
// partition heals. It returns nil when the call may proceed.
func (rt *Runtime) partitioned(ctx context.Context, from, to string) error {
	a := rt.edgeFault(topology.FaultPartition, from, to)
	if a == nil {
		return nil
	}
	if a.f.Partition == topology.PartitionBlackhole {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-a.done:
			return nil
		}
	}
	return errRefused
}

// faultyPropagator is an instance's propagator: its own formats, or those a
// propagator-mismatch fault imposes for its window.
type faultyPropagator struct{ in *instance }

func (p faultyPropagator) current() propagation.TextMapPropagator {
	prop := p.in.baseProp
	p.in.rt.fx.set.Load().each(func(a *activeFault) bool {
		if a.f.Kind == topology.FaultPropagatorSwitch && a.targets(p.in, "") {
			prop = propagatorFor(a.f.Propagators)
			return false
		}
		return true
	})
	return prop
}

func (p faultyPropagator) Inject(ctx context.Context, c propagation.TextMapCarrier) {
	p.current().Inject(ctx, c)
}

func (p faultyPropagator) Extract(ctx context.Context, c propagation.TextMapCarrier) context.Context {
	return p.current().Extract(ctx, c)
}

func (p faultyPropagator) Fields() []string { return p.current().Fields() }
