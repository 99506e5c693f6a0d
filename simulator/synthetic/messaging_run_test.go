package synthetic

import (
	"fmt"
	"testing"
	"time"
)

// TestMessagingRun runs the messaging topology into a counting sink, whole
// and in shards, with a trace limit that cuts each shard's last batch
// short: every shard sends its requests, billing's runs over each batch
// (the last flushed) and the auditor's runs, exactly as ExpectSent
// recomputes them.
func TestMessagingRun(t *testing.T) {
	g, err := ForScenario(openScenario(t, "messaging"))
	if err != nil {
		t.Fatal(err)
	}
	if g.chunk != 4 {
		t.Fatalf("Run claims %d traces at once, want billing's batch, 4", g.chunk)
	}
	for _, tc := range []struct {
		shards int
		traces uint64
		linked uint64 // per shard: billing's runs and the auditor's
	}{
		{1, 1001, 2 * 251},
		{3, 10, 2 * 3},
		{2, 8, 2 * 2},
	} {
		t.Run(fmt.Sprintf("%d shards of %d traces", tc.shards, tc.traces), func(t *testing.T) {
			sink, addr := startSink(t)
			var sent int64
			for i := range tc.shards {
				sh := Shard{Index: i, Count: tc.shards}
				st, err := g.Run(t.Context(), RunOptions{Endpoint: addr, MaxTraces: tc.traces, Shard: sh, Workers: 3, Conns: 1, Batch: 64})
				if err != nil {
					t.Fatal(err)
				}
				want := int64(0)
				for k := range st.Traces {
					for _, tr := range g.ExpectSent(sh.Seq(k), sh, k == st.Traces-1) {
						want += int64(tr.Spans)
					}
				}
				if st.Traces != tc.traces || st.Linked != tc.linked || st.Sent != want || st.Delivered != want {
					t.Fatalf("%v: %d traces and %d linked, sent %d and delivered %d spans; want %d, %d and %d",
						sh, st.Traces, st.Linked, st.Sent, st.Delivered, tc.traces, tc.linked, want)
				}
				sent += st.Sent
			}
			if sink.spans.Load() != sent {
				t.Fatalf("the sink counted %d spans, the shards sent %d", sink.spans.Load(), sent)
			}
		})
	}
}

// TestMessagingRunEnds ends a paced run by its duration: builders claim
// whole batches and build all they claimed, so the run ends on a batch's
// last request and nothing is left to flush.
func TestMessagingRunEnds(t *testing.T) {
	g, err := ForScenario(openScenario(t, "messaging"))
	if err != nil {
		t.Fatal(err)
	}
	_, addr := startSink(t)
	st, err := g.Run(t.Context(), RunOptions{Endpoint: addr, Duration: 200 * time.Millisecond, Rate: 20000, Workers: 2, Conns: 1, Batch: 50})
	if err != nil {
		t.Fatal(err)
	}
	want := int64(0)
	for seq := range st.Traces {
		for _, tr := range g.ExpectSent(seq, Shard{}, seq == st.Traces-1) {
			want += int64(tr.Spans)
		}
	}
	if st.Traces == 0 || st.Traces%4 != 0 || st.Linked != st.Traces/2 || st.Sent != want || st.Delivered != want {
		t.Fatalf("%d traces and %d linked, sent %d and delivered %d spans; want whole batches and %d spans", st.Traces, st.Linked, st.Sent, st.Delivered, want)
	}
}
