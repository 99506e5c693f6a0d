package simulator

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tracerig/tracerig/internal/record"
)

// failedExport is one failed return of an exporter in one instance.
type failedExport struct {
	shard   int // index of the instance's shard
	service string
	reason  string
	message string
	spans   int
	at      int64
}

// recordFailures records the exports in a new ledger with the given
// number of instance shards.
func recordFailures(shards int, exports []failedExport) *Ledger {
	l := NewLedger()
	ss := make([]*shard, shards)
	for i := range ss {
		ss[i] = l.newShard()
	}
	for i, e := range exports {
		recs := make([]exportRec, e.spans)
		for j := range recs {
			recs[j] = exportRec{trace: record.TraceID{byte(i)}, id: record.SpanID{byte(i), byte(j)}}
		}
		ss[e.shard].addFailedExports(recs, e.at, exportFailure{service: l.syms.id(e.service), reason: e.reason, message: e.message})
	}
	return l
}

func TestLedgerExportFailures(t *testing.T) {
	for _, tt := range []struct {
		name    string
		shards  int
		exports []failedExport
		want    []record.ExportFailure
	}{
		{name: "none", shards: 1},
		{
			name:   "one reason counts every span, keeps the first message",
			shards: 1,
			exports: []failedExport{
				{0, "cart", "grpc Unauthenticated", "rpc error: code = Unauthenticated desc = first", 3, 10},
				{0, "cart", "grpc Unauthenticated", "rpc error: code = Unauthenticated desc = second", 5, 20},
			},
			want: []record.ExportFailure{{Service: "cart", Reason: "grpc Unauthenticated", Spans: 8, FirstMessage: "rpc error: code = Unauthenticated desc = first"}},
		},
		{
			name:   "reasons apart, the most spans first",
			shards: 1,
			exports: []failedExport{
				{0, "cart", "timeout", "context deadline exceeded", 1, 10},
				{0, "cart", "connection refused", "dial tcp 127.0.0.1:1: connect: connection refused", 4, 20},
			},
			want: []record.ExportFailure{
				{Service: "cart", Reason: "connection refused", Spans: 4, FirstMessage: "dial tcp 127.0.0.1:1: connect: connection refused"},
				{Service: "cart", Reason: "timeout", Spans: 1, FirstMessage: "context deadline exceeded"},
			},
		},
		{
			name:   "instances of a service add up, the earliest message wins",
			shards: 3,
			exports: []failedExport{
				{0, "checkout", "grpc Unauthenticated", "late", 2, 50},
				{1, "checkout", "grpc Unauthenticated", "early", 3, 40},
				{2, "cart", "grpc Unauthenticated", "cart's", 1, 60},
			},
			want: []record.ExportFailure{
				{Service: "cart", Reason: "grpc Unauthenticated", Spans: 1, FirstMessage: "cart's"},
				{Service: "checkout", Reason: "grpc Unauthenticated", Spans: 5, FirstMessage: "early"},
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := recordFailures(tt.shards, tt.exports)
			got := l.ExportFailures()
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("export failures\n got  %+v\n want %+v", got, tt.want)
			}
			failed := 0
			for _, f := range got {
				failed += f.Spans
			}
			if tot := l.Totals(); tot.ExportFailed != failed {
				t.Errorf("reasons count %d spans, the ledger %d failed", failed, tot.ExportFailed)
			}
		})
	}
}

func TestLedgerExportFailuresBounded(t *testing.T) {
	l := recordFailures(1, nil)
	s := l.snapshotShards()[1]
	svc := l.syms.id("cart")
	for i := range 10_000 {
		s.addFailedExports([]exportRec{{id: record.SpanID{byte(i)}}}, int64(i), exportFailure{service: svc, reason: []string{"timeout", "grpc Unavailable"}[i%2], message: "m"})
	}
	if len(s.failures) != 2 {
		t.Errorf("%d tallies after 10000 failures of 2 reasons, want 2", len(s.failures))
	}
}

func TestTruncateMessage(t *testing.T) {
	long := strings.Repeat("é", maxFailureMessage) // two bytes each
	for _, tt := range []struct {
		name, in string
	}{
		{"short", "connection refused"},
		{"exactly the bound", strings.Repeat("x", maxFailureMessage)},
		{"ascii", strings.Repeat("x", 2*maxFailureMessage)},
		{"multibyte", long},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := truncateMessage(tt.in)
			if len(tt.in) <= maxFailureMessage {
				if got != tt.in {
					t.Errorf("%q cut to %q", tt.in, got)
				}
				return
			}
			if len(got) > maxFailureMessage || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") ||
				!strings.HasPrefix(tt.in, strings.TrimSuffix(got, "…")) {
				t.Errorf("cut to %q (%d bytes)", got, len(got))
			}
		})
	}
}

