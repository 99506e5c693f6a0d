package scenarios

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/fixtures/embedded"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/simulator/kube"
	"github.com/tracerig/tracerig/simulator/synthetic"
)

// localShards runs n shards of a blast of quickstart in this process, each
// behind its own API on 127.0.0.1, sending to b; shard dead's API is a
// closed port instead, as a pod that died. It returns the host side
// reaching them, and waits at cleanup for every shard to return.
func localShards(t *testing.T, b *embedded.Backend, n, dead int) (*shardHost, ShardsOptions, *synthetic.Generator) {
	t.Helper()
	run := synthetic.RunOptions{Endpoint: b.GRPCAddr(), Duration: 400 * time.Millisecond, Rate: 20000, Workers: 2, Conns: 1, Batch: 256}
	return localShardsOf(t, b, "quickstart", run, n, dead)
}

// localShardsOf is localShards for the library's scenario name, each shard
// running as run says.
func localShardsOf(t *testing.T, b *embedded.Backend, name string, run synthetic.RunOptions, n, dead int) (*shardHost, ShardsOptions, *synthetic.Generator) {
	t.Helper()
	sc := load(t, name+".yaml")
	o := ShardsOptions{Shards: n, Blast: BlastOptions{Command: "blast", Scenario: name, RunID: simulator.RunID(0x00f067aa0ba902b7), Run: run}}
	spec, err := NewShardSpec(sc, 0, uint64(o.Blast.RunID), false, n)
	if err != nil {
		t.Fatal(err)
	}
	g, err := spec.Generator()
	if err != nil {
		t.Fatal(err)
	}
	h := &shardHost{backend: "http://" + b.HTTPAddr(), http: &http.Client{Timeout: 5 * time.Second}, readyWait: 5 * time.Second,
		podEnd: func(context.Context, string) string { return "Error (exit code 2)" }}
	errs := make(chan error, n)
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		pod := "blast-" + string(rune('0'+i))
		h.pods, h.addrs = append(h.pods, pod), append(h.addrs, ln.Addr().String())
		if i == dead {
			ln.Close()
			continue
		}
		go func() {
			errs <- RunShard(context.Background(), spec, ShardOptions{Index: i, Pod: pod, Run: o.Blast.Run, Listener: ln, Wait: time.Minute})
		}()
	}
	t.Cleanup(func() {
		for i := range n {
			if i != dead {
				if err := <-errs; err != nil {
					t.Errorf("shard: %v", err)
				}
			}
		}
	})
	return h, o, g
}

// TestShardsLocal runs two shards through their API as the host does on
// Kubernetes: they start at the barrier, the report's totals are the
// shards' sums and equal what the backend holds, and a sample of each
// shard's slice, recomputed, is held whole.
func TestShardsLocal(t *testing.T) {
	b := startShardSink(t)
	h, o, g := localShards(t, b, 2, -1)
	start := time.Now()
	t0, outs := h.blast(context.Background(), o.Blast.Run.Duration)
	t.Logf("blast %v", time.Since(start))
	held := h.readBack(context.Background(), g, 2, outs)
	t.Logf("read back %v", time.Since(start))
	rep := shardsReport(o, kube.ShardPlan{Plan: kube.Plan{Namespace: "test"}}, g, t0, outs, &held)
	var sent, delivered int64
	for i, s := range rep.Shards {
		if s.Error != "" || s.Sent == 0 || s.Index != i {
			t.Errorf("shard %+v", s)
		}
		sent += s.Sent
		delivered += s.Delivered
		if r := outs[i].Result; r.Started.Before(t0) {
			t.Errorf("shard %d started at %v, before the barrier %v", i, r.Started, t0)
		}
	}
	tt := rep.Totals
	if tt.Sent != sent || tt.Delivered != delivered || tt.Delivered != b.Stats().Spans {
		t.Fatalf("totals %+v, shards' sums %d and %d, backend %d; verdicts %+v", tt, sent, delivered, b.Stats().Spans, rep.Verdicts)
	}
	for _, v := range rep.Verdicts {
		// The rate two shards reach in this process follows how busy the
		// machine is; what this test holds them to is the figures.
		if v.Check != assert.CheckRate && v.Status != assert.StatusPass {
			t.Errorf("verdict %+v", v)
		}
	}
	if held.Sample == nil || held.Sample.Checked == 0 || held.Sample.Complete != held.Sample.Checked {
		t.Errorf("sample %+v", held.Sample)
	}
	if last := rep.Verdicts[len(rep.Verdicts)-1]; last.Check != CheckShards || last.Status != assert.StatusPass {
		t.Errorf("verdict %+v", last)
	}
}

