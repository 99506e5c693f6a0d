package synthetic

import (
	"context"
	"testing"

	"github.com/tracerig/tracerig/internal/record"
)

// TestShardSlices checks that the shards of a run split the sequence space
// without overlap or gap: the first traces of n shards are exactly seqs
// [0, n*k), each owned by one shard, which Owns maps back.
func TestShardSlices(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 7} {
		seen := map[uint64]int{}
		const per = 50
		for i := range n {
			s := Shard{Index: i, Count: n}
			for k := range uint64(per) {
				seq := s.Seq(k)
				if other, dup := seen[seq]; dup {
					t.Fatalf("%d shards: seq %d is shard %d's and shard %d's", n, seq, other, i)
				}
				seen[seq] = i
				if got, ok := s.Owns(seq); !ok || got != k {
					t.Fatalf("%v: Owns(Seq(%d)) = %d, %v", s, k, got, ok)
				}
				for j := range n {
					if _, ok := (Shard{Index: j, Count: n}).Owns(seq); ok != (j == i) {
						t.Fatalf("%d shards: shard %d owns seq %d = %v", n, j, seq, ok)
					}
				}
			}
		}
		for seq := range uint64(n * per) {
			if _, ok := seen[seq]; !ok {
				t.Fatalf("%d shards leave seq %d out", n, seq)
			}
		}
	}
	if (Shard{}).Seq(5) != 5 || (Shard{}).Rate(1000) != 1000 || (Shard{Index: 1, Count: 4}).Rate(1000) != 250 {
		t.Fatal("the zero Shard is not the whole run")
	}
	for _, bad := range []Shard{{Index: 2, Count: 2}, {Index: -1, Count: 2}, {Count: -1}, {Index: 1}} {
		if bad.Validate() == nil {
			t.Errorf("%+v validates", bad)
		}
	}
}

// TestShardRunsRecompute runs each shard of a run into one embedded
// backend: the shards' trace IDs are disjoint, the backend holds exactly
// the sum of what they sent, and every trace each shard sent is
// recomputed exactly (ID and span count) from its slice's sequence
// numbers.
func TestShardRunsRecompute(t *testing.T) {
	g, err := ForScenario(openScenario(t, "shop"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		shards int
		traces uint64 // per shard
	}{{1, 400}, {2, 300}, {3, 211}} {
		b := startBackend(t)
		ids := map[record.TraceID]int{}
		var sent int64
		for i := range tc.shards {
			s := Shard{Index: i, Count: tc.shards}
			st, err := g.Run(context.Background(), RunOptions{Endpoint: b.GRPCAddr(), MaxTraces: tc.traces, Workers: 2, Conns: 1, Batch: 200, Shard: s})
			if err != nil {
				t.Fatal(err)
			}
			if st.Traces != tc.traces || st.Undelivered() != 0 {
				t.Fatalf("%v: stats %+v", s, st)
			}
			sent += st.Sent
			var want int64
			for k := range st.Traces {
				id, n := g.Expect(s.Seq(k))
				want += int64(n)
				if other, dup := ids[id]; dup {
					t.Fatalf("%v sent trace %s, as shard %d did", s, id, other)
				}
				ids[id] = i
				if got := len(b.Trace(id)); got != n {
					t.Fatalf("%v trace %d (seq %d): backend holds %d spans, want %d", s, k, s.Seq(k), got, n)
				}
			}
			if want != st.Sent {
				t.Fatalf("%v sent %d spans, its slice recomputes to %d", s, st.Sent, want)
			}
		}
		if bs := b.Stats(); bs.Spans != sent || bs.Traces != int64(len(ids)) {
			t.Fatalf("%d shards: backend holds %+v, shards sent %d spans in %d traces", tc.shards, bs, sent, len(ids))
		}
	}
}

// TestShardRefused checks that a run as a shard out of range does not
// start.
func TestShardRefused(t *testing.T) {
	g, err := ForScenario(openScenario(t, "shop"))
	if err != nil {
		t.Fatal(err)
	}
	b := startBackend(t)
	if _, err := g.Run(context.Background(), RunOptions{Endpoint: b.GRPCAddr(), MaxTraces: 1, Shard: Shard{Index: 3, Count: 2}}); err == nil {
		t.Fatal("shard 3 of 2 runs")
	}
}
