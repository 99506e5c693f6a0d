// Command tracerig brings a YAML topology up as real, OpenTelemetry-
// instrumented services, drives load through it, and checks what reached the
// tracing backend against the ground truth of what was sent.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"go.opentelemetry.io/otel"

	"github.com/tracerig/tracerig/simulator/containers"
)

// Exit codes.
const (
	exitOK          = 0
	exitCheckFailed = 1
	exitUsage       = 2 // usage or config error
	exitRuntime     = 3 // the run itself failed: port taken, backend unreachable
	exitInterrupted = 130
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// parseFlags parses a command's flags, which may come before, between or
// after its arguments (`tracerig run quickstart --duration 1s`); "--" ends
// the flags. -h and --help print the command's usage and exit 0, as
// `tracerig -h` does; any other flag error exits 2 (the flag package has
// already printed it).
func parseFlags(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return &exitError{code: exitOK}
			}
			return &exitError{code: exitUsage}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			// Everything after "--" is an argument.
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	// Leave the arguments in fs.Args().
	fs.Parse(append([]string{"--"}, pos...))
	return nil
}

const usage = `tracerig: a distributed-tracing test harness and load simulator

usage:
  tracerig run [flags] SCENARIO.yaml|NAME run a scenario and check what reached the backend;
                                          --control HOST:PORT serves the live fault API
  tracerig list                           list the scenario library (NAME: built into tracerig)
  tracerig validate FILE|NAME...          report every problem in topology and scenario files
  tracerig graph [--format dot|mermaid] FILE|NAME
                                          print a topology (or a scenario's) as a graph
  tracerig fault add|list|clear --control HOST:PORT ...
                                          add, list and clear faults in a run going with --control
  tracerig backend [flags]                run the embedded OTLP backend alone
  tracerig blast [flags] SCENARIO|NAME    send synthetic traces shaped by the topology over OTLP
  tracerig bench [flags] [SCENARIO|NAME]  measure blast against a sink in another process
  tracerig conformance [--listen ADDR]    serve the W3C Trace Context test participant at /test
  tracerig serve --topology F --service S run one service instance with a control API (containers)
  tracerig relay [--listen A,B --tunnel C]
                                          carry connections from a container network to the host
  tracerig clean [--images]               remove every container and network tracerig left behind

Run 'tracerig COMMAND -h' for a command's flags.
Exit codes: 0 all checks passed, 1 a check failed, 2 usage or config error,
3 runtime failure, 130 interrupted.
`

type command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

var commands = map[string]command{
	"run":      runCmd,
	"validate": validateCmd,
	"graph":    graphCmd,
	"backend":  backendCmd,
	"fault":    faultCmd,
	"list":     listCmd,
	"blast":    blastCmd,
	"bench":    benchCmd,

	"conformance": conformanceCmd,
	"serve":       serveCmd,
	"relay":       relayCmd,
	"clean":       cleanCmd,
}

func main() {
	// The SDK reports failed exports through OpenTelemetry's global error
	// handler; tracerig counts every one of them in the ledger and the
	// report, so the log lines would only repeat it.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	// A container run needs testcontainers' Ryuk off, which testcontainers
	// reads from the process environment only.
	if os.Getenv(containers.RyukEnv) == "" {
		os.Setenv(containers.RyukEnv, "true")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// A second signal after the first ends the process at once.
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a command and turns its error into an exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "tracerig: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	err := cmd(ctx, args[1:], stdout, stderr)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "tracerig %s: %v\n", args[0], ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "tracerig %s: %v\n", args[0], err)
	return exitRuntime
}
