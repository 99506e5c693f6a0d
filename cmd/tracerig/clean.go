package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/tracerig/tracerig/simulator/containers"
)

// cleanCmd removes every container and network labelled tracerig=1 (what
// runs with `runtime: containers` left behind), and the service images with
// --images.
func cleanCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("clean", flag.ContinueOnError)
	fs.SetOutput(stderr)
	images := fs.Bool("images", false, "also remove tracerig's service images")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: tracerig clean [--images]\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	n, err := containers.Clean(ctx, containers.CleanOptions{Images: *images})
	fmt.Fprintf(stdout, "removed %d containers, %d networks, %d images\n", n.Containers, n.Networks, n.Images)
	if err != nil {
		return &exitError{code: exitRuntime, err: err}
	}
	return nil
}
