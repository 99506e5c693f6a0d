package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tracerig/tracerig/topology"
)

// newValidateCmd returns the validate command.
func newValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE|NAME...",
		Short: "Report every problem in topology and scenario files",
		Long: `Check topology and scenario files and report every problem in one pass, one a
line on stdout as file:line:col: field.path: message. A NAME checks a scenario
of the library ('tracerig list').

Exits 0 when every file is valid, 2 when a problem was found.`,
		Example: `  tracerig validate scenario.yaml
  tracerig validate topologies/*.yaml scenarios/*.yaml
  tracerig validate quickstart`,
		Args:              args(1, -1, "file"),
		ValidArgsFunction: scenarioNames(-1),
		RunE: action(func(_ context.Context, cmd *cobra.Command, args []string) error {
			return validateCmd(args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		}),
	}
}

// validateCmd checks topology and scenario files and reports every problem
// in one pass, one per line as file:line:col: field.path: message.
func validateCmd(paths []string, stdout, stderr io.Writer) error {
	var problems int
	for _, path := range paths {
		if err := loadAny(path); err != nil {
			for _, line := range errorLines(err) {
				fmt.Fprintln(stdout, line)
				problems++
			}
			continue
		}
		fmt.Fprintf(stderr, "%s: ok\n", path)
	}
	if problems > 0 {
		return &exitError{code: exitUsage, err: fmt.Errorf("%d problem(s) found", problems)}
	}
	return nil
}

// loadAny loads path as a scenario when it names a topology or load, else as
// a topology; a library scenario's name loads that scenario.
func loadAny(path string) error {
	if isLibraryName(path) {
		_, err := openLibrary(path)
		return err
	}
	data, err := readInput(path)
	if err != nil {
		return err
	}
	if isScenario(data) {
		_, err = topology.LoadScenario(path)
	} else {
		_, err = topology.ParseTopology(path, data)
	}
	return err
}

// readInput reads a file named on the command line. Its error reads
// "FILE: cannot read: CAUSE", like the other problems validate reports.
func readInput(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		msg := err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			msg = pe.Err.Error()
		}
		return nil, &topology.Error{Pos: topology.Pos{File: path}, Msg: "cannot read: " + msg, Err: err}
	}
	return data, nil
}

// isScenario tells a scenario file from a topology file by its top-level
// keys: a scenario has topology: or load:, a topology has services:.
func isScenario(data []byte) bool {
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "topology:"), strings.HasPrefix(line, "load:"):
			return true
		case strings.HasPrefix(line, "services:"):
			return false
		}
	}
	return false
}

// errorLines returns one line per problem in err.
func errorLines(err error) []string {
	if errs := topology.ErrorList(err); len(errs) > 0 {
		lines := make([]string, len(errs))
		for i, e := range errs {
			lines[i] = e.Error()
		}
		return lines
	}
	var lines []string
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		for _, e := range joined.Unwrap() {
			lines = append(lines, e.Error())
		}
		return lines
	}
	return []string{err.Error()}
}

// configError renders every problem in err on its own line.
func configError(err error) error {
	lines := errorLines(err)
	if len(lines) == 1 {
		return errors.New(lines[0])
	}
	return fmt.Errorf("%d problems:\n%s", len(lines), strings.Join(lines, "\n"))
}
