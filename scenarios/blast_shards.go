package scenarios

// This file runs a sharded blast on Kubernetes from the host: N generator
// pods of one Indexed Job that start together behind a barrier, each
// sending its slice of the seed's sequence space at its share of the rate,
// and one report whose totals are the shards' sums.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/internal/buildinfo"
	"github.com/tracerig/tracerig/internal/otlpconf"
	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/simulator/kube"
	"github.com/tracerig/tracerig/simulator/synthetic"
	"github.com/tracerig/tracerig/topology"
)

// CheckShards is the verdict that every shard of a sharded blast gave its
// figures.
const CheckShards = "shards"

// ShardsOptions configure BlastShards.
type ShardsOptions struct {
	// Blast is the run as one process would make it: Command, Scenario,
	// CommandLine, Seed, RunID, and Run, whose Rate is the whole run's and
	// whose other settings each shard takes (Workers and Conns per
	// shard). An empty Run.Endpoint sends to the embedded backend, run in
	// the cluster and read back; else the pods send to Run.Endpoint, with
	// Run.Headers given to them through a Secret, and nothing is read
	// back. Run.TLS is not passed on: an https endpoint is checked against
	// the image's CA certificates. Sink and Profile are not used.
	Blast BlastOptions
	// Shards is the number of generator pods.
	Shards int
	// Kubernetes is the cluster, namespace, image and pull policy.
	Kubernetes KubernetesOptions
	// ReadyTimeout bounds the wait for the pods to be ready (default 3
	// minutes).
	ReadyTimeout time.Duration
	// Log, when set, receives a line per step.
	Log io.Writer
}

// BlastShards runs a sharded blast of sc on Kubernetes: the embedded
// backend as a Deployment (unless Run.Endpoint names one), an Indexed Job
// of Shards pods running `tracerig blast-shard`; once every pod is ready,
// port-forwards to each, a start time two seconds ahead sent to all (the
// barrier), every shard's figures gathered after the run, the backend
// read back, and one report judged on the whole. Everything of the run is
// deleted at the end, also after a failed start or a cancelled ctx (which
// stops the shards early and still reports what they did).
func BlastShards(ctx context.Context, sc *topology.Scenario, o ShardsOptions) (_ *report.Blast, err error) {
	run := o.Blast.Run
	if o.Shards < 1 {
		return nil, fmt.Errorf("sharded blast: %d shards, want at least 1", o.Shards)
	}
	if o.Kubernetes.Image == "" {
		return nil, errors.New("sharded blast: no image for the pods (--kube-image: tracerig's image, in a registry the cluster pulls from or loaded into its nodes)")
	}
	if o.Blast.RunID == 0 {
		if o.Blast.RunID, err = simulator.NewRunID(); err != nil {
			return nil, &RuntimeError{err}
		}
	}
	spec, err := NewShardSpec(sc, o.Blast.Seed, uint64(o.Blast.RunID), run.Endpoint != "", o.Shards)
	if err != nil {
		return nil, err
	}
	g, err := spec.Generator()
	if err != nil {
		return nil, err
	}
	plan, err := shardPlan(spec, o)
	if err != nil {
		return nil, err
	}
	h, err := startShards(ctx, plan, o)
	if err != nil {
		return nil, &RuntimeError{err}
	}
	defer h.close(ctx)
	t0, outs := h.blast(ctx, run.Duration)
	var held *assert.SinkHeld
	var sinkCPU time.Duration
	if run.Endpoint == "" {
		readCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		sinkCPU = h.backendCPU(readCtx, lastEnd(t0, outs))
		hd := h.readBack(readCtx, g, o.Shards, outs)
		cancel()
		held = &hd
	}
	rep := shardsReport(o, plan, g, t0, outs, held)
	rep.Totals.SinkCPU = sinkCPU
	return rep, nil
}

// lastEnd is when the last shard that answered ended its run; t0 when
// none did.
func lastEnd(t0 time.Time, outs []shardOutcome) time.Time {
	end := t0
	for _, o := range outs {
		if r := o.Result; r != nil && r.Started.Add(r.Stats.Elapsed).After(end) {
			end = r.Started.Add(r.Stats.Elapsed)
		}
	}
	return end
}

