package assert

// This file words the detect check: the fault it looks for, the rule of
// its kind and what it measures.

import (
	"fmt"
	"strings"

	"github.com/tracerig/tracerig/topology"
)

// subject names the fault: "fault #3 (strip-headers cart -> inventory)".
func (d *detectTally) subject() string {
	desc := d.plan.Name
	if desc == "" && len(d.wins) > 0 {
		desc = d.faults.desc(&d.wins[0].Fault)
	}
	if desc == "" {
		desc = string(d.plan.Kind) + " " + targetName(d.tgt)
	}
	return fmt.Sprintf("fault #%d (%s)", d.n, strings.TrimSpace(desc))
}

// targetName renders a fault target.
func targetName(t topology.FaultTarget) string {
	switch {
	case t.From != "" || t.To != "":
		return edgeName(t.From, t.To)
	case t.Broker != "":
		return "broker " + t.Broker
	case t.Service == "":
		return "pipeline"
	case t.Instance >= 0:
		s := instanceName(t.Service, t.Instance)
		if t.Route != "" {
			s += " " + t.Route
		}
		return s
	case t.Route != "":
		return t.Service + " " + t.Route
	}
	return t.Service
}

// expected words the rule of the kind.
func (d *detectTally) expected() string {
	in := "within " + d.windows()
	grace := "; outside = beyond " + seconds(postGrace) + " after a window"
	switch d.plan.Kind {
	case topology.FaultExporterOutage, topology.FaultSlowBackend:
		grace += " and " + seconds(pipelinePre) + " before it"
	}
	if d.hopRule() {
		grace = "; by the ledger's times, a hop counts inside when it was in flight at some time in a window " +
			"(from its caller receiving the request that made it to the caller getting its answer or giving up)"
		if cutsReach(d.plan.Kind) {
			grace += ", or was sent after one closed before its caller instance got a request through to the target again " +
				"(the ledger's first received hop from it: the aftermath of reconnecting)"
		}
		grace += "; outside otherwise"
		if d.plan.Kind == topology.FaultCrash || d.plan.Kind == topology.FaultRestart {
			grace += "; a lost span counts inside when it ended in a window or up to " + seconds(pipelinePre) + " before it (still queued)"
		}
	}
	switch d.plan.Kind {
	case topology.FaultLatency:
		return "median own time (from start to its first call, or the whole span without calls) of " + targetName(d.tgt) + " server spans starting " + in + " " + d.latencyRule() +
			" than outside; at least 5 spans on each side" + grace
	case topology.FaultErrors:
		return fmt.Sprintf("error rate of %s server spans %s at least the rate outside + %s (half the planted %s), with at least 1 error inside",
			targetName(d.tgt), in, percent(d.plan.Errors.Rate/2), percent(d.plan.Errors.Rate)) + grace
	case topology.FaultTimeout, topology.FaultPartition:
		held := ""
		if d.plan.Kind == topology.FaultPartition && d.plan.Partition == topology.PartitionBlackhole {
			held = ", or held by the blackhole at least a tenth of the shortest window (twice the longest wait outside when that is more)"
		}
		return "hops " + targetName(d.tgt) + " failing (not received, or client span in error without the callee answering an error" + held + ") " +
			in + ": at least 1, and the failing share outside at most a tenth of the share inside" + grace
	case topology.FaultDuplicateHeader, topology.FaultTracestateOverflow, topology.FaultBaggageOverflow:
		return "hops across " + targetName(d.tgt) + " received " + in +
			": at least 1; whether the callee broke the trace or tolerated the header is reported, not judged" + grace
	case topology.FaultUninstrument:
		s := "hops into " + targetName(d.tgt) + " " + in + " that started no server span: at least 1, and none of their server spans in the backend; none outside"
		if !d.plan.Forward {
			s += "; trace breaks on edges into or out of it: at least 1 inside"
		}
		return s + "; no breaks on those edges outside" + grace
	case topology.FaultClockSkew:
		return "backend parent/child pairs across an edge touching " + targetName(d.tgt) +
			fmt.Sprintf(" where the child starts before its parent or ends after it (by more than %s), by the unskewed span's start: at least 1 ", skewTolerance(d.plan.Skew)) + in + ", none outside" + grace
	case topology.FaultSlowBackend:
		return fmt.Sprintf("median time until arrival (Arrived - End) of spans ending %s at least the median outside + %s (half the planted delay); at least 5 spans on each side",
			in, d.plan.Delay/2) + grace
	case topology.FaultPause:
		return "hops to " + targetName(d.tgt) + " in flight " + in + " answered with an error, never received, or held before their answer (or their caller's giving up) " +
			"at least a tenth of the shortest window, or twice the longest wait outside when that is more: at least 1; " +
			"outside, hops that waited as long as the shortest window (or were never received): none" + grace
	}
	return d.effectName() + " " + in + ": at least 1; outside: none" + grace
}

// hopRule reports whether the kind's rule counts hops, placed by hopZone.
func (d *detectTally) hopRule() bool {
	switch d.plan.Kind {
	case topology.FaultTimeout, topology.FaultPartition, topology.FaultStripHeaders, topology.FaultCorruptTraceparent,
		topology.FaultDuplicateHeader, topology.FaultTracestateOverflow, topology.FaultBaggageOverflow,
		topology.FaultPropagatorSwitch, topology.FaultUninstrument, topology.FaultCrash, topology.FaultRestart, topology.FaultPause:
		return true
	}
	return false
}

// effectName names the counted effect of the presence kinds.
func (d *detectTally) effectName() string {
	switch d.plan.Kind {
	case topology.FaultStripHeaders, topology.FaultCorruptTraceparent:
		return "ledger-level trace breaks on " + targetName(d.tgt)
	case topology.FaultPropagatorSwitch:
		return "ledger-level trace breaks on edges into or out of " + targetName(d.tgt)
	case topology.FaultExporterOutage:
		return "spans lost (missing from the backend, any stage) by their end time"
	case topology.FaultQueueOverflow:
		return "spans of " + targetName(d.tgt) + " dropped in the SDK queue by their end time"
	case topology.FaultCrash, topology.FaultRestart:
		return "spans of " + targetName(d.tgt) + " lost, and hops to it not received"
	case topology.FaultBrokerOutage:
		return "publishes to " + targetName(d.tgt) + "'s topics refused, or held a tenth of the shortest window or more before the broker acknowledged them, by when they were published (after a window, a producer's publishes before its first prompt one are the aftermath, counted on neither side)"
	case topology.FaultPoison:
		return "messages over " + targetName(d.tgt) + " its consumer gave up on (dead-lettered after every delivery failed), by when they were published"
	}
	return string(d.plan.Kind) + " effects"
}

// measured words what the kind measures.
func (d *detectTally) measured() string {
	return fmt.Sprintf("the effect of %s inside versus outside its %d %s", d.subject(), len(d.wins), plural(len(d.wins), "window", "windows"))
}
