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
