package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tracerig/tracerig/internal/buildinfo"
	"github.com/tracerig/tracerig/scenarios"
	"github.com/tracerig/tracerig/topology/schema"
)

// newVersionCmd returns the version command; `tracerig --version` prints
// the same line.
func newVersionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print tracerig's version and VCS revision",
		Long: `Print the module version tracerig was built as and the VCS revision it was
built from, as the Go build info records them: vX.Y.Z for a tagged 'go install',
devel+REVISION (-dirty when the tree had changes) for a build from a clone,
devel for 'go run'. report.json, blast.json and junit.xml record the same version.`,
		Example: `  tracerig version
  tracerig --version
  tracerig version --output json`,
		Args: args(0, 0, ""),
	}
	output := addOutputFlag(cmd, "the version")
	cmd.RunE = action(func(_ context.Context, cmd *cobra.Command, _ []string) error {
		if err := checkOutputFormat(*output); err != nil {
			return err
		}
		in := buildinfo.Read()
		if *output == outputJSON {
			return writeJSON(cmd.OutOrStdout(), map[string]string{
				"version": in.Version, "revision": in.Revision, "go": in.GoVersion,
			})
		}
		_, err := fmt.Fprintln(cmd.OutOrStdout(), in.String())
		return err
	})
	return cmd
}

// newSchemaCmd returns the schema command.
func newSchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema [scenario|topology]",
		Short: "Print the JSON Schema of scenario or topology files",
		Long: `Print the JSON Schema (draft 2020-12) of scenario files (the default) or of
topology files, for editors and linters. The same files are in the repository's
schema/ folder; a YAML file names its schema on its first line:

  # yaml-language-server: $schema=` + schema.BaseURL + `scenario.schema.json`,
		Example: `  tracerig schema > scenario.schema.json
  tracerig schema topology`,
		Args:      args(0, 1, "kind"),
		ValidArgs: []string{"scenario", "topology"},
		RunE: action(func(_ context.Context, cmd *cobra.Command, args []string) error {
			kind := "scenario"
			if len(args) == 1 {
				kind = args[0]
			}
			var doc []byte
			switch kind {
			case "scenario":
				doc = schema.Scenario()
			case "topology":
				doc = schema.Topology()
			default:
				return usageError("want scenario or topology, not %q", kind)
			}
			_, err := cmd.OutOrStdout().Write(doc)
			return err
		}),
	}
}

// newInitCmd returns the init command.
func newInitCmd() *cobra.Command {
	var force *bool
	cmd := &cobra.Command{
		Use:   "init [NAME] [DIR]",
		Short: "Write a library scenario and its topology as files to edit",
		Long: `Write the library scenario NAME (default quickstart; 'tracerig list' shows
them) and the topology files it names into DIR (default: the current folder),
as files to edit and run with 'tracerig run DIR/NAME.yaml'. Each file names its
JSON Schema on its first line, for editors. An existing file is not overwritten
without --force.`,
		Example: `  tracerig init
  tracerig init shop my-scenarios
  tracerig run my-scenarios/shop.yaml`,
		Args:              args(0, 2, "arguments"),
		ValidArgsFunction: scenarioNames(1),
		RunE: action(func(_ context.Context, cmd *cobra.Command, args []string) error {
			name, dir := "quickstart", "."
			if len(args) > 0 {
				name = args[0]
			}
			if len(args) > 1 {
				dir = args[1]
			}
			return initCmd(name, dir, *force, cmd.OutOrStdout())
		}),
	}
	force = cmd.Flags().Bool("force", false, "overwrite files that exist")
	return cmd
}

// initCmd writes the library scenario name and its topology files into
// dir and lists the files written.
func initCmd(name, dir string, force bool, stdout io.Writer) error {
	files, err := scenarios.Files(name)
	if err != nil {
		return usageError("%v", err)
	}
	paths, err := scenarios.WriteFiles(dir, files, force)
	if err != nil {
		if strings.Contains(err.Error(), "--force") {
			return usageError("%v", err)
		}
		return err
	}
	for _, p := range paths {
		fmt.Fprintln(stdout, p)
	}
	return nil
}

// newShowCmd returns the show command.
func newShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Print a library scenario and the topology files it names",
		Long: `Print the library scenario NAME ('tracerig list' shows them) as YAML, followed
by each topology file it names, each after a comment line with its path.
'tracerig init NAME' writes the same files to edit.`,
		Example: `  tracerig show quickstart
  tracerig show shop | less`,
		Args:              args(1, 1, "scenario name"),
		ValidArgsFunction: scenarioNames(1),
		RunE: action(func(_ context.Context, cmd *cobra.Command, args []string) error {
			files, err := scenarios.Files(args[0])
			if err != nil {
				return usageError("%v", err)
			}
			w := cmd.OutOrStdout()
			for i, f := range files {
				if len(files) > 1 {
					if i > 0 {
						fmt.Fprintln(w)
					}
					fmt.Fprintf(w, "# --- %s\n", f.Path)
				}
				if _, err := w.Write(f.Data); err != nil {
					return err
				}
			}
			return nil
		}),
	}
}
