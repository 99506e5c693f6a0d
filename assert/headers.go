package assert

import (
	"fmt"
	"strings"

	"github.com/tracerig/tracerig/internal/record"
)

// Header-level checks, run as part of the propagation check, on what each
// simulated callee recorded of the trace headers it received:
//
//   - on every hop that continued its caller's context, the sampled flag,
//     the tracestate entries and the baggage keys the caller put on the
//     wire arrived intact (a break otherwise, attributed like any other);
//   - on requests an external service made to simulated services, how the
//     external service treated the trace it was sent: kept it, restarted
//     it, propagated a malformed traceparent, or dropped the headers, one
//     finding per reaction with counts, attributed to the header faults
//     planted on the edges into it; and, with read-back, that a kept trace
//     is connected through it in the backend (caller → external → callee).

// Reactions of an external service, as the simulated service it calls saw
// them.
const (
	reactKept      = "kept the trace"
	reactRestarted = "restarted the trace"
	reactMalformed = "propagated a malformed traceparent"
	reactDropped   = "dropped the trace headers"
)

// headerChecks compares, hop by continued hop, what was sent with what was
// received.
func (g *propGroup) headerChecks() {
	for i := range g.led.hops {
		h := &g.led.hops[i]
		if !g.led.checked(int32(i)) || g.led.state[i] != hopContinued {
			continue
		}
		exp, _ := g.led.expected(int32(i))
		name := edgeName(h.From, h.To)
		of := ofRef{kind: ofEdgeHops, e: edge{h.From, h.To}}
		t := g.hopTime(int32(i))
		attr := g.faults.hopBreakIn(h.From, h.To, t)
		if h.Got.Sampled != exp.Sampled {
			g.n.sampledLost++
			g.found.broke(name, fmt.Sprintf("sampled flag did not survive the hop: caller sent sampled=%t, callee read sampled=%t", exp.Sampled, h.Got.Sampled),
				attr, t, of, func() string { return hopHeaderExample(h, "traceparent", h.GotTraceParent) })
		}
		if lost := missingEntries(h.SentTraceState, h.GotTraceState); lost != "" {
			g.n.stateLost++
			g.found.broke(name, "tracestate entries did not survive the hop: lost "+lost,
				attr, t, of, func() string {
					return fmt.Sprintf("request %d hop %x: sent tracestate %q, received %q", h.Request, h.ID, h.SentTraceState, h.GotTraceState)
				})
		}
		if lost := missingEntries(h.SentBaggage, h.GotBaggage); lost != "" {
			g.n.bagLost++
			g.found.broke(name, "baggage keys did not survive the hop: lost "+lost,
				attr, t, of, func() string {
					return fmt.Sprintf("request %d hop %x: sent baggage keys %q, received %q", h.Request, h.ID, h.SentBaggage, h.GotBaggage)
				})
		}
	}
}

// missingEntries returns the members of the comma-separated list sent that
// got lacks ("k=v" members for tracestate, compared whole; keys for
// baggage), comma-joined, or "".
func missingEntries(sent, got string) string {
	if sent == "" {
		return ""
	}
	have := make(map[string]bool)
	for m := range strings.SplitSeq(got, ",") {
		have[strings.TrimSpace(m)] = true
	}
	var lost []string
	for m := range strings.SplitSeq(sent, ",") {
		if m = strings.TrimSpace(m); m != "" && !have[m] {
			lost = append(lost, m)
		}
	}
	return strings.Join(lost, ",")
}

// hopHeaderExample names a hop and a header value it received.
func hopHeaderExample(h *record.Hop, header, value string) string {
	if value == "" {
		return fmt.Sprintf("request %d hop %x: no %s received", h.Request, h.ID, header)
	}
	return fmt.Sprintf("request %d hop %x: received %s %q", h.Request, h.ID, header, value)
}

