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
		fmt.Fprintf(stderr, "usage: tracerig graph [--format dot|mermaid] FILE|NAME\n\nNAME: a scenario of the library (tracerig list)\n\nflags:\n")
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
	if isLibraryName(path) {
		sc, err := openLibrary(path)
		if err != nil {
			return &exitError{code: exitUsage, err: configError(err)}
		}
		return writeGraph(stdout, sc.Topology, *format)
	}
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
	return writeGraph(stdout, topo, *format)
}

func writeGraph(w io.Writer, topo *topology.Topology, format string) error {
	if format == "mermaid" {
		return topo.WriteMermaid(w)
	}
	return topo.WriteDOT(w)
}
