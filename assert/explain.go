package assert

import (
	"strings"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// traceHeaders are the headers that carry a trace context; tracestate and
// baggage alone do not.
const traceHeaders = record.HeaderTraceparent | record.HeaderB3Single |
	record.HeaderB3Multi | record.HeaderUberTraceID

// defaultPropagators returns what a service reads when its topology names none.
func defaultPropagators() []topology.Propagator {
	return []topology.Propagator{topology.PropTraceContext, topology.PropBaggage}
}

// propagatorHeaders returns the trace headers a propagator extracts. The B3
// propagator extracts both the single and the multi-header encoding.
func propagatorHeaders(p topology.Propagator) record.Header {
	switch p {
	case topology.PropTraceContext:
		return record.HeaderTraceparent
	case topology.PropB3, topology.PropB3Multi:
		return record.HeaderB3Single | record.HeaderB3Multi
	case topology.PropJaeger:
		return record.HeaderUberTraceID
	}
	return 0
}

// propagators returns the service's propagators, defaulted.
func propagators(s *topology.Service) []topology.Propagator {
	if s == nil || len(s.Propagators) == 0 {
		return defaultPropagators()
	}
	return s.Propagators
}

// readable returns the trace headers the service's propagators extract; an
// unknown or uninstrumented service reads every known format.
func readable(s *topology.Service) record.Header {
	if s == nil || !s.Instrumented {
		return traceHeaders
	}
	var h record.Header
	for _, p := range propagators(s) {
		h |= propagatorHeaders(p)
	}
	return h
}

// injected returns the headers the service's propagators write, the ones a
// callee is expected to receive.
func injected(s *topology.Service) record.Header {
	var h record.Header
	for _, p := range propagators(s) {
		switch p {
		case topology.PropB3:
			h |= record.HeaderB3Single
		case topology.PropB3Multi:
			h |= record.HeaderB3Multi
		default:
			h |= propagatorHeaders(p)
		}
	}
	return h
}

// readsList names the service's trace propagators for a message: "[b3]".
func readsList(s *topology.Service) string {
	if s == nil || !s.Instrumented {
		return "[any format]"
	}
	var names []string
	for _, p := range propagators(s) {
		if propagatorHeaders(p) != 0 {
			names = append(names, string(p))
		}
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// explainBreak says why hop h's callee did not continue exp, from the
// headers each end saw and the services' propagators. caller and callee may
// be nil when the topology does not know them. The result depends only on
// the edge and the kind of break, so breaks group into few findings; the
// IDs go into examples.
func explainBreak(h *record.Hop, exp record.Context, caller, callee *topology.Service) string {
	if m := h.Message; m != nil && h.Got.IsValid() {
		return "consumer extracted another context than the producer put in the message"
	}
	if h.Got.IsValid() {
		if h.Got.Trace != exp.Trace {
			return "callee continued a different trace than the caller's"
		}
		return "wrong parent span: callee's parent is not the caller's span"
	}
	prefix := "callee started a new trace: "
	switch {
	case callee != nil && !callee.Instrumented:
		prefix = "callee got no trace context: "
	case h.Message != nil && h.Message.Parent:
		prefix = "consumer started a new trace: "
	case h.Message != nil:
		prefix = "consumer span linked to nothing: "
	}
	sent, got := h.SentHeaders&traceHeaders, h.GotHeaders&traceHeaders
	reads := readable(callee)
	switch {
	case sent == 0 && caller != nil && !caller.Instrumented && !caller.ForwardHeaders:
		return prefix + "uninstrumented hop dropped the trace headers"
	case sent == 0:
		want := "expected " + (reads & injectedOr(caller, reads)).String()
		return prefix + "caller sent no trace headers (" + want + ")"
	case got == 0 && h.Message != nil:
		return prefix + "trace headers lost between producer and consumer (sent " + sent.String() + " in the message, received none)"
	case got == 0:
		return prefix + "trace headers lost in transit (sent " + sent.String() + ", received none)"
	case got&reads == 0 && sent&reads != 0:
		return prefix + "trace headers lost in transit (sent " + sent.String() +
			", received " + got.String() + ")"
	case got&reads == 0:
		return prefix + "callee reads " + readsList(callee) + " but received " + got.String()
	default:
		return prefix + "callee could not parse the received " + (got & reads).String() + " header"
	}
}

// injectedOr returns what caller injects when it is known and instrumented
// and shares a format with the callee, else fallback.
func injectedOr(caller *topology.Service, fallback record.Header) record.Header {
	if caller == nil || !caller.Instrumented {
		return fallback
	}
	if h := injected(caller); h&fallback != 0 {
		return h
	}
	return fallback
}
