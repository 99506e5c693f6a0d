package main

import (
	"context"
	"hash/fnv"
	"io"

	"github.com/spf13/cobra"

	"github.com/tracerig/tracerig/scenarios"
	"github.com/tracerig/tracerig/simulator"
)

// newRenderCmd returns the render command.
func newRenderCmd() *cobra.Command {
	var k kubeFlags
	var runID string
	cmd := &cobra.Command{
		Use:   "render kubernetes [flags] SCENARIO",
		Short: "Write the Kubernetes objects of a scenario as YAML",
		Long: `Write, on stdout, the objects a run of SCENARIO on Kubernetes creates, as one
YAML stream that 'kubectl apply -f' takes: the run's namespace (unless
--namespace names an existing one), the topology as a ConfigMap, per simulated
service a Service, one Service per instance and a StatefulSet whose pods run
'tracerig serve' for their ordinal, and the backend (embedded or Jaeger) as a
Deployment and a Service. The pods find each other through the environment
variables Kubernetes gives them for every Service: no cluster DNS is needed.

The load, the faults and the checks are the host's part of a run: 'tracerig
run --runtime kubernetes' creates the same objects and plays them.`,
		Example: `  tracerig render kubernetes --kube-image registry.example/tracerig:1.4 shop > shop.yaml
  kubectl apply -f shop.yaml`,
		Args:              args(2, 2, "kubernetes SCENARIO"),
		ValidArgsFunction: scenarioNames(2),
		RunE: action(func(_ context.Context, cmd *cobra.Command, args []string) error {
			if args[0] != "kubernetes" {
				return usageError("render: unknown target %q (want kubernetes)", args[0])
			}
			return renderCmd(args[1], &k, runID, cmd.OutOrStdout())
		}),
	}
	k.add(cmd.Flags())
	cmd.Flags().StringVar(&runID, "run-id", "", "the run ID the objects are labelled with, `HEX` (16 digits; default: derived from the scenario's name and seed, so the output is reproducible)")
	return cmd
}

// renderCmd writes the Kubernetes objects of the scenario at arg.
func renderCmd(arg string, k *kubeFlags, runID string, stdout io.Writer) error {
	sc, err := loadScenario(arg)
	if err != nil {
		return &exitError{code: exitUsage, err: configError(err)}
	}
	opts := scenarios.Options{}
	if opts.Kubernetes, err = k.options(); err != nil {
		return err
	}
	if opts.Kubernetes.Image == "" {
		return usageError("render kubernetes: --kube-image is required")
	}
	if runID == "" {
		h := fnv.New64a()
		h.Write([]byte(sc.Name))
		opts.RunID = simulator.RunID(h.Sum64() ^ sc.Seed)
	} else if opts.RunID, err = simulator.ParseRunID(runID); err != nil {
		return usageError("--run-id: %v", err)
	}
	objs, err := scenarios.KubernetesObjects(sc, opts)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	return objs.Render(stdout)
}