// TestShardsLocalDead runs three shards of which one never answers: it is
// reported by name with its pod's end, counts nothing, and fails the run,
// while the others' figures are kept.
func TestShardsLocalDead(t *testing.T) {
	b := startShardSink(t)
	h, o, g := localShards(t, b, 3, 1)
	t0, outs := h.blast(context.Background(), o.Blast.Run.Duration)
	held := h.readBack(context.Background(), g, 3, outs)
	rep := shardsReport(o, kube.ShardPlan{Plan: kube.Plan{Namespace: "test"}}, g, t0, outs, &held)
	dead := rep.Shards[1]
	if dead.Name != "blast-1" || !strings.Contains(dead.Error, "not ready") || dead.Sent != 0 {
		t.Errorf("dead shard %+v", dead)
	}
	if rep.Passed || rep.Totals.Sent != rep.Shards[0].Sent+rep.Shards[2].Sent || rep.Totals.Sent == 0 {
		t.Errorf("passed %v, totals %+v, shards %+v", rep.Passed, rep.Totals, rep.Shards)
	}
	if v := rep.Verdicts[0]; v.Check != assert.CheckDelivery || v.Status != assert.StatusFail || !strings.Contains(v.Observed, "2 living shards") {
		t.Errorf("delivery verdict %+v", v)
	}
	last := rep.Verdicts[len(rep.Verdicts)-1]
	if last.Check != CheckShards || last.Status != assert.StatusFail || !strings.Contains(last.Observed, "shard 1 (pod blast-1)") {
		t.Errorf("verdict %+v", last)
	}
	var text strings.Builder
	rep.WriteText(&text)
	if !strings.Contains(text.String(), "blast-1: DIED") {
		t.Errorf("summary:\n%s", text.String())
	}
}

// startShardSink starts an embedded backend for the test.
func startShardSink(t *testing.T) *embedded.Backend {
	t.Helper()
	b := embedded.New()
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b.Shutdown(ctx)
	})
	return b
}

// TestShardAPI drives one shard's API by hand: not ready before its
// endpoint is reached, a bad or second /start refused, /stop ending a run
// meant to last a minute, its figures once it is over, and /done letting
// it return.
func TestShardAPI(t *testing.T) {
	b := startShardSink(t)
	spec, err := NewShardSpec(load(t, "quickstart.yaml"), 0, 7, false, 2)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- RunShard(context.Background(), spec, ShardOptions{Index: 1, Listener: ln, Wait: time.Minute,
			Run: synthetic.RunOptions{Endpoint: b.GRPCAddr(), Duration: time.Minute, Rate: 10000, Workers: 1, Conns: 1, Batch: 128}})
	}()
	base := "http://" + ln.Addr().String()
	status := func(method, path, body string) int {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for deadline := time.Now().Add(10 * time.Second); status("GET", "/ready", "") != http.StatusOK; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
	}
	at := time.Now().Format(time.RFC3339Nano)
	for _, c := range []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/start", `{"at": "soon"}`, http.StatusBadRequest},
		{"POST", "/start", `{"at": "` + at + `"}`, http.StatusAccepted},
		{"POST", "/start", `{"at": "` + at + `"}`, http.StatusConflict},
		{"POST", "/stop", "", http.StatusAccepted},
	} {
		if got := status(c.method, c.path, c.body); got != c.want {
			t.Errorf("%s %s %s: %d, want %d", c.method, c.path, c.body, got, c.want)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); status("GET", "/result", "") != http.StatusOK; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("/stop did not end the run")
		}
	}
	if got := status("POST", "/done", ""); got != http.StatusOK {
		t.Errorf("/done: %d", got)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
