package main

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/tracerig/tracerig/scenarios"
	"github.com/tracerig/tracerig/simulator"
)

// blastKubeFlags are blast's flags of a sharded run on Kubernetes.
type blastKubeFlags struct {
	on     *bool
	shards *int
	kube   kubeFlags
}

// addBlastKubeFlags defines them on fs.
func addBlastKubeFlags(fs *pflag.FlagSet) *blastKubeFlags {
	k := &blastKubeFlags{
		on: fs.Bool("kubernetes", false, "send from generator pods on Kubernetes (an Indexed Job of --shards pods, started together) "+
			"to the embedded backend run in the cluster, or to --otlp-endpoint, which the pods must reach; one blast.json for all"),
		shards: fs.Int("shards", 1, "generator pods of --kubernetes, each sending its share of --rate and its own slice of the traces "+
			"(--workers and --conns are per pod)"),
	}
	k.kube.add(fs)
	fs.MarkHidden("kube-jaeger-image") // blast sends to no Jaeger of its own
	return k
}

// check refuses --shards and the kube flags without --kubernetes, and
// what a sharded run cannot do.
func (k *blastKubeFlags) check(fs *pflag.FlagSet, f *blastFlags) error {
	if !*k.on {
		for _, name := range []string{"shards", "kubeconfig", "namespace", "kube-image", "kube-pull-policy", "kube-jaeger-image"} {
			if fs.Changed(name) {
				return usageError("--%s is for blast --kubernetes", name)
			}
		}
		return nil
	}
	switch {
	case *k.shards < 1:
		return usageError("--shards must be at least 1")
	case *k.kube.image == "":
		return usageError("--kubernetes needs --kube-image: tracerig's image, in a registry the cluster pulls from or loaded into its nodes")
	case *k.kube.jaegerImage != "":
		return usageError("--kube-jaeger-image is not used by blast: the shards send to the embedded backend or --otlp-endpoint")
	case *f.cpuprofile != "":
		return usageError("--cpuprofile profiles this process, and with --kubernetes the shards send from their pods")
	case fs.Changed("metrics"), fs.Changed("metrics-otlp-endpoint"):
		return usageError("--metrics and --metrics-otlp-endpoint serve this process's generator, and with --kubernetes the shards send from their pods")
	}
	return nil
}

// blastKubeCmd runs a sharded blast on Kubernetes.
func blastKubeCmd(ctx context.Context, f *blastFlags, k *blastKubeFlags, scenario string, stdout, stderr io.Writer) error {
	x, err := f.resolveExport(os.Getenv)
	if err != nil {
		return err
	}
	if err := f.check(x); err != nil {
		return err
	}
	ko, err := k.kube.options()
	if err != nil {
		return err
	}
	sc, err := loadScenario(scenario)
	if err != nil {
		return &exitError{code: exitUsage, err: configError(err)}
	}
	var runID simulator.RunID
	if *f.runID != "" {
		if runID, err = simulator.ParseRunID(*f.runID); err != nil {
			return usageError("--run-id: %v", err)
		}
	}
	run := f.options(x)
	run.OnSample = nil
	opts := scenarios.ShardsOptions{
		Blast: scenarios.BlastOptions{Command: "blast", Scenario: scenario, Seed: *f.seed, RunID: runID, Run: run,
			CommandLine: commandLine(ctx)},
		Shards: *k.shards, Kubernetes: ko,
	}
	if f.progress != nil {
		opts.Log = stderr
	}
	rep, err := scenarios.BlastShards(ctx, sc, opts)
	if err != nil {
		var rerr *scenarios.RuntimeError
		if errors.As(err, &rerr) {
			return &exitError{code: exitRuntime, err: rerr.Err}
		}
		return &exitError{code: exitUsage, err: err}
	}
	if err := f.writeSummary(stdout, rep); err != nil {
		return err
	}
	return finishBlast(ctx, f, rep)
}
