package simulator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/tracerig/tracerig/topology"
)

// callError reports a downstream call that failed after all its attempts.
type callError struct {
	call *topology.Call
	err  error
}

func (e *callError) Error() string {
	return fmt.Sprintf("call %s %s: %v", e.call.Service, e.call.Route, e.err)
}

func (e *callError) Unwrap() error { return e.err }

// inbound is the request an instance is serving.
type inbound struct {
	hop     uint64
	request uint64
	route   *topology.Route
	// instrumented says whether this request is traced (false for an
	// uninstrumented service, or one under an uninstrument fault).
	instrumented bool
	// forward holds the trace headers to pass on, for an uninstrumented
	// service that forwards them; keys in lower case.
	forward map[string]string
}

// handle does a route's work: its own latency, then its calls, then its
// error draw. All random decisions come from the hop's own source, drawn in
// a fixed order, so a seed reproduces them.
func (in *instance) handle(ctx context.Context, req *inbound) error {
	route := req.route
	rng := hopRand(in.rt.cfg.seed, req.hop)
	latency := route.Latency.Draw(rng)
	var fail *injected
	if rng.Float64() < route.Errors.Rate {
		fail = &injected{httpStatus: route.Errors.HTTPStatus, grpcCode: route.Errors.GRPCCode}
	}
	latency, fail, pause := in.serveFaults(route, req.hop, latency, fail, rng.Float64())
	if pause != nil {
		select {
		case <-pause:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := sleep(ctx, latency); err != nil {
		return err
	}
	if err := in.runSteps(ctx, req, route.Calls); err != nil {
		return err
	}
	if fail != nil {
		// The exception event says why the span is an error; otelhttp and
		// otelgrpc set the status from the answer.
		trace.SpanFromContext(ctx).RecordError(fail)
		return fail
	}
	return nil
}

func (in *instance) runSteps(ctx context.Context, req *inbound, steps []topology.Step) error {
	for i := range steps {
		if err := in.runStep(ctx, req, &steps[i]); err != nil {
			return err
		}
	}
	return nil
}

func (in *instance) runStep(ctx context.Context, req *inbound, st *topology.Step) error {
	switch st.Kind {
	case topology.StepCall:
		return in.call(ctx, req, st.Call)
	case topology.StepPublish:
		return in.publish(ctx, req, st.Publish)
	case topology.StepSequence:
		return in.runSteps(ctx, req, st.Steps)
	case topology.StepParallel:
		errs := make([]error, len(st.Steps))
		var wg sync.WaitGroup
		for i := range st.Steps {
			wg.Go(func() { errs[i] = in.runStep(ctx, req, &st.Steps[i]) })
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	return nil
}

// call makes one call with its timeout and retries. Each attempt is its own
// hop (and its own client span), sent to an instance picked by the hop ID.
func (in *instance) call(ctx context.Context, req *inbound, c *topology.Call) error {
	target := in.rt.peers[c.Service]
	index := in.rt.callIndex[c]
	c = in.callOptions(c)
	var err error
	for attempt := 0; attempt <= c.Retries; attempt++ {
		if attempt > 0 {
			if serr := sleep(ctx, c.Backoff<<(attempt-1)); serr != nil {
				return &callError{call: c, err: err}
			}
		}
		hop := callHop(req.hop, index, attempt)
		to := target[hop%uint64(len(target))]
		err = in.attempt(ctx, req, c, hop, attempt, to)
		if err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return &callError{call: c, err: err}
	}
	return nil
}

func (in *instance) attempt(ctx context.Context, req *inbound, c *topology.Call, hop uint64, attempt int, to *peer) error {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	out := &outbound{
		from: in, to: to, route: c.Route, hop: hop, parent: req.hop,
		request: req.request, attempt: uint8(min(attempt, 255)), forward: req.forward,
		instrumented: req.instrumented,
	}
	var err error
	if to.svc.Protocol == topology.ProtocolGRPC {
		err = in.sendGRPC(ctx, out)
	} else {
		err = in.sendHTTP(ctx, out)
	}
	if err != nil {
		in.shard.callFailed(hop)
	}
	in.shard.addAnswer(hop, time.Now().UnixNano(), out.idleSince.Load())
	return err
}

// outbound is one request about to leave an instance.
type outbound struct {
	from    *instance
	to      *peer
	route   string
	hop     uint64
	parent  uint64
	request uint64
	attempt uint8
	forward map[string]string
	// instrumented says whether the caller traces this call.
	instrumented bool
	// idleSince is when the kept-alive connection an HTTP call went out on
	// was last used; 0 for a new connection (see record.Hop.ConnIdleSince).
	// Set by the HTTP client's connection trace.
	idleSince atomic.Int64
}

// sendRec returns the ledger's send record of o, without the context.
func (o *outbound) record() sendRec {
	return sendRec{
		hop: o.hop, parent: o.parent, request: o.request, attempt: o.attempt,
		sentAt: time.Now().UnixNano(),
		from:   o.from.svcSym, fromInst: uint16(o.from.index),
		to: o.to.svcSym, toInst: uint16(o.to.index),
		route:      o.from.rt.ledger.syms.id(o.route),
		clientSpan: o.instrumented,
		external:   o.to.local == nil && o.to.svc.IsExternal(),
	}
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
