package assert

import (
	"fmt"
	"slices"
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
func (c *propCheck) headerChecks() {
	var sampled, state, bag int
	for i := range c.led.hops {
		h := &c.led.hops[i]
		if !c.led.checked(int32(i)) || c.led.state[i] != hopContinued {
			continue
		}
		exp, _ := c.led.expected(int32(i))
		name := edgeName(h.From, h.To)
		t := c.hopTime(int32(i))
		attr := c.faults.hopBreakIn(h.From, h.To, t)
		if h.Got.Sampled != exp.Sampled {
			sampled++
			f := c.broke(name, fmt.Sprintf("sampled flag did not survive the hop: caller sent sampled=%t, callee read sampled=%t", exp.Sampled, h.Got.Sampled),
				attr, t, func() string { return hopHeaderExample(h, "traceparent", h.GotTraceParent) })
			f.Of = c.perEdge[edge{h.From, h.To}]
		}
		if lost := missingEntries(h.SentTraceState, h.GotTraceState); lost != "" {
			state++
			f := c.broke(name, "tracestate entries did not survive the hop: lost "+lost,
				attr, t, func() string {
					return fmt.Sprintf("request %d hop %x: sent tracestate %q, received %q", h.Request, h.ID, h.SentTraceState, h.GotTraceState)
				})
			f.Of = c.perEdge[edge{h.From, h.To}]
		}
		if lost := missingEntries(h.SentBaggage, h.GotBaggage); lost != "" {
			bag++
			f := c.broke(name, "baggage keys did not survive the hop: lost "+lost,
				attr, t, func() string {
					return fmt.Sprintf("request %d hop %x: sent baggage keys %q, received %q", h.Request, h.ID, h.SentBaggage, h.GotBaggage)
				})
			f.Of = c.perEdge[edge{h.From, h.To}]
		}
	}
	c.stats["sampled_flag_lost"] = float64(sampled)
	c.stats["tracestate_lost"] = float64(state)
	c.stats["baggage_lost"] = float64(bag)
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
	case !h.Got.IsValid():
		return reactMalformed
	case sent[h.Got.Trace]:
		return reactKept
	}
	return reactRestarted
}

// externalReactions reports how each external service treated the trace
// context sent to it, as seen by the simulated services it calls.
func (c *propCheck) externalReactions() {
	// The traces sent into each external service, the client spans that
	// sent them, and the simulated services that call it.
	sent := make(map[string]map[record.TraceID]bool)
	sentSpans := make(map[record.SpanID]bool)
	callers := make(map[string][]string)
	for i := range c.led.hops {
		h := &c.led.hops[i]
		if !h.External || !h.Sent.IsValid() {
			continue
		}
		if sent[h.To] == nil {
			sent[h.To] = make(map[record.TraceID]bool)
		}
		sent[h.To][h.Sent.Trace] = true
		sentSpans[h.Sent.Span] = true
		if h.From != "" && !slices.Contains(callers[h.To], h.From) {
			callers[h.To] = append(callers[h.To], h.From)
		}
	}
	total := make(map[string]int)
	for i := range c.led.hops {
		if h := &c.led.hops[i]; h.FromExternal && h.Received {
			total[h.From]++
		}
	}
	counts := make(map[string]int)
	connected, disconnected := 0, 0
	for i := range c.led.hops {
		h := &c.led.hops[i]
		if !h.FromExternal || !h.Received || sent[h.From] == nil {
			continue // nothing was sent into it: it starts its own traces
		}
		ext := h.From
		r := reaction(h, sent[ext])
		counts[r]++
		// A reaction during a header fault on an edge into the external
		// service is that fault's: name the edge the fault sits on.
		subject, attr := edgeName(ext, h.To), c.faults.hopBreak(ext, h.To, h.SentAt)
		for _, from := range callers[ext] {
			if a := c.faults.hopBreak(from, ext, h.SentAt); a > attrUnexplained {
				subject, attr = edgeName(from, ext), a
				break
			}
		}
		msg := fmt.Sprintf("external service %s %s (seen at %s)", ext, r, h.To)
		example := func() string { return externalExample(h) }
		var f *Finding
		switch {
		case r != reactKept:
			f = c.broke(subject, msg, attr, at(h.SentAt), example)
		case attr > attrUnexplained:
			f = c.info.add(subject, msg+" despite the fault", attr, example)
		default:
			if c.idx != nil {
				if c.connectedThrough(h, ext, sentSpans) {
					connected++
				} else {
					disconnected++
				}
			}
			continue
		}
		f.Of = total[ext]
	}
	n := 0
	for _, k := range total {
		n += k
	}
	c.stats["external_requests"] = float64(n)
	c.stats["external_kept"] = float64(counts[reactKept])
	c.stats["external_restarted"] = float64(counts[reactRestarted])
	c.stats["external_malformed"] = float64(counts[reactMalformed])
	c.stats["external_dropped"] = float64(counts[reactDropped])
	c.stats["external_connected"] = float64(connected)
	c.stats["external_disconnected"] = float64(disconnected)
}

// connectedThrough checks in the backend that a request kept through an
// external service hangs together there: the callee's parent is a span of
// the external service, and walking up the external service's spans leads
// to a client span that sent into it.
func (c *propCheck) connectedThrough(h *record.Hop, ext string, sentSpans map[record.SpanID]bool) bool {
	t, ok := c.idx.trace(h.Got.Trace)
	if !ok {
		return false
	}
	msg := ""
	id := h.Got.Span
	for depth := 0; ; depth++ {
		j, ok := c.idx.find(t, id)
		if !ok {
			if depth == 0 {
				msg = "external service's client span (the callee's parent) is not in the backend"
			} else {
				msg = "a span of the external service is not in the backend"
			}
			break
		}
		s := c.idx.span(j)
		if s.Service != ext {
			if depth == 0 {
				msg = "callee's parent is a span of " + s.Service + ", not of the external service"
			} else if !sentSpans[s.ID] {
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
	if msg == "" {
		return true
	}
	c.broke(edgeName(ext, h.To), msg, c.faults.treeEdge(ext, h.To, h.SentAt), at(h.SentAt),
		func() string { return externalExample(h) })
	return false
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
