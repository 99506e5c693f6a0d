package topology

import "time"

// FaultKind names a fault.
type FaultKind string

// Faults. Each changes real traffic (or the real export pipeline) of the
// running topology within its window.
const (
	FaultLatency            FaultKind = "latency"             // service[, route, instance]: add, multiply or replace the latency
	FaultErrors             FaultKind = "errors"              // service[, route, instance]: fail at a rate
	FaultTimeout            FaultKind = "timeout"             // edge: the caller's timeout, retries and backoff
	FaultStripHeaders       FaultKind = "strip-headers"       // edge: remove trace headers in transit
	FaultCorruptTraceparent FaultKind = "corrupt-traceparent" // edge: rewrite traceparent in transit
	FaultDuplicateHeader    FaultKind = "duplicate-header"    // edge: send a trace header twice, the copy different
	FaultTracestateOverflow FaultKind = "tracestate-overflow" // edge: tracestate past its limits
	FaultBaggageOverflow    FaultKind = "baggage-overflow"    // edge: baggage past its limits
	FaultPropagatorSwitch   FaultKind = "propagator-mismatch" // service: inject and extract other formats
	FaultUninstrument       FaultKind = "uninstrument"        // service: no spans; forwards headers or not
	FaultClockSkew          FaultKind = "clock-skew"          // service[, instance]: shift or drift span timestamps
	FaultExporterOutage     FaultKind = "exporter-outage"     // pipeline: the backend unreachable
	FaultSlowBackend        FaultKind = "slow-backend"        // pipeline: every export delayed
	FaultQueueOverflow      FaultKind = "queue-overflow"      // service: a small SDK queue
	FaultCrash              FaultKind = "crash"               // instance: down for the window (for all the run without one)
	FaultRestart            FaultKind = "restart"             // instance: down and straight back, losing its unsent spans
	FaultPause              FaultKind = "pause"               // instance: accepts, never answers until the window ends
	FaultPartition          FaultKind = "partition"           // edge: connections refused or black-holed
	FaultBrokerOutage       FaultKind = "broker-outage"       // broker: the embedded broker stopped, then started with what it stored
	FaultPoison             FaultKind = "poison"              // asynchronous edge: messages the consumer fails on every delivery
)

// FaultKinds lists every fault kind, in the order the documentation gives.
var FaultKinds = []FaultKind{
	FaultLatency, FaultErrors, FaultTimeout, FaultStripHeaders, FaultCorruptTraceparent,
	FaultDuplicateHeader, FaultTracestateOverflow, FaultBaggageOverflow, FaultPropagatorSwitch,
	FaultUninstrument, FaultClockSkew, FaultExporterOutage, FaultSlowBackend, FaultQueueOverflow,
	FaultCrash, FaultRestart, FaultPause, FaultPartition, FaultBrokerOutage, FaultPoison,
}

// Fault is one planned failure: what, where and when.
type Fault struct {
	Name   string // optional label for reports; default "#N kind target"
	Kind   FaultKind
	Window Window
	Target FaultTarget

	Latency     LatencyFault  // latency
	Errors      Errors        // errors: Rate and HTTPStatus or GRPCCode
	Timeout     TimeoutFault  // timeout
	Headers     HeaderFault   // header faults
	Propagators []Propagator  // propagator-mismatch
	Forward     bool          // uninstrument: forward trace headers (default true)
	Skew        SkewFault     // clock-skew
	Delay       time.Duration // slow-backend: added to every export
	Queue       int           // queue-overflow: SDK queue size, default 16
	Partition   PartitionMode // partition
	Pos         Pos
}

// Window is when a fault is active: from At for For (For 0: until the run
// ends), repeated every Every (0: once) Count times (0: until the run ends).
type Window struct {
	At    time.Duration
	For   time.Duration
	Every time.Duration
	Count int
}

// FaultTarget is what a fault acts on: a service (with an optional route and
// instance), an edge From → To, or a broker. Instance -1 means every
// instance.
type FaultTarget struct {
	Service  string
	Route    string
	Instance int
	From, To string
	Broker   string
}

// LatencyFault changes a route's latency: Add is added, Multiply (when not
// 0) scales the drawn latency, Replace (when its Dist is set) replaces the
// distribution.
type LatencyFault struct {
	Add      time.Duration
	Multiply float64
	Replace  Latency
}

// TimeoutFault overrides a caller's call options on an edge. Retries -1
// keeps the topology's retries.
type TimeoutFault struct {
	Timeout time.Duration
	Retries int
	Backoff time.Duration
}

// Corruption names how corrupt-traceparent rewrites the header.
type Corruption string

// Corruptions.
const (
	CorruptVersion      Corruption = "bad-version"    // version ff
	CorruptZeroTraceID  Corruption = "zero-trace-id"  // all-zero trace ID
	CorruptZeroParentID Corruption = "zero-parent-id" // all-zero parent ID
	CorruptFlags        Corruption = "bad-flags"      // flags not hex
	CorruptLength       Corruption = "wrong-length"   // one character short
	CorruptUpperCase    Corruption = "uppercase"      // IDs in upper case
)

// HeaderFault parameterises the header faults on an edge.
type HeaderFault struct {
	Strip     []string   // strip-headers: header names; default every trace header
	Corrupt   Corruption // corrupt-traceparent
	Duplicate string     // duplicate-header: the header; default traceparent
	Members   int        // tracestate-overflow: list members, default 33 (limit 32)
	Entries   int        // baggage-overflow: entries, default 200 (limit 180)
	Bytes     int        // tracestate or baggage length in bytes (limits 512, 8192); default 0: only Members or Entries
}

// Trace headers, as strip-headers and duplicate-header name them.
// HeaderB3Multi stands for every X-B3-* header.
const (
	HeaderTraceparent = "traceparent"
	HeaderTracestate  = "tracestate"
	HeaderBaggage     = "baggage"
	HeaderB3          = "b3"
	HeaderB3Multi     = "x-b3-traceid"
	HeaderJaeger      = "uber-trace-id"
)

// TraceHeaders lists every trace header a header fault can name; it is
// what strip-headers strips by default.
var TraceHeaders = []string{HeaderTraceparent, HeaderTracestate, HeaderBaggage, HeaderB3, HeaderB3Multi, HeaderJaeger}

// Corruptions lists every corrupt-traceparent mode.
var Corruptions = []Corruption{CorruptVersion, CorruptZeroTraceID, CorruptZeroParentID, CorruptFlags, CorruptLength, CorruptUpperCase}

// SkewFault shifts a service's span timestamps by Offset, plus Drift for
// every second since the window opened.
type SkewFault struct {
	Offset time.Duration
	Drift  time.Duration
}

// PartitionMode is how a partition fails calls.
type PartitionMode string

// Partition modes.
const (
	PartitionRefuse    PartitionMode = "refuse"    // connection refused at once
	PartitionBlackhole PartitionMode = "blackhole" // no answer until the caller's timeout
)
