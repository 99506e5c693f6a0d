package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tracerig/tracerig/scenarios"
	"github.com/tracerig/tracerig/topology"
)

// newListCmd returns the list command.
func newListCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the scenario library (NAME: built into tracerig)",
		Long: `List the scenario library built into tracerig, one scenario a line: its NAME,
which run, blast, bench, validate and graph take in place of a file, and
what it shows.`,
		Example: `  tracerig list
  tracerig list --output json
  tracerig run quickstart`,
		Args: args(0, 0, ""),
	}
	output := addOutputFlag(cmd, "the library")
	cmd.RunE = action(func(_ context.Context, cmd *cobra.Command, _ []string) error {
		if err := checkOutputFormat(*output); err != nil {
			return err
		}
		return listCmd(cmd.OutOrStdout(), *output)
	})
	return cmd
}

// listCmd prints the scenario library built into the binary, one scenario a
// line: its name (what `tracerig run NAME` takes) and its summary.
func listCmd(stdout io.Writer, output string) error {
	lib, err := scenarios.Library()
	if err != nil {
		return fmt.Errorf("read the scenario library: %w", err)
	}
	if output == outputJSON {
		type entry struct {
			Name    string `json:"name"`
			Summary string `json:"summary"`
		}
		out := make([]entry, len(lib))
		for i, e := range lib {
			out[i] = entry{e.Name, e.Summary}
		}
		return writeJSON(stdout, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, e := range lib {
		fmt.Fprintf(tw, "%s\t%s\n", e.Name, e.Summary)
	}
	return tw.Flush()
}

// isLibraryName reports whether arg names a library scenario rather than a
// file: it is not an existing file, has no path separator and no .yaml or
// .yml suffix.
func isLibraryName(arg string) bool {
	if arg == "" || strings.ContainsAny(arg, `/\`) || strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") {
		return false
	}
	_, err := os.Stat(arg)
	return errors.Is(err, fs.ErrNotExist)
}

// openLibrary opens the library scenario called name. An unknown name is an
// error that lists the library.
func openLibrary(name string) (*topology.Scenario, error) {
	sc, err := scenarios.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, unknownScenario(name)
	}
	return sc, err
}

func unknownScenario(name string) error {
	var names []string
	if lib, err := scenarios.Library(); err == nil {
		for _, e := range lib {
			names = append(names, e.Name)
		}
	}
	return &topology.Error{
		Pos: topology.Pos{File: name},
		Msg: fmt.Sprintf("no such file, and no library scenario of that name (the library: %s; see 'tracerig list')", strings.Join(names, ", ")),
		Err: fs.ErrNotExist,
	}
}

// loadScenario loads a scenario named on the command line: a file, or a
// library scenario's name.
func loadScenario(arg string) (*topology.Scenario, error) {
	if isLibraryName(arg) {
		return openLibrary(arg)
	}
	return topology.LoadScenario(arg)
}
