package simulator

import (
	"bytes"
	"cmp"
	"reflect"
	"slices"
	"testing"

	"github.com/tracerig/tracerig/internal/record"
)

// writeRound records one round of a two-instance run into the instance
// shards of l: a hop from the first to the second, its server span ended
// and exported (acknowledged, or failed on even rounds), and a load
// request.
func writeRound(l *Ledger, ss []*shard, round int) {
	trace := record.TraceID{byte(round), 1}
	client, server := record.SpanID{byte(round), 1}, record.SpanID{byte(round), 2}
	hop := uint64(100 + round)
	l.loads.addSend(sendRec{hop: hop, request: uint64(round), to: l.syms.id("a")})
	ss[0].addSend(sendRec{hop: hop, request: uint64(round), from: l.syms.id("a"), to: l.syms.id("b"), route: l.syms.id("GET /x"),
		sent: record.Context{Trace: trace, Span: client, Sampled: true}, sentAt: int64(round), clientSpan: true})
	ss[1].addRecv(recvRec{hop: hop, got: record.Context{Trace: trace, Span: client, Sampled: true},
		server: record.Context{Trace: trace, Span: server, Sampled: true}, serverSpan: true})
	ss[1].addEnded(endRec{trace: trace, id: server, parent: client, service: l.syms.id("b"), inst: l.syms.id("b-0"), name: l.syms.id("GET /x")})
	ss[0].addEnded(endRec{trace: trace, id: client, service: l.syms.id("a"), kind: record.KindClient})
	ss[0].addAnswer(hop, int64(round)+5, 0)
	ss[0].addExports([]exportRec{{trace: trace, id: client}}, int64(round)+6)
	recs := []exportRec{{trace: trace, id: server}}
	if round%2 == 0 {
		ss[1].addFailedExports(recs, int64(round)+7, exportFailure{service: l.syms.id("b"), reason: "timeout", message: "deadline exceeded"})
	} else {
		ss[1].addExports(recs, int64(round)+7)
	}
}

// sortedSnapshot is l's snapshot in a fixed order.
func sortedSnapshot(l *Ledger) Snapshot {
	s := l.Snapshot()
	slices.SortFunc(s.Ended, func(a, b record.Ended) int { return cmp.Compare(string(a.ID[:]), string(b.ID[:])) })
	slices.SortFunc(s.Hops, func(a, b record.Hop) int { return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.From, b.From)) })
	return s
}

// TestLedgerExportTaken takes a ledger's records in rounds, as the host of
// a container run pulls an instance's, and merges every take through one
// Merger: the merged ledger holds every record once, the same as one
// whole export of the same records, with the same totals, failures and
// retries, in as many shards as the source has, however many takes.
func TestLedgerExportTaken(t *testing.T) {
	for _, tt := range []struct {
		name string
		// rounds written before each take; a restart starts a new source
		// process (a new ledger) merged through the same Merger.
		rounds  []int
		restart int // take index before which the source restarts; -1 for none
	}{
		{name: "one take", rounds: []int{5}, restart: -1},
		{name: "a take per round", rounds: []int{1, 1, 1, 1, 1, 1}, restart: -1},
		{name: "empty takes between", rounds: []int{2, 0, 0, 3, 0}, restart: -1},
		{name: "restarted source", rounds: []int{2, 2, 2}, restart: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			newSource := func() (*Ledger, []*shard) {
				// Symbol 0 names a record's unset fields: the same in
				// every ledger written.
				l := NewLedger()
				l.syms.id("unset")
				return l, []*shard{l.newShard(), l.newShard()}
			}
			whole, wholeShards := newSource()
			dst := NewLedger()
			m := dst.Merger()
			src, ss := newSource()
			var retries []ExportRetry
			round := 0
			for take, n := range tt.rounds {
				if take == tt.restart {
					retries = append(retries, src.ExportRetries()...)
					src, ss = newSource()
				}
				for range n {
					writeRound(src, ss, round)
					writeRound(whole, wholeShards, round)
					src.ExportRetried(round)
					round++
				}
				var buf bytes.Buffer
				if err := src.ExportTaken(&buf); err != nil {
					t.Fatal(err)
				}
				if err := m.Merge(&buf); err != nil {
					t.Fatal(err)
				}
				if got := len(dst.snapshotShards()); got != 3 {
					t.Fatalf("after take %d the merged ledger has %d shards, want 3 (loads and one per source shard)", take, got)
				}
				if s := src.Snapshot(); len(s.Ended)+len(s.Hops) != 0 {
					t.Fatalf("after take %d the source still holds %d spans and %d hops", take, len(s.Ended), len(s.Hops))
				}
			}
			retries = append(retries, src.ExportRetries()...)
			ref := NewLedger()
			var buf bytes.Buffer
			if err := whole.Export(&buf); err != nil {
				t.Fatal(err)
			}
			if err := ref.Merge(&buf); err != nil {
				t.Fatal(err)
			}
			if got, want := sortedSnapshot(dst), sortedSnapshot(ref); !reflect.DeepEqual(got, want) {
				t.Errorf("merged takes\n got  %+v\n want %+v", got, want)
			}
			want := ref.Totals()
			want.ExportRetries = round
			if got := dst.Totals(); got != want {
				t.Errorf("totals %+v, want %+v", got, want)
			}
			if got, want := dst.ExportFailures(), ref.ExportFailures(); !reflect.DeepEqual(got, want) {
				t.Errorf("export failures %+v, want %+v", got, want)
			}
			if got := dst.ExportRetries(); !reflect.DeepEqual(got, retries) {
				t.Errorf("retries %+v, want %+v", got, retries)
			}
		})
	}
}
