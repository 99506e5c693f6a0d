package topology

// The lists below are the values each named setting takes. Validation
// accepts exactly these, its messages list them in this order, and the
// JSON Schema of the files (package topology/schema) is built from them.

// Protocols lists the protocols a service is called with; the first is the
// default.
var Protocols = []Protocol{ProtocolHTTP, ProtocolGRPC}

// Propagators lists the context propagation formats a service may use.
var Propagators = []Propagator{PropTraceContext, PropBaggage, PropB3, PropB3Multi, PropJaeger}

// SamplerTypes lists the head samplers, named as in OTEL_TRACES_SAMPLER.
var SamplerTypes = []SamplerType{
	SamplerAlwaysOn, SamplerAlwaysOff, SamplerTraceIDRatio,
	SamplerParentBasedAlwaysOn, SamplerParentBasedAlwaysOff, SamplerParentBasedTraceIDRatio,
	SamplerConsistentProbability,
}

// Dists lists the latency distributions.
var Dists = []Dist{DistConstant, DistUniform, DistNormal, DistLognormal, DistPareto}

// Runtimes lists where services may run; the first is the default.
var Runtimes = []Runtime{RuntimeInProcess, RuntimeContainers, RuntimeKubernetes}

// BackendTypes lists the tracing backends; the first is the default.
var BackendTypes = []BackendType{BackendEmbedded, BackendOTLP, BackendCollector, BackendJaeger}

// QueryTypes lists the query APIs an otlp backend's spans are read back
// through.
var QueryTypes = []string{"jaeger", "tempo"}

// Compressions lists the compressions of an otlp backend's export.
var Compressions = []string{"gzip", "none"}

// SamplingMethods lists the confidence intervals of the sampling check;
// the first is the default.
var SamplingMethods = []string{SamplingWilson, SamplingExact}

// PartitionModes lists how a partition fault cuts an edge; the first is the
// default.
var PartitionModes = []PartitionMode{PartitionRefuse, PartitionBlackhole}

// ExpectKinds lists the checks, in the order the documentation gives.
var ExpectKinds = []ExpectKind{ExpectPropagation, ExpectCompleteness, ExpectDetect, ExpectSampling, ExpectTailSampling, ExpectSpans, ExpectLoad, ExpectMessaging}

// GRPCCodeNames returns the gRPC status code names in upper snake case,
// indexed by code.
func GRPCCodeNames() []string {
	return append([]string(nil), grpcCodeNames[:]...)
}
