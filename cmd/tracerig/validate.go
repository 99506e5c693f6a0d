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
	cmd := &cobra.Command{
		Use:   "validate FILE|NAME|-...",
		Short: "Report every problem in topology and scenario files",
		Long: `Check topology and scenario files and report every problem in one pass, one a
line on stdout as file:line:col: field.path: message. A NAME checks a scenario
of the library ('tracerig list'); - reads a file from standard input (a
scenario's topology file is then found from the current folder).

With --output json, stdout is one JSON array with an entry per file: its name,
whether it is valid, and its problems, each with file, line, column, path and
message.

Exits 0 when every file is valid, 2 when a problem was found.`,
		Example: `  tracerig validate scenario.yaml
  tracerig validate topologies/*.yaml scenarios/*.yaml
  tracerig validate quickstart
  cat scenario.yaml | tracerig validate -
  tracerig validate --output json scenario.yaml | jq '.[].problems[]'`,
		Args:              args(1, -1, "file"),
		ValidArgsFunction: scenarioNames(-1),
	}
	output := addOutputFlag(cmd, "the problems")
	cmd.RunE = action(func(_ context.Context, cmd *cobra.Command, args []string) error {
		if err := checkOutputFormat(*output); err != nil {
			return err
		}
		return validateCmd(args, *output, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
	})
	return cmd
}

// validated is what validate found in one file, as --output json gives it.
type validated struct {
	File     string `json:"file"`
	Valid    bool   `json:"valid"`
	Problems []any  `json:"problems"`
}

// validateCmd checks topology and scenario files (stdin for "-") and
// reports every problem in one pass: one per line as
// file:line:col: field.path: message, or as JSON.
func validateCmd(paths []string, output string, stdin io.Reader, stdout, stderr io.Writer) error {
	var problems int
	results := make([]validated, 0, len(paths))
	for _, path := range paths {
		err := loadAny(path, stdin)
		res := validated{File: path, Valid: err == nil, Problems: problemsOf(err)}
		if path == "-" {
			res.File = stdinName
		}
		results = append(results, res)
		problems += len(res.Problems)
		if output == outputJSON {
			continue
		}
		if err == nil {
			fmt.Fprintf(stderr, "%s: ok\n", res.File)
			continue
		}
		for _, line := range errorLines(err) {
			fmt.Fprintln(stdout, line)
		}
	}
	if output == outputJSON {
		if err := writeJSON(stdout, results); err != nil {
			return err
		}
	}
	if problems > 0 {
		return &exitError{code: exitUsage, err: fmt.Errorf("%d problem(s) found", problems)}
	}
	return nil
}

// problemsOf returns the problems in err for JSON: each *topology.Error as
// itself, anything else as its message; an empty list for nil.
func problemsOf(err error) []any {
	out := []any{}
	if err == nil {
		return out
	}
	if errs := topology.ErrorList(err); len(errs) > 0 {
		for _, e := range errs {
			out = append(out, e)
		}
		return out
	}
	for _, line := range errorLines(err) {
		out = append(out, map[string]string{"message": line})
	}
	return out
}

// stdinName is the file name of standard input in validate's problems.
const stdinName = "<stdin>"

// loadAny loads path as a scenario when it names a topology or load, else as
// a topology; a library scenario's name loads that scenario.
func loadAny(path string, stdin io.Reader) error {
	if path == "-" {
		data, err := io.ReadAll(stdin)
		if err != nil {
			return &topology.Error{Pos: topology.Pos{File: stdinName}, Msg: "cannot read: " + err.Error(), Err: err}
		}
		if isScenario(data) {
			_, err = topology.ParseScenario(stdinName, data, os.ReadFile)
		} else {
			_, err = topology.ParseTopology(stdinName, data)
		}
		return err
	}
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
