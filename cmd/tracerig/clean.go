package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/tracerig/tracerig/simulator/containers"
)

// newCleanCmd returns the clean command.
func newCleanCmd() *cobra.Command {
	var images bool
	cmd := &cobra.Command{
		Use:   "clean [flags]",
		Short: "Remove every container and network tracerig left behind",
		Long: `Remove every container and network labelled tracerig=1, what runs with
'runtime: containers' left behind (after a crash, say), and with --images
tracerig's service images too.`,
		Example: `  tracerig clean
  tracerig clean --images`,
		Args: args(0, 0, ""),
		RunE: action(func(ctx context.Context, cmd *cobra.Command, _ []string) error {
			return cleanCmd(ctx, images, cmd.OutOrStdout())
		}),
	}
	cmd.Flags().BoolVar(&images, "images", false, "also remove tracerig's service images")
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
