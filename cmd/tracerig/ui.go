package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/scenarios"
)

// uiFlags are run's flags of the live page.
type uiFlags struct {
	addr         *string
	untilStopped *bool
}

func (u *uiFlags) add(fs *pflag.FlagSet) {
	u.addr = fs.String("ui", "", "serve the run's live page on `HOST:PORT`: the topology with each edge's live state, the run's figures second by second, a fault panel, the verdicts at the end; served after the report until Close on the page or Ctrl-C; loopback only without --allow-remote")
	u.untilStopped = fs.Bool("until-stopped", false, "keep the load running until it is stopped (Stop load on the --ui page, or Ctrl-C), whatever the scenario's duration: a demo for as long as the talk")
}

// uiListenAddr checks --ui (see listenAddr) and returns the address the
// live page listens on; "" without --ui.
func uiListenAddr(fs *pflag.FlagSet, addr string, allowAny bool) (string, error) {
	if !fs.Changed("ui") {
		return "", nil
	}
	a, err := listenAddr("ui", addr, allowAny, "the live page lets anyone who reaches it inject faults")
	if err != nil {
		return "", &exitError{code: exitUsage, err: err}
	}
	return a, nil
}

// wireUI sets the live page's options on opts: where it is announced, and,
// after the report, how long it stays (until Close on the page or a
// signal), the report printed by print first. With --until-stopped the
// load runs until the page stops it or the first signal does, and the run
// is then judged as one that ended: it returns the context the run goes on
// under, which that signal does not cancel, and release, which lets go of
// the signal's watch.
func wireUI(ctx context.Context, opts *scenarios.Options, addr string, untilStopped bool, stderr io.Writer, print func(*report.Report) error) (runCtx context.Context, release func()) {
	opts.UntilStopped = untilStopped
	if addr != "" {
		opts.UI = addr
		opts.UIReady = func(bound string) {
			fmt.Fprintf(stderr, "live page on http://%s/\n", clientAddr(bound))
		}
		opts.UIWait = func(rep *report.Report, closed <-chan struct{}) {
			if err := print(rep); err != nil {
				fmt.Fprintf(stderr, "print the report: %v\n", err)
			}
			waitForClose(stderr, closed)
		}
	}
	if !untilStopped {
		return ctx, func() {}
	}
	stop, done := make(chan struct{}), make(chan struct{})
	opts.Stop = stop
	go func() {
		select {
		case <-ctx.Done():
			fmt.Fprintln(stderr, "stopping the load; Ctrl-C again quits at once")
			close(stop)
		case <-done:
		}
	}()
	return context.WithoutCancel(ctx), func() { close(done) }
}

// waitForClose waits, the verdicts on the live page, until a viewer
// presses Close or a signal comes.
func waitForClose(stderr io.Writer, closed <-chan struct{}) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	fmt.Fprintln(stderr, "the live page shows the verdicts: press Close on it, or Ctrl-C, to quit")
	select {
	case <-closed:
	case <-sig:
	}
}
