package live

import (
	"slices"
	"strconv"
	"strings"

	"github.com/tracerig/tracerig/topology"
)

// Kind is one fault kind as the page's fault panel offers it: what it
// targets and its parameters, written as a scenario's faults list writes
// them.
type Kind struct {
	Kind string `json:"kind"`
	// Target is what the fault acts on, and so the target fields of its
	// form: "route" (service, optional route and instance, default every
	// instance), "service" (service, optional instance), "instance"
	// (service and one instance, default 0), "edge" (from, to),
	// "async-edge" (from, to through a topic), "broker" or "none".
	Target string  `json:"target"`
	Help   string  `json:"help"`
	Params []Param `json:"params"`
}

// Param is one parameter of a fault kind.
type Param struct {
	Name string `json:"name"` // its key in the kind's mapping
	// Input is the form's input: "duration" ("300ms"), "number", "text",
	// "select" (one of Options), "bool", "list" (some of Options) or
	// "latency" (a latency as a route writes it: "40ms", or a
	// distribution's fields as pairs, "p50=20ms p99=200ms").
	Input   string   `json:"input"`
	Options []string `json:"options,omitempty"`
	// Default is what the topology applies when the parameter is left
	// out, as the form writes it ("" when none: left out, it is 0 or
	// unset); a list's items are joined by commas. The page sends a
	// parameter only when its value differs from Default.
	Default string `json:"default"`
	// Value is what the form starts with: Default, or for a parameter the
	// fault needs, a value that shows its effect.
	Value    string `json:"value"`
	Required bool   `json:"required,omitempty"`
	Help     string `json:"help,omitempty"`
}

// Targets of fault kinds, as Kind.Target names them.
const (
	TargetRoute     = "route"
	TargetService   = "service"
	TargetInstance  = "instance"
	TargetEdge      = "edge"
	TargetAsyncEdge = "async-edge"
	TargetBroker    = "broker"
	TargetNone      = "none"
)

// Catalog returns every fault kind of topology.FaultKinds, in its order,
// as the fault panel offers it.
func Catalog() []Kind {
	out := make([]Kind, 0, len(topology.FaultKinds))
	for _, k := range topology.FaultKinds {
		out = append(out, catalogKind(k))
	}
	return out
}

func catalogKind(k topology.FaultKind) Kind {
	kind := Kind{Kind: string(k), Target: targetOf(k), Params: []Param{}}
	if e, ok := kindEntries()[k]; ok {
		kind.Help = e.help
		for _, p := range e.params {
			p.Options = slices.Clone(p.Options)
			kind.Params = append(kind.Params, p)
		}
	}
	return kind
}

func targetOf(k topology.FaultKind) string {
	switch k {
	case topology.FaultLatency, topology.FaultErrors:
		return TargetRoute
	case topology.FaultPropagatorSwitch, topology.FaultUninstrument, topology.FaultClockSkew, topology.FaultQueueOverflow:
		return TargetService
	case topology.FaultCrash, topology.FaultRestart, topology.FaultPause:
		return TargetInstance
	case topology.FaultPoison:
		return TargetAsyncEdge
	case topology.FaultTimeout, topology.FaultStripHeaders, topology.FaultCorruptTraceparent, topology.FaultDuplicateHeader,
		topology.FaultTracestateOverflow, topology.FaultBaggageOverflow, topology.FaultPartition:
		return TargetEdge
	case topology.FaultBrokerOutage:
		return TargetBroker
	}
	return TargetNone
}

// entry is a kind's help and parameters.
type entry struct {
	help   string
	params []Param
}

func itoa(n int) string { return strconv.Itoa(n) }

func names[S ~string](list []S) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = string(s)
	}
	return out
}

// needed is a parameter the fault cannot do without, started at value.
func needed(name, input, value, help string, options ...string) Param {
	return Param{Name: name, Input: input, Value: value, Required: true, Help: help, Options: options}
}

// optional is a parameter the topology defaults to def.
func optional(name, input, def, help string, options ...string) Param {
	return Param{Name: name, Input: input, Default: def, Value: def, Help: help, Options: options}
}

