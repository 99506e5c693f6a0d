package simulator

import (
	"cmp"
	"slices"
	"unicode/utf8"

	"github.com/tracerig/tracerig/internal/record"
)

// maxFailureMessage bounds the first message kept of each export failure
// reason, in bytes.
const maxFailureMessage = 300

// failureTally counts the spans of one service's failed exports that share
// a reason, and keeps the first such export's error message. A shard holds
// one per service and reason it saw fail, so its memory is bounded by the
// reasons, not by the failures.
type failureTally struct {
	service uint32
	reason  string
	spans   int
	first   string // the first failed export's error message, truncated
	at      int64  // when that export returned, unix ns
}

// exportFailure is one failed return of the exporter: its reason (as
// otlpexport.Reason classifies it) and error message.
type exportFailure struct {
	service uint32
	reason  string
	message string
}

// addFailure counts n spans of one failed export returned at at. The
// caller holds s.mu.
func (s *shard) addFailure(f exportFailure, n int, at int64) {
	for i := range s.failures {
		t := &s.failures[i]
		if t.service == f.service && t.reason == f.reason {
			t.spans += n
			if at < t.at {
				t.first, t.at = truncateMessage(f.message), at
			}
			return
		}
	}
	s.failures = append(s.failures, failureTally{service: f.service, reason: f.reason, spans: n, first: truncateMessage(f.message), at: at})
}

// truncateMessage cuts msg to at most maxFailureMessage bytes, on a rune
// boundary, marking the cut with an ellipsis.
func truncateMessage(msg string) string {
	if len(msg) <= maxFailureMessage {
		return msg
	}
	const ellipsis = "…"
	cut := maxFailureMessage - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + ellipsis
}

// ExportFailures returns the spans whose export failed, counted per service
// and reason, each with the first error message of its reason in that
// service (the earliest across the service's instances). Services are in
// name order, a service's reasons from the most spans to the fewest.
func (l *Ledger) ExportFailures() []record.ExportFailure {
	type key struct {
		service uint32
		reason  string
	}
	byKey := make(map[key]*failureTally)
	for _, s := range l.snapshotShards() {
		s.mu.Lock()
		for _, t := range s.failures {
			k := key{t.service, t.reason}
			if have := byKey[k]; have != nil {
				have.spans += t.spans
				if t.at < have.at {
					have.first, have.at = t.first, t.at
				}
				continue
			}
			c := t
			byKey[k] = &c
		}
		s.mu.Unlock()
	}
	out := make([]record.ExportFailure, 0, len(byKey))
	for _, t := range byKey {
		out = append(out, record.ExportFailure{Service: l.syms.name(t.service), Reason: t.reason, Spans: t.spans, FirstMessage: t.first})
	}
	slices.SortFunc(out, func(a, b record.ExportFailure) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(b.Spans, a.Spans), cmp.Compare(a.Reason, b.Reason))
	})
	return out
}
