package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/tracerig/tracerig/simulator/containers"
	"github.com/tracerig/tracerig/simulator/kube"
)

// newCleanCmd returns the clean command.
func newCleanCmd() *cobra.Command {
	var images, kubernetes bool
	var kubeconfig string
	cmd := &cobra.Command{
		Use:   "clean [flags]",
		Short: "Remove every container, network or Kubernetes run tracerig left behind",
		Long: `Remove every container and network labelled tracerig=1, what runs with
'runtime: containers' left behind (after a crash, say), and with --images
tracerig's service images too.

With --kubernetes, remove instead every run tracerig left in the cluster
(runtime kubernetes, blast --kubernetes): the namespaces it made for runs and
the objects of runs in namespaces they were given, found by the label
app.kubernetes.io/managed-by=tracerig. A run also sweeps, as it starts, the
runs of its own host whose process is gone.`,
		Example: `  tracerig clean
  tracerig clean --images
  tracerig clean --kubernetes --kubeconfig ~/.kube/config`,
		Args: args(0, 0, ""),
		RunE: action(func(ctx context.Context, cmd *cobra.Command, _ []string) error {
			if kubernetes {
				return cleanKubernetes(ctx, kubeconfig, cmd.OutOrStdout())
			}
			return cleanCmd(ctx, images, cmd.OutOrStdout())
		}),
	}
	cmd.Flags().BoolVar(&images, "images", false, "also remove tracerig's service images")
	cmd.Flags().BoolVar(&kubernetes, "kubernetes", false, "remove the runs tracerig left in the Kubernetes cluster instead")
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig `FILE` of --kubernetes (default: $KUBECONFIG, ~/.kube/config, or in-cluster)")
	return cmd
}

// cleanCmd removes every container and network labelled tracerig=1 (what
// runs with `runtime: containers` left behind), and the service images with
// images.
func cleanCmd(ctx context.Context, images bool, stdout io.Writer) error {
	n, err := containers.Clean(ctx, containers.CleanOptions{Images: images})
	fmt.Fprintf(stdout, "removed %d containers, %d networks, %d images\n", n.Containers, n.Networks, n.Images)
	if err != nil {
		return &exitError{code: exitRuntime, err: err}
	}
	return nil
}

// cleanKubernetes removes the runs tracerig left in the cluster.
func cleanKubernetes(ctx context.Context, kubeconfig string, stdout io.Writer) error {
	cs, _, err := kube.Client(kubeconfig)
	if err != nil {
		return &exitError{code: exitRuntime, err: err}
	}
	ids, err := kube.Clean(ctx, cs, kube.CleanOptions{})
	fmt.Fprintf(stdout, "removed %d kubernetes runs\n", len(ids))
	if err != nil {
		return &exitError{code: exitRuntime, err: err}
	}
	return nil
}
