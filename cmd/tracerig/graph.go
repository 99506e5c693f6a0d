package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/tracerig/tracerig/topology"
)

// graphCmd prints a topology as Graphviz DOT or Mermaid.
func graphCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("graph", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "dot", "output format: dot or mermaid")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: tracerig graph [--format dot|mermaid] FILE\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageError("want exactly one file, got %d", fs.NArg())
	}
	if *format != "dot" && *format != "mermaid" {
		return usageError("--format must be dot or mermaid, got %q", *format)
	}
	path := fs.Arg(0)
	data, err := readInput(path)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	var topo *topology.Topology
	if isScenario(data) {
		sc, err := topology.LoadScenario(path)
		if err != nil {
			return &exitError{code: exitUsage, err: configError(err)}
		}
		topo = sc.Topology
	} else if topo, err = topology.ParseTopology(path, data); err != nil {
		return &exitError{code: exitUsage, err: configError(err)}
	}
	if *format == "mermaid" {
		return topo.WriteMermaid(stdout)
	}
	return topo.WriteDOT(stdout)
}
