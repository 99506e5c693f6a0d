package synthetic

import (
	"slices"
	"testing"
)

// TestSampleSeqs checks the requests a read-back samples: about as many
// as asked (at least half), in the shard's slice, with the last one, and at every
// position of billing's batches of 4, whatever the run's length.
func TestSampleSeqs(t *testing.T) {
	g, err := ForScenario(openScenario(t, "messaging"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		shard  Shard
		traces uint64
		n      uint64
	}{
		{Shard{}, 526200, 1000},
		{Shard{}, 4000, 1000},
		{Shard{}, 3, 1000},
		{Shard{Index: 1, Count: 4}, 80000, 250},
	} {
		seqs := g.SampleSeqs(tc.shard, tc.traces, tc.n)
		positions := map[uint64]bool{}
		for _, seq := range seqs {
			k, ok := tc.shard.Owns(seq)
			if !ok || k >= tc.traces {
				t.Fatalf("%v of %d traces: samples request %d", tc.shard, tc.traces, seq)
			}
			positions[k%4] = true
		}
		want := min(tc.n, tc.traces)
		if n := uint64(len(seqs)); n < want/2 || n > want+2 || !slices.IsSorted(seqs) {
			t.Fatalf("%v of %d traces: %d samples, want about %d, in order", tc.shard, tc.traces, n, want)
		}
		if seqs[len(seqs)-1] != tc.shard.Seq(tc.traces-1) || len(positions) != int(min(tc.traces, 4)) {
			t.Fatalf("%v of %d traces: the last sampled is %d, positions in a batch %v", tc.shard, tc.traces, seqs[len(seqs)-1], positions)
		}
	}
	if g.SampleSeqs(Shard{}, 0, 1000) != nil {
		t.Fatal("a run without traces has a sample")
	}
}
