package topology

import (
	"fmt"
	"time"
)

// Scenario is a topology with the load to drive through it, the backend that
// receives its spans, and the checks to run on what arrived.
type Scenario struct {
	File        string
	Name        string // default: the file name without extension
	Description string
	Topology    *Topology
	// TopologyFile is the file Topology was read from (the topology: path
	// joined to the scenario's directory), or "" when it is written inline.
	TopologyFile string
	Runtime      Runtime // default inprocess
	Backend      Backend
	Seed         uint64 // default 1
	Load         []Load
	// Settle bounds how long to wait, after load ends, for the backend to
	// hold every exported span. Default 10s.
	Settle time.Duration
	Faults []Fault  // numbered from 1 in reports, in file order
	Expect []Expect // default: propagation {connected: true} and completeness {min: 1}
	Pos    Pos

	fields fieldPos // positions of decoded fields, for Validate's errors
}

// Runtime names where services run.
type Runtime string

// Runtimes.
const (
	RuntimeInProcess  Runtime = "inprocess"
	RuntimeContainers Runtime = "containers"
	// RuntimeKubernetes runs every instance in a pod of a Kubernetes
	// cluster (simulator/kube).
	RuntimeKubernetes Runtime = "kubernetes"
)

// Load is traffic on one entry route, or on a weighted mix of entry routes
// sharing one rate.
type Load struct {
	Targets  []Target // at least one; a single route has weight 1
	Rate     Rate
	Duration time.Duration // 0 with Requests set: until Requests are sent
	Requests int           // 0: no count limit
	Workers  int           // initial vegeta workers; default 10
	Pos      Pos
}

// Target is an entry route of a load and its share of the load's requests.
type Target struct {
	Service string
	Route   string
	Weight  float64 // > 0; shares are Weight over the sum of the load's weights
	Pos     Pos
}

// String returns "service ROUTE".
func (t Target) String() string { return t.Service + " " + t.Route }

// Name returns the load's route, or its routes with their weights.
func (l Load) Name() string {
	if len(l.Targets) == 1 {
		return l.Targets[0].String()
	}
	s := ""
	for i, t := range l.Targets {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s ×%g", t, t.Weight)
	}
	return s
}

// Rate is requests per period, constant or ramped linearly From → To over
// the load's duration. Freq 0 with Ramp false means as fast as workers go.
type Rate struct {
	Freq int
	Per  time.Duration
	Ramp bool
	To   int // ramp end, per Per
	Pos  Pos
}

// PerSecond returns the (start) rate in requests per second.
func (r Rate) PerSecond() float64 {
	if r.Per == 0 {
		return 0
	}
	return float64(r.Freq) / r.Per.Seconds()
}

// ExpectKind names a check.
type ExpectKind string

// Checks.
const (
	ExpectPropagation  ExpectKind = "propagation"
	ExpectCompleteness ExpectKind = "completeness"
	ExpectDetect       ExpectKind = "detect"
	ExpectSampling     ExpectKind = "sampling"
	ExpectTailSampling ExpectKind = "tail-sampling"
	ExpectSpans        ExpectKind = "spans"
	ExpectLoad         ExpectKind = "load"
	ExpectMessaging    ExpectKind = "messaging"
)

// Expect is one check with its parameters.
type Expect struct {
	Kind         ExpectKind
	Propagation  PropagationExpect
	Completeness CompletenessExpect
	Detect       DetectExpect
	Sampling     SamplingExpect
	TailSampling TailSamplingExpect
	Spans        SpansExpect
	Load         LoadExpect
	Messaging    MessagingExpect
	Pos          Pos
}

// MessagingExpect checks the asynchronous edges against the ledger: each
// group processed its messages, each consumer span in the backend links to
// the messages it processed, and the time from publish to processing.
type MessagingExpect struct {
	// Edge limits the check to one asynchronous edge ("checkout ->
	// billing"); "": every one.
	Edge string
	// Delivered is the least share of the messages published to each
	// group that it processed (neither dead-lettered nor never
	// delivered). Default 1.
	Delivered float64
	// LagP50 and LagP99 bound the time from a message's publish to the
	// start of its first processing, per edge; 0: reported, not bound.
	LagP50, LagP99 time.Duration
}

// LoadExpect requires every load with a rate to reach at least Min of it
// (the mean of a ramp). Without it a run still reports whether its loads
// reached their rates, as a warning that does not fail the run.
type LoadExpect struct {
	Min float64 // share of the requested rate, in (0, 1]; default DefaultLoadMin
}

// DefaultLoadMin is the share of its requested rate a load must reach.
const DefaultLoadMin = 0.97

// SamplingExpect checks head sampling: the observed ratio of a service
// against the configured one, and the consistency of decisions along traces.
type SamplingExpect struct {
	// Service whose root decisions are counted; "" checks consistency only.
	Service string
	// Ratio expected; 0 means the service's configured sampler ratio.
	Ratio float64
	// Confidence of the interval, default 0.99.
	Confidence float64
	// Method of the interval: "wilson" (default) or "exact" (Clopper-Pearson).
	Method string
	// MinSamples below which the check says it cannot decide; default 30.
	MinSamples int
	// Consistent requires parent-based decisions to hold along every trace:
	// a sampled root's trace complete downstream, an unsampled root's trace
	// absent everywhere, services sharing a trace-ID ratio agreeing.
	Consistent bool
	// Probability requires OpenTelemetry consistent probability sampling
	// (tracestate ot=th:…;rv:…) to be honoured along every trace.
	Probability bool
}

// TailSamplingExpect checks what a tail-sampling collector kept against the
// ledger.
type TailSamplingExpect struct {
	KeepErrors     bool          // every trace with an error span kept
	KeepSlowerThan time.Duration // every trace longer than this kept; 0: not checked
	// Probabilistic is the share of the other traces kept, checked within
	// the Confidence interval; 0: not checked.
	Probabilistic float64
	Confidence    float64 // default 0.99
}

// SpansExpect selects spans and asserts over them.
type SpansExpect struct {
	// Where selects spans with an expression over SpanFields; "" selects all.
	Where string
	// During limits the selection to spans starting in [From, To) of the
	// load's timeline; both zero: the whole run.
	During [2]time.Duration
	// Assert must hold for the selected spans as Count says.
	Assert string
	// Count is how many selected spans must satisfy Assert: "all"
	// (default), "none", ">= N", or a ratio ">= 0.9" (with a dot).
	Count string
	// MinSelected below which the check fails for lack of evidence; default 1.
	MinSelected int
}

// DetectExpect requires a planted fault's effect to be visible in the
// backend during its window and absent outside it.
type DetectExpect struct {
	Fault int // 1-based index into Scenario.Faults
}

// PropagationExpect parameterises the propagation check.
type PropagationExpect struct {
	// Connected requires every trace to be one tree and every hop to
	// continue its caller's trace. Default true.
	Connected bool
	// Broken lists edges ("cart -> inventory") that must break: breaks on
	// them are required, and allowed; with DuringFault, only within that
	// fault's windows.
	Broken []string
	// DuringFault is the 1-based index of the fault that explains Broken; 0:
	// none.
	DuringFault int
}

// CompletenessExpect parameterises the completeness check.
type CompletenessExpect struct {
	// Min is the least share of ended spans that must reach the backend
	// exactly once. Default 1.
	Min float64
	// Within bounds the p99 delay from a trace's last span ending to it
	// being queryable; 0: not checked.
	Within time.Duration
}
