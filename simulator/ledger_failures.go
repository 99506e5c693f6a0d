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

// maxTallies bounds a shard's failure tallies, so that an export record
// names its tally in a byte; past it new reasons count as "other".
const maxTallies = failUnknown - 1

// failureTally counts the spans of one service's failed exports that share
// a reason, and keeps the first such export's error message. A shard holds
// one per service and reason it saw fail, so its memory is bounded by the
// reasons, not by the failures.
type failureTally struct {
	service uint32
	reason  uint32 // symbol
	spans   int
	first   string // the first failed export's error message, truncated
	at      int64  // when that export returned, unix ns
	// took is how many of spans a take (Drain, ExportTaken) has already
	// handed over, so that ExportTaken sends each span's failure once.
	took int
}

// exportFailure is one failed return of the exporter: its reason (as
// otlpexport.Reason classifies it) and error message.
type exportFailure struct {
	service uint32
	reason  string
	message string
}

// addFailedExports records one failed return of the exporter, at at (unix
// ns): rs, marked with f's reason, which counts their spans.
func (s *shard) addFailedExports(rs []exportRec, at int64, f exportFailure) {
	s.mu.Lock()
	fail := s.addFailure(f, len(rs), at)
	for i := range rs {
		rs[i].fail = fail
	}
	s.failed += len(rs)
	s.exports.addAll(rs)
	s.batches.add(exportBatch{at: at, n: len(rs)})
	s.mu.Unlock()
}

// addFailure counts n spans of one failed export returned at at, and
// returns the fail mark of their export records. The caller holds s.mu.
func (s *shard) addFailure(f exportFailure, n int, at int64) uint8 {
	reason := s.l.syms.id(f.reason)
	i := s.tally(f.service, reason)
	if i < 0 && len(s.failures) >= maxTallies-1 {
		reason = s.l.syms.id("other")
		i = s.tally(f.service, reason)
	}
	if i < 0 {
		s.failures = append(s.failures, failureTally{service: f.service, reason: reason, first: truncateMessage(f.message), at: at})
		i = len(s.failures) - 1
	}
	t := &s.failures[i]
	t.spans += n
	if at < t.at {
		t.first, t.at = truncateMessage(f.message), at
	}
	return uint8(i + 1)
}

// tally returns the index of the service's tally of reason, -1 for none.
func (s *shard) tally(service, reason uint32) int {
	for i, t := range s.failures {
		if t.service == service && t.reason == reason {
			return i
		}
	}
	return -1
}

// failReason returns the reason symbol of a failed export record of s, or
// failUnknown. The caller holds s.mu.
func (s *shard) failReason(e exportRec) uint32 {
	if e.fail == 0 || int(e.fail) > len(s.failures) {
		return failUnknown
	}
	return s.failures[e.fail-1].reason
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
	type key struct{ service, reason uint32 }
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
		out = append(out, record.ExportFailure{Service: l.syms.name(t.service), Reason: l.syms.name(t.reason), Spans: t.spans, FirstMessage: t.first})
	}
	slices.SortFunc(out, func(a, b record.ExportFailure) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(b.Spans, a.Spans), cmp.Compare(a.Reason, b.Reason))
	})
	return out
}