// shardPlan returns the objects' plan of a sharded blast.
func shardPlan(spec ShardSpec, o ShardsOptions) (kube.ShardPlan, error) {
	run, ko := o.Blast.Run, o.Kubernetes
	js, err := json.Marshal(spec)
	if err != nil {
		return kube.ShardPlan{}, fmt.Errorf("sharded blast: encode spec: %w", err)
	}
	host, _ := os.Hostname()
	id := o.Blast.RunID.String()
	p := kube.ShardPlan{
		Plan: kube.Plan{RunID: id, Namespace: ko.Namespace, CreateNamespace: ko.Namespace == "", Image: ko.Image,
			PullPolicy: corev1.PullPolicy(ko.PullPolicy), Backend: kube.BackendEmbedded,
			Annotations: map[string]string{kube.HostAnnotation: host, kube.PIDAnnotation: strconv.Itoa(os.Getpid())}},
		Shards: o.Shards, Spec: js, Args: shardArgs(run), HTTP: run.Protocol == synthetic.ProtocolHTTP,
		Deadline: run.Duration + 20*time.Minute,
	}
	if p.CreateNamespace {
		p.Namespace = "tracerig-" + id
	}
	if run.Endpoint != "" {
		p.Backend, p.Endpoint = kube.BackendEndpoint, run.Endpoint
	}
	if len(run.Headers) > 0 {
		p.SecretEnv = map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": otlpconf.FormatHeaders(run.Headers)}
	}
	if run.Gzip {
		p.ExportEnv = []corev1.EnvVar{{Name: "OTEL_EXPORTER_OTLP_COMPRESSION", Value: "gzip"}}
	}
	return p, nil
}

// shardArgs are blast-shard's flags for run (the endpoint aside).
func shardArgs(run synthetic.RunOptions) []string {
	p := run.Protocol
	if p == "" {
		p = synthetic.ProtocolGRPC
	}
	return []string{"--protocol=" + string(p), "--duration=" + run.Duration.String(),
		"--rate=" + strconv.FormatFloat(run.Rate, 'f', -1, 64),
		"--workers=" + strconv.Itoa(run.Workers), "--conns=" + strconv.Itoa(run.Conns),
		"--batch=" + strconv.Itoa(run.Batch), "--retries=" + strconv.Itoa(run.Retries), "--quiet"}
}

// shardsReport merges the shards' figures into the run's report, judged
// as a one-process blast is, and on whether every shard answered.
func shardsReport(o ShardsOptions, plan kube.ShardPlan, g *synthetic.Generator, t0 time.Time, outs []shardOutcome, held *assert.SinkHeld) *report.Blast {
	m, shards, cores := mergeShards(t0, outs)
	run := o.Blast.Run
	outcome := BlastOutcome(m)
	outcome.Cores = cores
	vs := assert.Blast(outcome, run.Rate, held)
	sv := shardsVerdict(shards, held, m.Stats.Delivered)
	if sv.Status != assert.StatusPass {
		// What the dead shards sent is not delivered, as far as the run
		// knows: delivery cannot pass on the living shards alone.
		for i, v := range vs {
			if v.Check == assert.CheckDelivery && v.Status == assert.StatusPass {
				vs[i].Status = assert.StatusFail
				vs[i].Observed = fmt.Sprintf("delivered every span of the %d living shards; what the %d dead ones sent is not delivered",
					len(shards)-int(sv.Stats["dead"]), int(sv.Stats["dead"]))
			}
		}
	}
	vs = append(vs, sv)
	sink := fmt.Sprintf("the embedded backend in namespace %s, from %d shards on Kubernetes", plan.Namespace, o.Shards)
	if run.Endpoint != "" {
		sink = fmt.Sprintf("%s, from %d shards on Kubernetes (namespace %s)", SinkName(run.Protocol, run.Endpoint), o.Shards, plan.Namespace)
	}
	rep := report.NewBlast(report.BlastRun{
		Command: o.Blast.Command, Scenario: o.Blast.Scenario, Sink: sink, Options: run, Seed: g.Seed(),
		RunID: o.Blast.RunID.String(), Measurement: m, TracerigVersion: buildinfo.Version(),
		CommandLine: o.Blast.CommandLine, Verdicts: vs,
	})
	rep.Shards = shards
	return rep
}

// shardsVerdict passes when every shard gave its figures; else it names
// each dead shard and why, and what the backend holds beyond what the
// living shards delivered: the dead shards' spans, counted as not
// delivered.
func shardsVerdict(shards []report.BlastShard, held *assert.SinkHeld, delivered int64) assert.Verdict {
	v := assert.Verdict{Check: CheckShards, Status: assert.StatusPass, Measured: "shards that gave their figures",
		Expected: "every shard", Observed: fmt.Sprintf("all %d shards gave their figures", len(shards)),
		Stats: map[string]float64{"shards": float64(len(shards))}}
	var dead []string
	for _, s := range shards {
		if s.Error != "" {
			dead = append(dead, fmt.Sprintf("shard %d (pod %s): %s", s.Index, s.Name, s.Error))
		}
	}
	if len(dead) == 0 {
		return v
	}
	v.Status, v.Stats["dead"] = assert.StatusFail, float64(len(dead))
	v.Observed = fmt.Sprintf("%d of %d shards died: %s; their spans are counted as not delivered", len(dead), len(shards), strings.Join(dead, "; "))
	if held != nil && held.Err == nil {
		v.Observed += fmt.Sprintf(" (the backend holds %d spans beyond the living shards' %d)", held.Spans-delivered, delivered)
	}
	return v
}
