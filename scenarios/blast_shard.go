package scenarios

// This file is one shard of a sharded blast, as its pod runs it: the spec
// the shards share, and the small HTTP API through which the host starts
// them together and gathers their figures.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/tracerig/tracerig/simulator/synthetic"
	"github.com/tracerig/tracerig/topology"
)

// ShardSpec is what the shards of a run share, so that each builds the
// very generator the host reads back with: the topology's source, the
// seed, the run's ID and the weighted entry routes.
type ShardSpec struct {
	Shards int `json:"shards"`
	// File names the source in errors; Source is a topology, or a
	// scenario with its topology inline when Inline.
	File       string       `json:"file"`
	Source     string       `json:"source"`
	Inline     bool         `json:"inline,omitempty"`
	Seed       uint64       `json:"seed"`
	RunID      uint64       `json:"run_id"`
	IsolateIDs bool         `json:"isolate_ids,omitempty"`
	Entries    []ShardEntry `json:"entries,omitempty"`
}

// ShardEntry is an entry route of the load and its weight.
type ShardEntry struct {
	Service string  `json:"service"`
	Route   string  `json:"route"`
	Weight  float64 `json:"weight"`
}

// NewShardSpec returns the spec of n shards of a run of sc with seed (0:
// the scenario's) and run ID id, isolating the IDs when the run sends to
// an endpoint others may share.
func NewShardSpec(sc *topology.Scenario, seed, id uint64, isolate bool, n int) (ShardSpec, error) {
	src, err := scenarioSource(sc)
	if err != nil {
		return ShardSpec{}, fmt.Errorf("shard spec: %w", err)
	}
	if seed == 0 {
		seed = sc.Seed
	}
	s := ShardSpec{Shards: n, File: sc.TopologyFile, Source: string(src), Seed: seed, RunID: id, IsolateIDs: isolate}
	if s.File == "" {
		s.File, s.Inline = sc.File, true
	}
	for _, l := range sc.Load {
		for _, t := range l.Targets {
			s.Entries = append(s.Entries, ShardEntry{Service: t.Service, Route: t.Route, Weight: t.Weight})
		}
	}
	return s, nil
}

// Generator builds the generator the spec describes.
func (s ShardSpec) Generator() (*synthetic.Generator, error) {
	var topo *topology.Topology
	if s.Inline {
		sc, err := topology.ParseScenario(s.File, []byte(s.Source), func(string) ([]byte, error) {
			return nil, errors.New("a shard reads no file beside its spec")
		})
		if err != nil {
			return nil, fmt.Errorf("shard spec: %w", err)
		}
		topo = sc.Topology
	} else {
		var err error
		if topo, err = topology.ParseTopology(s.File, []byte(s.Source)); err != nil {
			return nil, fmt.Errorf("shard spec: %w", err)
		}
	}
	o := synthetic.Options{Seed: s.Seed, RunID: s.RunID, IsolateIDs: s.IsolateIDs}
	for _, e := range s.Entries {
		o.Entries = append(o.Entries, topology.Target{Service: e.Service, Route: e.Route, Weight: e.Weight})
	}
	return synthetic.New(topo, o)
}

// ShardResult is what one shard did, as GET /result answers it.
type ShardResult struct {
	Index int    `json:"index"`
	Pod   string `json:"pod"`
	// Started is the wall-clock time the shard's run began; the end of
	// each of Stats.Samples is Started + At.
	Started time.Time       `json:"started"`
	Stats   synthetic.Stats `json:"stats"`
	CPU     time.Duration   `json:"cpu_ns"`
	PeakRSS int64           `json:"peak_rss_bytes"`
	Cores   int             `json:"cores"`
	// Err says why the run could not start; its figures are then zero.
	Err string `json:"error,omitempty"`
}

// ShardOptions configure RunShard.
type ShardOptions struct {
	Index int    // the shard's index, 0 <= Index < Spec.Shards
	Pod   string // the pod's name, for the host's report
	// Run configures the generator; its Rate is the whole run's, of which
	// the shard sends its share.
	Run synthetic.RunOptions
	// Listener serves the shard's API.
	Listener net.Listener
	// Wait bounds the wait for /start and, after the run, for /done
	// (default 10 minutes each).
	Wait time.Duration
	// Log, when set, receives a line per step.
	Log io.Writer
}

