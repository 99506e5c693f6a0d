package infer

import (
	"fmt"
	"sort"
	"strings"
)

// Reasons a span could not be used, or was used with a caveat.
const (
	ReasonNoIDs          = "no trace or span ID"
	ReasonNoService      = "no service.name"
	ReasonBadTimes       = "ends before it starts"
	ReasonMessaging      = "producer or consumer span without messaging.destination.name: no topic to infer an asynchronous edge from"
	ReasonDuplicate      = "duplicate span ID in its trace"
	ReasonOrphan         = "orphan: its parent is not in the trace (broken trace); its route keeps its latency, it is no entry request"
	ReasonNoServerSpans  = "in a trace without server or consumer spans"
	ReasonNoServer       = "client span under no server or consumer span"
	ReasonNoPublisher    = "producer span under no server or consumer span: no route to publish from"
	ReasonUninstrumented = "client span to an uninstrumented peer (no server span answers it); its time counts as waiting"
	ReasonSkew           = "clock skew: server span outside its caller's span (used as is)"
)

// Summary counts the spans that could not be used, or were used with a
// caveat, by reason; Peers counts the client spans per uninstrumented
// peer (peer.service, server.address or the span's name).
type Summary struct {
	Spans   int64            // spans given to the Builder
	Traces  int64            // traces finished
	Reasons map[string]int64 // reason → spans
	Peers   map[string]int64
}

func (s *Summary) init() { s.Reasons = map[string]int64{} }

func (s *Summary) add(reason string, n int64) { s.Reasons[reason] += n }

// String writes one line per reason, most spans first.
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d spans in %d traces\n", s.Spans, s.Traces)
	reasons := make([]string, 0, len(s.Reasons))
	for r := range s.Reasons {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if s.Reasons[reasons[i]] != s.Reasons[reasons[j]] {
			return s.Reasons[reasons[i]] > s.Reasons[reasons[j]]
		}
		return reasons[i] < reasons[j]
	})
	for _, r := range reasons {
		fmt.Fprintf(&b, "%d spans: %s\n", s.Reasons[r], r)
	}
	return b.String()
}
