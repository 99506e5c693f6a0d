package scenarios

// This file is the host's side of a sharded blast: the run's objects, the
// port-forwards to the shards, the barrier, the gathering of figures and
// the read-back of the backend in the cluster.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/simulator/kube"
	"github.com/tracerig/tracerig/simulator/synthetic"
)

// Timings of a sharded blast.
const (
	// shardBarrier is how far ahead of now the shards are told to start.
	shardBarrier = 2 * time.Second
	// shardGrace is how long after the run's end the shards may take to
	// send what they built and answer /result.
	shardGrace = 2 * time.Minute
	// shardPoll is the interval of the polls of /result.
	shardPoll = 500 * time.Millisecond
	// cpuWait bounds the wait for the kubelet to measure the backend's
	// CPU after the run (it does every ten seconds or so).
	cpuWait = 20 * time.Second
)

// shardHost is a sharded blast's objects in the cluster and the host's
// ways to them.
type shardHost struct {
	cs      kubernetes.Interface
	cfg     *rest.Config
	ns, id  string
	ownNS   bool
	log     io.Writer
	pods    []string // by index
	addrs   []string // 127.0.0.1:port to each shard's API, by index
	backend string   // http://127.0.0.1:port to the backend's query API; "" without one
	backPod string   // the backend's pod
	closers []func() error
	http    *http.Client
	// podEnd says why a pod is not running, "" while it runs.
	podEnd func(ctx context.Context, pod string) string
	// readyWait bounds the wait for a shard's /ready through its
	// port-forward, once its pod is ready.
	readyWait time.Duration
}

// startShards creates the plan's objects, waits until every pod is ready
// and opens the port-forwards; on failure it deletes what it made.
func startShards(ctx context.Context, plan kube.ShardPlan, o ShardsOptions) (_ *shardHost, err error) {
	cs, cfg, err := kube.Client(o.Kubernetes.Kubeconfig)
	if err != nil {
		return nil, err
	}
	h := &shardHost{cs: cs, cfg: cfg, ns: plan.Namespace, id: plan.RunID, ownNS: plan.CreateNamespace, log: o.Log,
		http: &http.Client{Timeout: 30 * time.Second}, readyWait: 30 * time.Second}
	h.podEnd = func(ctx context.Context, pod string) string { return kube.PodEnd(ctx, cs, h.ns, pod) }
	objs, err := plan.Objects()
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			h.close(ctx)
		}
	}()
	start := time.Now()
	if err := kube.CreateShards(ctx, cs, objs); err != nil {
		return nil, err
	}
	logf(h.log, "kubernetes: %d shards of run %s created in namespace %s", plan.Shards, h.id, h.ns)
	timeout := o.ReadyTimeout
	if timeout == 0 {
		timeout = 3 * time.Minute
	}
	embedded := plan.Backend == kube.BackendEmbedded
	pods, err := kube.WaitShards(ctx, cs, h.ns, h.id, plan.Shards, embedded, timeout)
	if err != nil {
		return nil, err
	}
	h.pods = pods.Shards
	for _, pod := range h.pods {
		addr, err := h.forward(pod, kube.ShardPort)
		if err != nil {
			return nil, err
		}
		h.addrs = append(h.addrs, addr)
	}
	if embedded {
		addr, err := h.forward(pods.Backend, kube.QueryPort)
		if err != nil {
			return nil, err
		}
		h.backend, h.backPod = "http://"+addr, pods.Backend
	}
	logf(h.log, "kubernetes: %d shards ready in %s", plan.Shards, time.Since(start).Round(time.Millisecond))
	return h, nil
}

// forward opens a port-forward to a pod's port.
func (h *shardHost) forward(pod string, port int) (string, error) {
	addr, closeFwd, err := kube.PortForward(h.cs, h.cfg, h.ns, pod, port)
	if err != nil {
		return "", err
	}
	h.closers = append(h.closers, closeFwd)
	return addr, nil
}

