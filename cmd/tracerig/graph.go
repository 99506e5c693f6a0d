package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/tracerig/tracerig/topology"
)

// newGraphCmd returns the graph command.
func newGraphCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "graph [flags] FILE|NAME",
		Short: "Print a topology (or a scenario's) as a graph",
		Long: `Print a topology, or the topology of a scenario, as Graphviz DOT or Mermaid
on stdout. A NAME prints a scenario of the library ('tracerig list').`,
		Example: `  tracerig graph quickstart | dot -Tsvg > quickstart.svg
  tracerig graph --format mermaid topology.yaml`,
		Args:              args(1, 1, "file"),
		ValidArgsFunction: scenarioNames(1),
		RunE: action(func(_ context.Context, cmd *cobra.Command, args []string) error {
			return graphCmd(args[0], format, cmd.OutOrStdout())
		}),
	}
	cmd.Flags().StringVar(&format, "format", "dot", "output format: dot or mermaid")
	cmd.RegisterFlagCompletionFunc("format", fixedValues("dot", "mermaid"))
	return cmd
}

// graphCmd prints a topology as Graphviz DOT or Mermaid.
func graphCmd(path, format string, stdout io.Writer) error {
	if format != "dot" && format != "mermaid" {
		return usageError("--format must be dot or mermaid, got %q", format)
	}
	if isLibraryName(path) {
		sc, err := openLibrary(path)
		if err != nil {
			return &exitError{code: exitUsage, err: configError(err)}
		}
		return writeGraph(stdout, sc.Topology, format)
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
	return writeGraph(stdout, topo, format)
}

func writeGraph(w io.Writer, topo *topology.Topology, format string) error {
	if format == "mermaid" {
		return topo.WriteMermaid(w)
	}
	return topo.WriteDOT(w)
}