// RunShard is one shard of a sharded blast. It serves on o.Listener GET
// /ready, 200 once an empty export to o.Run's endpoint was accepted (the
// Service's address routes, the credentials hold), 503 before; POST /start {"at": RFC 3339 time}, the barrier: the run starts
// at that time; POST /stop, which ends the run early; GET /result, 202
// until the run is over, then its ShardResult; POST /done, after which
// RunShard returns. It returns an error when no /start came within
// o.Wait, and nil when /done did not (the host is gone: nothing waits for
// the figures).
func RunShard(ctx context.Context, spec ShardSpec, o ShardOptions) error {
	if o.Wait <= 0 {
		o.Wait = 10 * time.Minute
	}
	o.Run.Shard = synthetic.Shard{Index: o.Index, Count: spec.Shards}
	if err := o.Run.Shard.Validate(); err != nil {
		return fmt.Errorf("blast shard: %w", err)
	}
	g, err := spec.Generator()
	if err != nil {
		return err
	}
	s := newShardServer()
	srv := &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(o.Listener) }()
	defer func() {
		shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutCtx)
		<-served
	}()
	reachCtx, stopReach := context.WithCancel(ctx)
	var reaching sync.WaitGroup
	reaching.Go(func() { s.reach(reachCtx, o.Run, o.Log) })
	defer reaching.Wait()
	defer stopReach()
	logf(o.Log, "shard %d of %d: waiting for /start on %s", o.Index, spec.Shards, o.Listener.Addr())
	at, err := s.waitStart(ctx, o.Wait)
	if err != nil {
		return fmt.Errorf("blast shard %d: %w", o.Index, err)
	}
	res := ShardResult{Index: o.Index, Pod: o.Pod, Cores: runtime.GOMAXPROCS(0)}
	if wait := time.Until(at); wait > 0 && !sleepCtx(ctx, wait) {
		s.finish(res)
		return ctx.Err()
	}
	runCtx, cancel := context.WithCancel(ctx)
	s.setStop(cancel)
	m, err := g.Measure(runCtx, o.Run)
	cancel()
	if err != nil {
		res.Err = err.Error()
	}
	res.Started, res.Stats, res.CPU, res.PeakRSS = m.Started, m.Stats, m.CPU, m.PeakRSS
	s.finish(res)
	logf(o.Log, "shard %d: sent %d spans, delivered %d; waiting for /done", o.Index, m.Stats.Sent, m.Stats.Delivered)
	if !s.waitDone(ctx, o.Wait) {
		logf(o.Log, "shard %d: no /done within %s: exiting", o.Index, o.Wait)
	}
	return nil
}

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}

// sleepCtx waits for d and returns true, or false when ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// reach sends empty exports as o configures until one is accepted, or ctx
// ends: until then the shard is not ready, so that no shard starts
// before it can send (a Service the node does not route yet, a backend
// still starting).
func (s *shardServer) reach(ctx context.Context, o synthetic.RunOptions, log io.Writer) {
	o.ExportTimeout = 3 * time.Second
	for {
		err := synthetic.Preflight(ctx, o)
		s.mu.Lock()
		s.unreached = err
		s.mu.Unlock()
		if err == nil || !sleepCtx(ctx, time.Second) {
			return
		}
		logf(log, "not ready: export to %s: %v", o.Endpoint, err)
	}
}

// shardServer is the state behind a shard's API.
type shardServer struct {
	start chan time.Time // gets the barrier's time once
	done  chan struct{}  // closed by /done

	mu sync.Mutex
	// unreached is why the endpoint was not reached yet; nil once it was.
	unreached error
	started   bool
	stop      context.CancelFunc
	stopped   bool
	result    *ShardResult
	doneOnce  sync.Once
}

func newShardServer() *shardServer {
	return &shardServer{start: make(chan time.Time, 1), done: make(chan struct{}), unreached: errors.New("not tried yet")}
}

func (s *shardServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", s.serveReady)
	mux.HandleFunc("POST /start", s.serveStart)
	mux.HandleFunc("POST /stop", func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		s.stopped = true
		if s.stop != nil {
			s.stop()
		}
		s.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("GET /result", s.serveResult)
	mux.HandleFunc("POST /done", func(w http.ResponseWriter, _ *http.Request) {
		s.doneOnce.Do(func() { close(s.done) })
		w.WriteHeader(http.StatusOK)
	})
	return mux
}

// shardStart is the body of POST /start.
type shardStart struct {
	At time.Time `json:"at"`
}

func (s *shardServer) serveStart(w http.ResponseWriter, r *http.Request) {
	var body shardStart
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<10)).Decode(&body); err != nil || body.At.IsZero() {
		http.Error(w, `want {"at": "RFC 3339 time"}`, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		http.Error(w, "already started", http.StatusConflict)
		return
	}
	s.started = true
	s.start <- body.At
	w.WriteHeader(http.StatusAccepted)
}

func (s *shardServer) serveReady(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	err := s.unreached
	s.mu.Unlock()
	if err != nil {
		http.Error(w, "the endpoint is not reached yet: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ready\n")
}

func (s *shardServer) serveResult(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	res := s.result
	s.mu.Unlock()
	if res == nil {
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "running\n")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(res)
}

// waitStart returns the barrier's time once /start gives it.
func (s *shardServer) waitStart(ctx context.Context, wait time.Duration) (time.Time, error) {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case at := <-s.start:
		return at, nil
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	case <-t.C:
		return time.Time{}, fmt.Errorf("no /start within %s", wait)
	}
}

// setStop arms /stop with cancel, calling it at once when /stop came
// already.
func (s *shardServer) setStop(cancel context.CancelFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stop = cancel
	if s.stopped {
		cancel()
	}
}

func (s *shardServer) finish(res ShardResult) {
	s.mu.Lock()
	s.result = &res
	s.mu.Unlock()
}

// waitDone reports whether /done came before wait passed or ctx ended.
func (s *shardServer) waitDone(ctx context.Context, wait time.Duration) bool {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-s.done:
		return true
	case <-ctx.Done():
		return false
	case <-t.C:
		return false
	}
}