// reaction classifies what a simulated service received from an external
// one, given the traces sent into the external service.
func reaction(h *record.Hop, sent map[record.TraceID]bool) string {
	switch {
	case h.GotHeaders&traceHeaders == 0:
		return reactDropped
	case !h.Got.IsValid() && h.GotHeaders&record.HeaderTraceparent == 0:
		// A format the callee does not read: b3, say, to a callee that
		// reads tracecontext.
		return fmt.Sprintf("sent the trace as %s only, a format %s does not read", strings.Join((h.GotHeaders&traceHeaders).Names(), " and "), h.To)
	case !h.Got.IsValid():
		return reactMalformed
	case sent[h.Got.Trace]:
		return reactKept
	}
	return reactRestarted
}

// externalReactions classifies the requests external services made to
// the group's simulated services. Whether such a request is a reaction at
// all (some trace was sent into its external service) and which edge a
// fault on it names depend on every group's hops, so the requests are
// counted per external service, callee, reaction and fault period, and
// judged in verdict (see judgeExternal).
func (g *propGroup) externalReactions() {
	// The traces sent into each external service in this group, and the
	// client spans that sent them. A request an external service made
	// under a trace sent into it is in that trace's group.
	sent := make(map[string]map[record.TraceID]bool)
	sentSpans := make(map[record.SpanID]bool)
	for i := range g.led.hops {
		h := &g.led.hops[i]
		if !h.External || !h.Sent.IsValid() {
			continue
		}
		if sent[h.To] == nil {
			sent[h.To] = make(map[record.TraceID]bool)
		}
		sent[h.To][h.Sent.Trace] = true
		sentSpans[h.Sent.Span] = true
		g.ext.sentInto(h.To, h.From)
	}
	for i := range g.led.hops {
		h := &g.led.hops[i]
		if !h.FromExternal || !h.Received {
			continue
		}
		g.ext.total[h.From]++
		k := extKey{ext: h.From, to: h.To, reaction: reaction(h, sent[h.From]), period: g.periods.of(h.SentAt)}
		if k.reaction == reactKept && g.idx != nil {
			k.checked = true
			k.connected, k.complaint = g.connectedThrough(h, h.From, sentSpans)
		}
		g.ext.count(k, h.SentAt, func() string { return externalExample(h) })
	}
}

// connectedThrough checks in the backend that a request kept through an
// external service hangs together there: the callee's parent is a span of
// the external service, and walking up the external service's spans leads
// to a client span that sent into it. When it does not, complaint says
// why, or is empty when the trace is not in the backend at all (a loss
// completeness counts).
func (g *propGroup) connectedThrough(h *record.Hop, ext string, sentSpans map[record.SpanID]bool) (ok bool, complaint string) {
	t, ok := g.idx.trace(h.Got.Trace)
	if !ok {
		return false, ""
	}
	msg := ""
	id := h.Got.Span
	for depth := 0; ; depth++ {
		j, ok := g.idx.find(t, id)
		if !ok {
			if depth == 0 {
				msg = "external service's client span (the callee's parent) is not in the backend"
			} else {
				msg = "a span of the external service is not in the backend"
			}
			break
		}
		s := g.idx.span(j)
		if s.Service != ext {
			switch {
			case depth == 0 && sentSpans[s.ID]:
				// The external service forwarded the context it was sent
				// as it came, without a span of its own: the trace holds
				// together through it.
			case depth == 0:
				msg = "callee's parent is a span of " + s.Service + ", not of the external service"
			case !sentSpans[s.ID]:
				msg = "external service's spans hang off a " + s.Service + " span that did not call it"
			}
			break
		}
		if !s.Parent.IsValid() {
			msg = "external service's spans are a separate root: not children of the caller's client span"
			break
		}
		if depth > 64 {
			msg = "external service's spans nest too deep"
			break
		}
		id = s.Parent
	}
	return msg == "", msg
}

// externalExample names a request an external service made.
func externalExample(h *record.Hop) string {
	s := fmt.Sprintf("%s received %s from %s", h.To, h.Route, h.From)
	switch {
	case h.GotTraceParent != "":
		s += fmt.Sprintf(" with traceparent %q", h.GotTraceParent)
	case h.GotHeaders&traceHeaders != 0:
		s += " with " + (h.GotHeaders & traceHeaders).String()
	default:
		s += " without trace headers"
	}
	return s
}
