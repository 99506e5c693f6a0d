package assert

import (
	"fmt"

	"github.com/tracerig/tracerig/internal/record"
)

// hopState is what the ledger says about one hop's trace context.
type hopState uint8

// Hop states. Only hops with a caller (From != "") in hopContinued or
// hopBroken count as checked.
const (
	hopNew       hopState = iota // not yet resolved
	hopBusy                      // being resolved (guards against Parent cycles)
	hopNone                      // nothing to check: no valid expectation, or never received
	hopContinued                 // the callee continued the expected context
	hopBroken                    // the trace broke on this hop
	hopUpstream                  // an earlier hop on the path already broke it
)

// hopLedger resolves, for every hop, the context the callee should have
// received and whether it did. The expectation is always some hop's Sent
// context: the hop itself when its caller started a client span, else the
// expectation of the caller's own incoming hop (an ideal uninstrumented
// proxy forwards what it received), up to the load generator.
type hopLedger struct {
	hops   []record.Hop
	byID   map[uint64]int32
	origin []int32 // hop whose Sent is the expectation; -1 for none
	state  []hopState
}

func newHopLedger(hops []record.Hop) *hopLedger {
	l := &hopLedger{
		hops:   hops,
		byID:   make(map[uint64]int32, len(hops)),
		origin: make([]int32, len(hops)),
		state:  make([]hopState, len(hops)),
	}
	for i := range hops {
		l.byID[hops[i].ID] = int32(i)
	}
	for i := range hops {
		l.resolve(int32(i))
	}
	return l
}

// resolve sets hop i's origin and state, resolving its parent first when
// the caller forwarded rather than started the context.
func (l *hopLedger) resolve(i int32) {
	if l.state[i] != hopNew {
		return
	}
	l.state[i] = hopBusy
	l.origin[i] = -1
	h := &l.hops[i]
	switch {
	case h.From == "" || h.ClientSpan:
		l.origin[i] = i
	default:
		p, ok := l.byID[h.Parent]
		if !ok || p == i {
			l.state[i] = hopNone
			return
		}
		l.resolve(p)
		switch l.state[p] {
		case hopBroken, hopUpstream:
			l.origin[i] = l.origin[p]
			l.state[i] = hopUpstream
			return
		case hopContinued:
			l.origin[i] = l.origin[p]
		default:
			l.state[i] = hopNone
			return
		}
	}
	exp := l.hops[l.origin[i]].Sent
	switch {
	case !exp.IsValid() || !h.Received:
		l.state[i] = hopNone
	case h.Got.Trace == exp.Trace && h.Got.Span == exp.Span:
		l.state[i] = hopContinued
	case h.From == "":
		l.state[i] = hopNone // the load generator's own hop is not checked
	default:
		l.state[i] = hopBroken
	}
}

// expected returns the context hop i's callee should have continued.
func (l *hopLedger) expected(i int32) (record.Context, bool) {
	o := l.origin[i]
	if o < 0 {
		return record.Context{}, false
	}
	return l.hops[o].Sent, true
}

// checked reports whether hop i counts as a checked hop.
func (l *hopLedger) checked(i int32) bool {
	s := l.state[i]
	return l.hops[i].From != "" && (s == hopContinued || s == hopBroken)
}

// effectiveFrom returns the instrumented service whose client span hop i's
// callee should be a child of, when there is one.
func (l *hopLedger) effectiveFrom(i int32) (string, bool) {
	o := l.origin[i]
	if o < 0 || !l.hops[o].ClientSpan {
		return "", false
	}
	return l.hops[o].From, true
}

// inFlight is the time within which a fault could act on hop i: from when
// its caller's handler received the request that made it (that request's
// send: when an uninstrumented or mismatched caller decided how to treat
// it) to when the caller got its answer or gave up. A hop without an
// answer time (a load request) ends at its send.
func (l *hopLedger) inFlight(i int32) (lo, hi int64) {
	h := &l.hops[i]
	lo, hi = h.SentAt, max(h.AnsweredAt, h.SentAt)
	if m := h.Message; m != nil {
		// A message is in flight until its consumer read it: header faults
		// act on the way to the group.
		hi = max(hi, m.ProcessedAt)
	}
	if h.Parent != 0 {
		if p, ok := l.byID[h.Parent]; ok && l.hops[p].SentAt < lo {
			lo = l.hops[p].SentAt
		}
	}
	return lo, hi
}

// edgeName is how findings name the physical edge a hop crossed.
func edgeName(from, to string) string { return from + " -> " + to }

// hopExample is a finding's evidence for one broken hop.
func hopExample(h *record.Hop, exp record.Context) string {
	s := fmt.Sprintf("request %d hop %x: expected trace %s span %s, got %s",
		h.Request, h.ID, exp.Trace, exp.Span, contextString(h.Got))
	switch {
	case h.GotTraceParent != "":
		s += fmt.Sprintf("; received traceparent %q", h.GotTraceParent)
	case h.GotHeaders&record.HeaderTraceparent == 0 && h.SentHeaders&record.HeaderTraceparent != 0:
		s += "; received no traceparent"
	}
	if m := h.Message; m != nil {
		s += "; " + messageString(m)
		if h.ServerSpan && !h.Got.IsValid() {
			s += "; consumer span " + h.Server.Span.String() + " has no link to it"
		}
		return s
	}
	if h.ServerSpan && h.Server.Trace != exp.Trace {
		s += "; callee started trace " + h.Server.Trace.String()
	}
	return s
}

// messageString names the message an asynchronous hop carried.
func messageString(m *record.Message) string {
	s := fmt.Sprintf("message %x on %s to group %s", m.ID, m.Topic, m.Group)
	if m.Offset >= 0 {
		if m.Partition >= 0 {
			s += fmt.Sprintf(" (partition %d offset %d)", m.Partition, m.Offset)
		} else {
			s += fmt.Sprintf(" (stream sequence %d)", m.Offset)
		}
	}
	if m.Redelivery > 0 {
		s += fmt.Sprintf(", redelivery %d", m.Redelivery)
	}
	return s
}

// contextString renders a context for a message.
func contextString(c record.Context) string {
	if !c.IsValid() {
		return "no context"
	}
	return "trace " + c.Trace.String() + " span " + c.Span.String()
}
