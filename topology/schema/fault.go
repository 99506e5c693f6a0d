package schema

import (
	"slices"

	"github.com/tracerig/tracerig/topology"
)

// faultAliases are other names of fault kinds, as keys of a fault item.
var faultAliases = map[string]topology.FaultKind{"kill": topology.FaultCrash}

// fault is one item of faults: the window keys and one fault kind key.
func fault() node {
	props := node{
		"name":  text("A label for the fault."),
		"at":    duration("When the window opens, into the load (0s for its start)."),
		"for":   duration("How long the window lasts. Default: until the load ends."),
		"every": duration("Repeat the window at this period."),
		"count": integer("How many windows, with every. Default: until the load ends."),
	}
	var oneKind []node
	for _, key := range faultKeys() {
		props[key] = ref("fault-" + key)
		oneKind = append(oneKind, node{"required": []string{key}})
	}
	n := object("A fault: its window and one fault kind key mapping the kind's parameters.", props, "at")
	n["oneOf"] = oneKind
	return n
}

// faultKeys returns every key a fault item may name its kind with.
func faultKeys() []string {
	var keys []string
	for _, k := range topology.FaultKinds {
		keys = append(keys, string(k))
	}
	for a := range faultAliases {
		keys = append(keys, a)
	}
	slices.Sort(keys)
	return keys
}

// faultDefs returns the parameters of each fault kind, as fault-KIND.
func faultDefs() node {
	defs := node{}
	for _, key := range faultKeys() {
		kind := topology.FaultKind(key)
		if k, ok := faultAliases[key]; ok {
			kind = k
		}
		props, required := faultTarget(kind)
		desc, params := faultParams(kind)
		for k, v := range params {
			props[k] = v
		}
		required = append(required, faultRequired[kind]...)
		defs["fault-"+key] = orNull(object(desc, props, required...))
	}
	return defs
}

// faultTarget returns the target fields of kind and those required.
func faultTarget(kind topology.FaultKind) (node, []string) {
	switch kind {
	case topology.FaultLatency, topology.FaultErrors:
		return node{
			"service":  str("The service."),
			"route":    str("The route. Default: every route."),
			"instance": integer("The instance. Default: every instance."),
		}, []string{"service"}
	case topology.FaultPropagatorSwitch, topology.FaultUninstrument, topology.FaultClockSkew, topology.FaultQueueOverflow,
		topology.FaultCrash, topology.FaultRestart, topology.FaultPause:
		return node{
			"service":  str("The service."),
			"instance": integer("The instance."),
		}, []string{"service"}
	case topology.FaultExporterOutage, topology.FaultSlowBackend:
		return node{}, nil
	case topology.FaultBrokerOutage:
		return node{"broker": str("The broker, one tracerig runs.")}, []string{"broker"}
	}
	return node{
		"from": str("The calling service of the edge."),
		"to":   str("The called service of the edge."),
	}, []string{"from", "to"}
}

// faultRequired lists the parameters each kind requires beside its target.
var faultRequired = map[topology.FaultKind][]string{
	topology.FaultErrors:             {"rate"},
	topology.FaultTimeout:            {"timeout"},
	topology.FaultCorruptTraceparent: {"mode"},
	topology.FaultPropagatorSwitch:   {"propagators"},
	topology.FaultSlowBackend:        {"delay"},
}

// faultParams describes kind and returns its parameters.
func faultParams(kind topology.FaultKind) (string, node) {
	header := enum("A trace header.", topology.TraceHeaders)
	switch kind {
	case topology.FaultLatency:
		return "The route's own latency changed.", node{
			"add":      duration("Added to the latency."),
			"multiply": number("The latency multiplied by this."),
			"replace":  refDesc("latency", "The latency replaced by this one."),
		}
	case topology.FaultErrors:
		return "Answers fail.", node{
			"rate":   number("The share of requests to fail, between 0 and 1."),
			"status": integer("The HTTP status of a failure."),
			"code":   grpcCode("The gRPC code of a failure."),
		}
	case topology.FaultTimeout:
		return "The caller's call options on the edge.", node{
			"timeout": duration("The caller's timeout on this edge."),
			"retries": integer("Extra attempts."),
			"backoff": duration("The wait before the first retry."),
		}
	case topology.FaultStripHeaders:
		return "Headers removed in transit.", node{"headers": listOf("The headers removed. Default: all trace headers.", header)}
	case topology.FaultCorruptTraceparent:
		return "Traceparent rewritten in transit.", node{"mode": enum("How traceparent is corrupted.", topology.Corruptions)}
	case topology.FaultDuplicateHeader:
		header["description"] = "The header sent twice. Default traceparent."
		return "A second, different value sent.", node{"header": header}
	case topology.FaultTracestateOverflow:
		return "Tracestate past its limits.", node{
			"members": integer("List members sent. Default 33."),
			"bytes":   integer("Bytes sent."),
		}
	case topology.FaultBaggageOverflow:
		return "Baggage past its limits.", node{
			"entries": integer("Entries sent. Default 200."),
			"bytes":   integer("Bytes sent."),
		}
	case topology.FaultPropagatorSwitch:
		return "The service reads and writes other formats.", node{
			"propagators": listOf("The formats the service switches to.", enum("A propagation format.", topology.Propagators)),
		}
	case topology.FaultUninstrument:
		return "The service emits no spans.", node{"forward-headers": boolean("Whether trace headers are passed on. Default true.")}
	case topology.FaultClockSkew:
		return "Exported span timestamps shifted.", node{
			"offset": duration("The shift."),
			"drift":  duration("The drift per second."),
		}
	case topology.FaultSlowBackend:
		return "Every export acknowledged late.", node{"delay": duration("Added to every export.")}
	case topology.FaultQueueOverflow:
		return "A small SDK queue, which drops spans when export falls behind.", node{"queue": integer("The queue's size. Default 16.")}
	case topology.FaultPartition:
		return "Connections refused or black-holed.", node{"mode": enum("How the edge is cut. Default refuse.", topology.PartitionModes)}
	case topology.FaultCrash:
		return "The instance down for the window.", node{}
	case topology.FaultRestart:
		return "The instance down and straight back, losing its unsent spans.", node{}
	case topology.FaultPause:
		return "The instance accepts requests and answers none until the window ends.", node{}
	case topology.FaultBrokerOutage:
		return "The embedded broker stopped for the window, then started again with what it stored.", node{}
	case topology.FaultPoison:
		return "Messages published over the asynchronous edge that its consumer fails on every delivery, until they go to its dead-letter topic.", node{}
	}
	return "The backend unreachable.", node{}
}
