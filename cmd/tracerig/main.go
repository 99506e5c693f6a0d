// Command tracerig brings a YAML topology up as real, OpenTelemetry-
// instrumented services, drives load through it, and checks what reached the
// tracing backend against the ground truth of what was sent.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/tracerig/tracerig/internal/logging"
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
	// usage adds a line pointing to the command's help: the command line
	// itself was wrong (a flag, a command, the number of arguments).
	usage bool
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError is a config or usage error: exit 2.
func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// commandLineError is an error in the command line itself: exit 2, and a
// pointer to the command's help.
func commandLineError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...), usage: true}
}

func main() {
	// The OpenTelemetry SDK's and gRPC's errors go to the log at warn, at
	// the level --log-level sets (the ledger and the report count every
	// failed export as well).
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: &logLevel}))
	slog.SetDefault(logger)
	logging.Install(logger)
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

// run runs the command args name and turns its error into an exit code,
// printing the error once as "tracerig COMMAND: message".
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	// nil would make cobra read os.Args.
	root.SetArgs(append([]string{}, args...))
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(withCommandLine(ctx, args))
	if err == nil {
		return exitOK
	}
	// Errors the commands return carry their code; the others are cobra's
	// and pflag's, about the command line.
	ee := &exitError{code: exitUsage, err: err, usage: true}
	errors.As(err, &ee)
	if ee.err == nil {
		return ee.code
	}
	fmt.Fprintf(stderr, "%s: %v\n", cmd.CommandPath(), ee.err)
	if ee.usage {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return ee.code
}
