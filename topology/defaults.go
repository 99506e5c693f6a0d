package topology

import (
	"slices"
	"time"
)

// Defaults, applied to a freshly decoded struct before the file is read
// over it.
const (
	DefaultMaxSpansPerRequest = 10000
	DefaultInstances          = 1
	DefaultVersion            = "1.0.0"
	DefaultHTTPStatus         = 500
	DefaultGRPCCode           = 13 // INTERNAL
	DefaultBackoff            = 10 * time.Millisecond
	DefaultSeed               = 1
	DefaultSettle             = 10 * time.Second
	DefaultWorkers            = 10
	DefaultWaitTimeout        = 60 * time.Second // a launched node's readiness

	DefaultTracestateMembers = 33 // tracestate-overflow: one past the limit of 32
	DefaultBaggageEntries    = 200
	DefaultFaultQueue        = 16 // queue-overflow
)

func defaultLimits() Limits {
	return Limits{MaxSpansPerRequest: DefaultMaxSpansPerRequest}
}

func defaultService(name string, pos Pos) *Service {
	return &Service{
		Name:           name,
		Protocol:       ProtocolHTTP,
		Instances:      DefaultInstances,
		Version:        DefaultVersion,
		Instrumented:   true,
		ForwardHeaders: true,
		Propagators:    []Propagator{PropTraceContext, PropBaggage},
		Sampler:        Sampler{Type: SamplerParentBasedAlwaysOn, Pos: pos},
		Pos:            pos,
	}
}

func defaultRoute(name string, pos Pos) *Route {
	return &Route{
		Name:    name,
		Latency: Latency{Dist: DistConstant, Pos: pos},
		Errors:  Errors{HTTPStatus: DefaultHTTPStatus, GRPCCode: DefaultGRPCCode, Pos: pos},
		Pos:     pos,
	}
}

func defaultCall(service string, pos Pos) *Call {
	return &Call{Service: service, Backoff: DefaultBackoff, Pos: pos}
}

func defaultLoad(pos Pos) Load {
	return Load{Workers: DefaultWorkers, Pos: pos}
}

func defaultExpect() []Expect {
	return []Expect{
		{Kind: ExpectPropagation, Propagation: PropagationExpect{Connected: true}},
		{Kind: ExpectCompleteness, Completeness: CompletenessExpect{Min: 1}},
	}
}

// defaultFault returns a fault of kind with that kind's defaults. Faults act
// on every instance of their service, but crash, restart and pause act on
// one, instance 0 by default.
func defaultFault(kind FaultKind, pos Pos) Fault {
	f := Fault{Kind: kind, Target: FaultTarget{Instance: -1}, Pos: pos}
	switch kind {
	case FaultErrors:
		f.Errors = Errors{HTTPStatus: DefaultHTTPStatus, GRPCCode: DefaultGRPCCode, Pos: pos}
	case FaultTimeout:
		f.Timeout.Retries = -1
	case FaultStripHeaders:
		f.Headers.Strip = slices.Clone(TraceHeaders)
	case FaultDuplicateHeader:
		f.Headers.Duplicate = HeaderTraceparent
	case FaultTracestateOverflow:
		f.Headers.Members = DefaultTracestateMembers
	case FaultBaggageOverflow:
		f.Headers.Entries = DefaultBaggageEntries
	case FaultUninstrument:
		f.Forward = true
	case FaultQueueOverflow:
		f.Queue = DefaultFaultQueue
	case FaultCrash, FaultRestart, FaultPause:
		f.Target.Instance = 0
	case FaultPartition:
		f.Partition = PartitionRefuse
	}
	return f
}