// TestLedgerExportFailuresTravel exports a ledger as a container instance
// serves it and merges it into another, as the containers runtime gathers
// ledgers: the failures arrive with their reasons, counts and messages.
func TestLedgerExportFailuresTravel(t *testing.T) {
	src := recordFailures(2, []failedExport{
		{0, "checkout", "grpc Unauthenticated", "rpc error: code = Unauthenticated desc = bad token", 7, 10},
		{1, "cart", "connection refused", "connection refused", 2, 20},
	})
	dst := recordFailures(1, []failedExport{
		{0, "checkout", "grpc Unauthenticated", "earlier, from another container", 1, 5},
	})
	var buf bytes.Buffer
	if err := src.Export(&buf); err != nil {
		t.Fatal(err)
	}
	if err := dst.Merge(&buf); err != nil {
		t.Fatal(err)
	}
	want := []record.ExportFailure{
		{Service: "cart", Reason: "connection refused", Spans: 2, FirstMessage: "connection refused"},
		{Service: "checkout", Reason: "grpc Unauthenticated", Spans: 8, FirstMessage: "earlier, from another container"},
	}
	if got := dst.ExportFailures(); !reflect.DeepEqual(got, want) {
		t.Errorf("merged export failures\n got  %+v\n want %+v", got, want)
	}
	if tot := dst.Totals(); tot.ExportFailed != 10 {
		t.Errorf("merged ledger counts %d failed spans, want 10", tot.ExportFailed)
	}
}

// spanReasons returns the export reason of every failed span of l's
// snapshot, by span ID, after ending every exported span of l.
func spanReasons(l *Ledger) map[record.SpanID]string {
	for _, s := range l.snapshotShards() {
		var ids []exportRec
		for e := range s.exports.all() {
			ids = append(ids, e)
		}
		for _, e := range ids {
			s.addEnded(endRec{trace: e.trace, id: e.id})
		}
	}
	out := map[record.SpanID]string{}
	for _, e := range l.Snapshot().Ended {
		if e.Export == record.ExportFailed {
			out[e.ID] = e.ExportReason
		}
	}
	return out
}

// TestLedgerSpanExportReason gives each failed span of the snapshot the
// reason its export failed for, before and after the ledger travels.
func TestLedgerSpanExportReason(t *testing.T) {
	exports := []failedExport{
		{0, "cart", "grpc Unauthenticated", "m", 2, 10},
		{0, "cart", "timeout", "m", 1, 20},
		{1, "web", "connection refused", "m", 1, 30},
	}
	want := map[record.SpanID]string{
		{0, 0}: "grpc Unauthenticated", {0, 1}: "grpc Unauthenticated",
		{1, 0}: "timeout",
		{2, 0}: "connection refused",
	}
	if got := spanReasons(recordFailures(2, exports)); !reflect.DeepEqual(got, want) {
		t.Errorf("span reasons %v, want %v", got, want)
	}
	var buf bytes.Buffer
	if err := recordFailures(2, exports).Export(&buf); err != nil {
		t.Fatal(err)
	}
	merged := recordFailures(1, []failedExport{{0, "db", "tls: handshake", "m", 1, 1}})
	if err := merged.Merge(&buf); err != nil {
		t.Fatal(err)
	}
	// The merged ledger's own span {0, 0} shares its ID with one it
	// merged, whose trace differs: span {0, 1} speaks for that export.
	got := spanReasons(merged)
	if got[record.SpanID{0, 1}] != "grpc Unauthenticated" || got[record.SpanID{1, 0}] != "timeout" || got[record.SpanID{2, 0}] != "connection refused" {
		t.Errorf("merged span reasons %v", got)
	}
}

// TestLedgerFailureTalliesOverflow counts reasons past a shard's tallies
// as "other", every span still counted.
func TestLedgerFailureTalliesOverflow(t *testing.T) {
	var exports []failedExport
	for i := range maxTallies + 10 {
		exports = append(exports, failedExport{0, "cart", strings.Repeat("r", i+1), "m", 1, int64(i)})
	}
	l := recordFailures(1, exports)
	fs := l.ExportFailures()
	spans := 0
	for _, f := range fs {
		spans += f.Spans
	}
	if len(fs) != maxTallies || spans != maxTallies+10 {
		t.Errorf("%d tallies counting %d spans, want %d counting %d", len(fs), spans, maxTallies, maxTallies+10)
	}
	if fs[0].Reason != "other" || fs[0].Spans != 11 {
		t.Errorf("first tally %+v, want other with 11 spans", fs[0])
	}
}