// close closes the port-forwards, deletes the run's objects, within a
// minute, even when ctx has ended, and closes the client's idle
// connections.
func (h *shardHost) close(ctx context.Context) error {
	for _, c := range h.closers {
		c()
	}
	h.closers = nil
	delCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	err := kube.DeleteShards(delCtx, h.cs, h.ns, h.id, h.ownNS)
	if err != nil {
		logf(h.log, "kubernetes: %v", err)
	}
	kube.CloseIdle(h.cfg)
	return err
}

// blast starts every shard at one time (the barrier, returned) and
// gathers their figures once the run of duration d is over. When ctx
// ends first, the shards are stopped and what they did is still gathered.
// Every shard is then told it may exit.
func (h *shardHost) blast(ctx context.Context, d time.Duration) (time.Time, []shardOutcome) {
	outs := make([]shardOutcome, len(h.pods))
	for i, pod := range h.pods {
		outs[i] = shardOutcome{Index: i, Pod: pod}
	}
	h.each(outs, func(i int) {
		if err := h.waitReady(ctx, i); err != nil {
			outs[i].Err = "not ready: " + err.Error()
		}
	})
	t0 := time.Now().Add(shardBarrier)
	h.each(outs, func(i int) {
		if err := h.call(ctx, i, http.MethodPost, "/start", shardStart{At: t0}, nil); err != nil {
			outs[i].Err = "not started: " + err.Error()
		}
	})
	logf(h.log, "kubernetes: %d shards start at %s", len(outs), t0.Format(time.RFC3339Nano))
	if !sleepCtx(ctx, time.Until(t0.Add(d))) {
		logf(h.log, "kubernetes: stopping the shards")
		h.each(outs, func(i int) { h.call(context.WithoutCancel(ctx), i, http.MethodPost, "/stop", nil, nil) })
	}
	deadline := time.Now().Add(shardGrace)
	h.each(outs, func(i int) { h.gather(context.WithoutCancel(ctx), &outs[i], deadline) })
	h.each(outs, func(i int) { h.call(context.WithoutCancel(ctx), i, http.MethodPost, "/done", nil, nil) })
	return t0, outs
}

// waitReady waits until shard i's /ready answers 200 through its
// port-forward, at most h.readyWait.
func (h *shardHost) waitReady(ctx context.Context, i int) error {
	deadline := time.Now().Add(h.readyWait)
	for {
		err := h.call(ctx, i, http.MethodGet, "/ready", nil, nil)
		if err == nil || time.Now().After(deadline) || !sleepCtx(ctx, 200*time.Millisecond) {
			return err
		}
	}
}

// each calls f for every shard that has not died, concurrently.
func (h *shardHost) each(outs []shardOutcome, f func(i int)) {
	var wg sync.WaitGroup
	for i := range outs {
		if outs[i].Err == "" {
			wg.Go(func() { f(i) })
		}
	}
	wg.Wait()
}

// gather polls a shard's /result until it answers with its figures, its
// pod ends, or deadline passes.
func (h *shardHost) gather(ctx context.Context, o *shardOutcome, deadline time.Time) {
	for {
		var res ShardResult
		err := h.call(ctx, o.Index, http.MethodGet, "/result", nil, &res)
		switch {
		case err == nil && res.Err != "":
			o.Err = "its run failed: " + res.Err
			return
		case err == nil:
			o.Result = &res
			return
		case !errors.Is(err, errRunning):
			if end := h.podEnd(ctx, o.Pod); end != "" {
				o.Err = end
				return
			}
		}
		if time.Now().After(deadline) {
			o.Err = fmt.Sprintf("no figures within %s of the run's end: %v", shardGrace, err)
			return
		}
		time.Sleep(shardPoll)
	}
}

// errRunning is a /result that is not ready yet.
var errRunning = errors.New("the shard's run is not over")