// kindEntries describes every kind's parameters, their defaults as
// topology.ParseFault applies them.
func kindEntries() map[topology.FaultKind]entry {
	return map[topology.FaultKind]entry{
		topology.FaultLatency: {"add to, multiply or replace the route's latency", []Param{
			{Name: "add", Input: "duration", Value: "300ms", Help: "added to every answer"},
			optional("multiply", "number", "", "scales the drawn latency"),
			optional("replace", "latency", "", "a latency drawn instead, as routes write it: 40ms, p50=20ms p99=200ms, "+
				"min=5ms max=50ms, mean=20ms stddev=5ms or dist=pareto min=1ms alpha=1.5"),
		}},
		topology.FaultErrors: {"answers fail at a rate", []Param{
			needed("rate", "number", "0.5", "the share of requests to fail, 0 to 1"),
			optional("status", "number", itoa(topology.DefaultHTTPStatus), "HTTP status (http services)"),
			optional("code", "number", itoa(topology.DefaultGRPCCode), "gRPC code (grpc services)"),
		}},
		topology.FaultTimeout: {"the caller's timeout, retries and backoff on the edge", []Param{
			needed("timeout", "duration", "50ms", "the caller's timeout"),
			optional("retries", "number", "", "empty: the topology's"),
			optional("backoff", "duration", "", "between retries"),
		}},
		topology.FaultStripHeaders: {"trace headers removed in transit", []Param{
			optional("headers", "list", strings.Join(topology.TraceHeaders, ","), "the headers to strip", topology.TraceHeaders...),
		}},
		topology.FaultCorruptTraceparent: {"traceparent rewritten in transit", []Param{
			needed("mode", "select", string(topology.CorruptVersion), "how it is broken", names(topology.Corruptions)...),
		}},
		topology.FaultDuplicateHeader: {"a trace header sent twice, the copy different", []Param{
			optional("header", "select", topology.HeaderTraceparent, "", topology.TraceHeaders...),
		}},
		topology.FaultTracestateOverflow: {"tracestate past its limits", []Param{
			optional("members", "number", itoa(topology.DefaultTracestateMembers), "list members (limit 32)"),
			optional("bytes", "number", "", "length in bytes (limit 512)"),
		}},
		topology.FaultBaggageOverflow: {"baggage past its limits", []Param{
			optional("entries", "number", itoa(topology.DefaultBaggageEntries), "entries (limit 180)"),
			optional("bytes", "number", "", "length in bytes (limit 8192)"),
		}},
		topology.FaultPropagatorSwitch: {"the service reads and writes other formats", []Param{
			needed("propagators", "list", string(topology.PropB3), "the formats it switches to", names(topology.Propagators)...),
		}},
		topology.FaultUninstrument: {"no spans from the service", []Param{
			optional("forward-headers", "bool", "true", "forward trace headers"),
		}},
		topology.FaultClockSkew: {"the service's span timestamps shifted", []Param{
			{Name: "offset", Input: "duration", Value: "2s", Help: "added to every timestamp"},
			optional("drift", "duration", "", "more for every second"),
		}},
		topology.FaultExporterOutage: {"the backend unreachable", nil},
		topology.FaultSlowBackend: {"every export acknowledged late", []Param{
			needed("delay", "duration", "500ms", "added to every export"),
		}},
		topology.FaultQueueOverflow: {"a small SDK queue that drops spans", []Param{
			optional("queue", "number", itoa(topology.DefaultFaultQueue), "queue size"),
		}},
		topology.FaultCrash:   {"the instance down; unsent spans lost", nil},
		topology.FaultRestart: {"the instance down and straight back", nil},
		topology.FaultPause:   {"requests accepted, not answered", nil},
		topology.FaultPartition: {"connections refused or black-holed", []Param{
			optional("mode", "select", string(topology.PartitionRefuse), "", names(topology.PartitionModes)...),
		}},
		topology.FaultBrokerOutage: {"the broker stopped, then started again", nil},
		topology.FaultPoison:       {"messages the consumer fails on every delivery", nil},
	}
}
