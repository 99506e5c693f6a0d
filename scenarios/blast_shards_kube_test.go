package scenarios

import (
	"bytes"
	"testing"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/simulator/kube/kubetest"
	"github.com/tracerig/tracerig/simulator/synthetic"
)

// TestBlastShardsKubernetes runs a 2-shard blast of shop on the test
// cluster against the embedded backend in it: every shard gives its
// figures, the totals are their sums and equal the backend's count, the
// backend holds every trace of both slices (a recomputed sample of each
// is whole), and nothing of the run is left after it.
func TestBlastShardsKubernetes(t *testing.T) {
	cs := kubetest.Cluster(t)
	image := kubetest.Image(t)
	id, err := simulator.NewRunID()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kubetest.NothingLeft(t, cs, id.String()) })
	var log bytes.Buffer
	rep, err := BlastShards(t.Context(), load(t, "shop.yaml"), ShardsOptions{
		Shards: 2, Kubernetes: KubernetesOptions{Image: image, PullPolicy: "Never"}, Log: &log,
		Blast: BlastOptions{Command: "blast", Scenario: "shop", RunID: id,
			Run: synthetic.RunOptions{Duration: 3 * time.Second, Rate: 20000, Workers: 2, Conns: 1, Batch: 512}},
	})
	t.Logf("log:\n%s", log.String())
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	rep.WriteText(&text)
	t.Logf("report:\n%s", text.String())
	if len(rep.Shards) != 2 {
		t.Fatalf("shards %+v", rep.Shards)
	}
	var sent, delivered, failed, rejected int64
	var traces uint64
	for i, s := range rep.Shards {
		if s.Error != "" || s.Index != i || s.Sent == 0 || s.Name == "" {
			t.Errorf("shard %+v", s)
		}
		sent, delivered, failed, rejected, traces = sent+s.Sent, delivered+s.Delivered, failed+s.Failed, rejected+s.Rejected, traces+s.Traces
	}
	tt := rep.Totals
	if tt.Sent != sent || tt.Delivered != delivered || tt.Failed != failed || tt.Rejected != rejected || tt.Traces != traces {
		t.Errorf("totals %+v are not the shards' sums %+v", tt, rep.Shards)
	}
	var rb *assert.Verdict
	for i, v := range rep.Verdicts {
		if v.Check == assert.CheckReadBack {
			rb = &rep.Verdicts[i]
		}
		if v.Status != assert.StatusPass {
			t.Errorf("verdict %s: %s", v.Check, v.Observed)
		}
	}
	if rb == nil || int64(rb.Stats["spans"]) != tt.Delivered || uint64(rb.Stats["traces"]) != tt.Traces {
		t.Fatalf("read-back %+v; delivered %d spans in %d traces", rb, tt.Delivered, tt.Traces)
	}
	if len(rep.Series) < 3 || !rep.Passed {
		t.Errorf("series of %d points, passed %v", len(rep.Series), rep.Passed)
	}
}