// call makes one request to shard i's API, sending in as JSON and decoding
// a 200 answer into out when not nil; a 202 to GET /result is errRunning.
func (h *shardHost) call(ctx context.Context, i int, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+h.addrs[i]+path, body)
	if err != nil {
		return err
	}
	resp, err := h.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s of %s: %w", method, path, h.pods[i], err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return fmt.Errorf("%s %s of %s: %w", method, path, h.pods[i], err)
	case resp.StatusCode == http.StatusAccepted && path == "/result":
		return errRunning
	case resp.StatusCode >= 300:
		return fmt.Errorf("%s %s of %s: %s: %s", method, path, h.pods[i], resp.Status, bytes.TrimSpace(b))
	case out != nil:
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s of %s: decode: %w", method, path, h.pods[i], err)
		}
	}
	return nil
}

// readBack reads the embedded backend in the cluster back: its counts,
// and about a thousand traces spread over the slices of the shards that
// answered, each recomputed from its sequence number and looked up whole.
func (h *shardHost) readBack(ctx context.Context, g *synthetic.Generator, n int, outs []shardOutcome) assert.SinkHeld {
	held := assert.SinkHeld{Holder: "backend"}
	var st struct {
		Spans, Traces, Rejected int64
	}
	if err := h.get(ctx, "/api/stats", &st); err != nil {
		held.Err = err
		return held
	}
	held.Spans, held.Traces, held.Rejected = st.Spans, st.Traces, st.Rejected
	var reqs []sampledRequest
	for _, o := range outs {
		if o.Result == nil {
			continue
		}
		sh := synthetic.Shard{Index: o.Index, Count: n}
		traces := o.Result.Stats.Traces
		for _, seq := range g.SampleSeqs(sh, traces, max(1000/uint64(n), 1)) {
			reqs = append(reqs, sampledRequest{seq: seq, shard: sh, last: seq == sh.Seq(traces-1)})
		}
	}
	held.Sample = h.sample(ctx, g, reqs)
	return held
}

// sampledRequest is a request of a shard whose traces a read-back looks
// up; last says it was the last the shard sent.
type sampledRequest struct {
	seq   uint64
	shard synthetic.Shard
	last  bool
}

// backendCPU returns the CPU time the backend's pod used until after
// end, waiting for the kubelet to measure it (at most cpuWait); 0 when it
// does not say.
func (h *shardHost) backendCPU(ctx context.Context, end time.Time) time.Duration {
	if h.backPod == "" || h.cs == nil {
		return 0
	}
	deadline := time.Now().Add(cpuWait)
	for {
		cpu, at, err := kube.PodCPU(ctx, h.cs, h.ns, h.backPod)
		if err == nil && at.After(end) {
			return cpu
		}
		if time.Now().After(deadline) || !sleepCtx(ctx, time.Second) {
			logf(h.log, "kubernetes: the backend's CPU after the run is not known: %v (measured at %s)", err, at.Format(time.RFC3339))
			return 0
		}
	}
}

// sample looks the traces of the requests reqs up in the backend, a few
// requests at a time, and counts those it holds whole: each request's own
// and those its consumers started.
func (h *shardHost) sample(ctx context.Context, g *synthetic.Generator, reqs []sampledRequest) *assert.TraceSample {
	var mu sync.Mutex
	s := &assert.TraceSample{}
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, rq := range reqs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			sent := g.ExpectSent(rq.seq, rq.shard, rq.last)
			complete := 0
			for _, tr := range sent {
				var got struct {
					Spans []json.RawMessage `json:"spans"`
				}
				if err := h.get(ctx, "/api/traces/"+tr.ID.String(), &got); err == nil && len(got.Spans) == tr.Spans {
					complete++
				}
			}
			mu.Lock()
			s.Checked += len(sent)
			s.Complete += complete
			mu.Unlock()
		})
	}
	wg.Wait()
	return s
}

// get reads one answer of the backend's query API.
func (h *shardHost) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.backend+path, nil)
	if err != nil {
		return err
	}
	resp, err := h.http.Do(req)
	if err != nil {
		return fmt.Errorf("query the backend: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("query the backend: GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("query the backend: GET %s: %w", path, err)
	}
	return nil
}
