package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tracerig/tracerig/internal/buildinfo"
	"github.com/tracerig/tracerig/internal/logging"
	"github.com/tracerig/tracerig/internal/similar"
	"github.com/tracerig/tracerig/scenarios"
)

const rootLong = `tracerig: a distributed-tracing test harness and load simulator.

It brings a YAML topology up as real, OpenTelemetry-instrumented services,
drives load through it, injects faults on a timeline, and checks what reached
the tracing backend against the ground truth of what was sent.

A SCENARIO is a scenario file, or the NAME of a scenario of the library built
into tracerig ('tracerig list').

Exit codes: 0 all checks passed, 1 a check failed, 2 usage or config error,
3 runtime failure, 130 interrupted.`

const rootExample = `  tracerig list
  tracerig run quickstart
  tracerig run --duration 30s --rate 200/s scenario.yaml
  tracerig validate topology.yaml scenario.yaml
  tracerig help run`

// newRootCmd returns the tracerig command with every subcommand.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:     "tracerig",
		Short:   "A distributed-tracing test harness and load simulator",
		Long:    rootLong,
		Example: rootExample,
		Args:    unknownCommand,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// A command is needed: the usage goes where errors go.
			fmt.Fprint(cmd.ErrOrStderr(), cmd.UsageString())
			return &exitError{code: exitUsage}
		},
		SilenceUsage:               true,
		SilenceErrors:              true,
		SuggestionsMinimumDistance: 2,
	}
	root.Version = buildinfo.String()
	root.SetVersionTemplate("{{.Version}}\n")
	root.Flags().BoolP("version", "v", false, "print tracerig's version and VCS revision")
	level := root.PersistentFlags().String("log-level", "info", "what tracerig logs to stderr: `LEVEL` debug, info, warn or error; the OpenTelemetry SDK's and gRPC's errors are logged at warn")
	root.RegisterFlagCompletionFunc("log-level", fixedValues(logging.Levels...))
	root.SetFlagErrorFunc(flagError)
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		noteDeprecated(cmd)
		l, err := logging.ParseLevel(*level)
		if err != nil {
			return usageError("--log-level: %v", err)
		}
		logLevel.Set(l)
		return nil
	}
	root.AddCommand(commands()...)
	return root
}

// logLevel is the level of the log main installs (see logging.Install):
// --log-level sets it.
var logLevel slog.LevelVar

// commands returns tracerig's subcommands; help lists them sorted.
func commands() []*cobra.Command {
	return []*cobra.Command{
		newRunCmd(),
		newListCmd(),
		newValidateCmd(),
		newGraphCmd(),
		newInferCmd(),
		newFaultCmd(),
		newBackendCmd(),
		newBlastCmd(),
		newBlastShardCmd(),
		newBenchCmd(),
		newConformanceCmd(),
		newCleanCmd(),
		newRenderCmd(),
		newInitCmd(),
		newShowCmd(),
		newSchemaCmd(),
		newVersionCmd(),
		newServeCmd(),
		newRelayCmd(),
		newBrokerCmd(),
	}
}

// deprecatedKey annotates a flag kept under a former name with what to
// use instead.
const deprecatedKey = "tracerig/deprecated"

// deprecate marks the flag name of fs as deprecated: hidden from help, and
// noted on stderr when used, with instead. It stands for pflag's
// MarkDeprecated, whose note cobra would print on stdout.
func deprecate(fs *pflag.FlagSet, name, instead string) {
	fs.MarkHidden(name)
	fs.SetAnnotation(name, deprecatedKey, []string{instead})
}

// noteDeprecated notes on stderr each deprecated flag cmd was given.
func noteDeprecated(cmd *cobra.Command) {
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if instead := f.Annotations[deprecatedKey]; len(instead) > 0 {
			fmt.Fprintf(cmd.ErrOrStderr(), "Flag --%s has been deprecated, %s\n", f.Name, instead[0])
		}
	})
}

// action adapts a command's body to cobra: an error that carries no exit
// code is a runtime failure (exit 3).
func action(body func(ctx context.Context, cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := body(cmd.Context(), cmd, args)
		var ee *exitError
		if err == nil || errors.As(err, &ee) {
			return err
		}
		return &exitError{code: exitRuntime, err: err}
	}
}

// unknownCommand refuses an argument of a command that takes only
// subcommands, suggesting the nearest ones.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return commandLineError("unknown command %q%s", args[0], didYouMean(cmd.SuggestionsFor(args[0]), ""))
}

// flagError is the error for a command line pflag refused; an unknown flag
// gets the nearest of the command's flags as suggestions.
func flagError(cmd *cobra.Command, err error) error {
	var ne *pflag.NotExistError
	if errors.As(err, &ne) && ne.GetSpecifiedName() != "" {
		return commandLineError("%v%s", err, didYouMean(similarFlags(cmd.Flags(), ne.GetSpecifiedName()), "--"))
	}
	return commandLineError("%v", err)
}

// didYouMean renders suggestions, each with prefix, as "; did you mean X
// or Y?", or "" for none.
func didYouMean(suggestions []string, prefix string) string {
	if len(suggestions) == 0 {
		return ""
	}
	for i, s := range suggestions {
		suggestions[i] = prefix + s
	}
	return "; did you mean " + strings.Join(suggestions, " or ") + "?"
}

// similarFlags returns the visible flags of fs whose names are within two
// edits of name, or start with it.
func similarFlags(fs *pflag.FlagSet, name string) []string {
	var out []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Deprecated != "" || len(f.Annotations[deprecatedKey]) > 0 {
			return
		}
		if similar.Distance(f.Name, name) <= 2 || strings.HasPrefix(f.Name, name) {
			out = append(out, f.Name)
		}
	})
	return out
}

// args returns a cobra argument check that wants between lo and hi
// arguments (hi < 0: no limit), naming them what in its error.
func args(lo, hi int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		n := len(args)
		switch {
		case n >= lo && (hi < 0 || n <= hi):
			return nil
		case lo == hi && lo == 0:
			return commandLineError("unexpected arguments: %s", strings.Join(args, " "))
		case lo == hi && lo == 1:
			return commandLineError("want exactly one %s, got %d", what, n)
		case lo == hi:
			return commandLineError("want %d %s, got %d", lo, what, n)
		case n < lo:
			return commandLineError("want at least %d %s, got %d", lo, what, n)
		}
		return commandLineError("want at most %d %s, got %d", hi, what, n)
	}
}

// scenarioNames completes a SCENARIO argument: the library's names, and
// files.
func scenarioNames(most int) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if most >= 0 && len(args) >= most {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		lib, err := scenarios.Library()
		if err != nil {
			return nil, cobra.ShellCompDirectiveDefault
		}
		names := make([]cobra.Completion, len(lib))
		for i, e := range lib {
			names[i] = cobra.CompletionWithDesc(e.Name, e.Summary)
		}
		return names, cobra.ShellCompDirectiveDefault
	}
}

// fixedValues completes a flag's value from a fixed list.
func fixedValues(values ...string) cobra.CompletionFunc {
	return cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
}

// addGoFlags defines on cmd, as GNU --flags, the flags define puts on a
// standard library flag set: those that package control defines for the
// commands the container runtime writes.
func addGoFlags(cmd *cobra.Command, define func(*flag.FlagSet)) {
	gfs := flag.NewFlagSet(cmd.Name(), flag.ContinueOnError)
	define(gfs)
	cmd.Flags().AddGoFlagSet(gfs)
}
