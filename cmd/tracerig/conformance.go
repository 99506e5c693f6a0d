package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracerig/tracerig/internal/w3c"
)

// conformanceFlags are conformance's flags.
type conformanceFlags struct {
	listen      string
	allowRemote bool
	maxCalls    int
	maxInFlight int
	callTimeout time.Duration
	reqTimeout  time.Duration
	verbose     bool
}

// conformanceDefaults returns conformance's defaults.
func conformanceDefaults() *conformanceFlags {
	return &conformanceFlags{listen: "127.0.0.1:5000", maxCalls: 64, maxInFlight: 32, callTimeout: 5 * time.Second, reqTimeout: 30 * time.Second}
}

// newConformanceCmd returns the conformance command.
func newConformanceCmd() *cobra.Command {
	f := conformanceDefaults()
	cmd := &cobra.Command{
		Use:   "conformance [flags]",
		Short: "Serve the W3C Trace Context test participant at /test",
		Long: `Serve the W3C Trace Context test-harness participant at http://ADDR/test until
interrupted; run the specification's suite (w3c/trace-context, test/test.py)
against it. It listens on, and calls, loopback addresses only unless
--allow-remote.`,
		Example: `  tracerig conformance
  python test.py http://127.0.0.1:5000/test   # in w3c/trace-context/test
  tracerig conformance --listen 0.0.0.0:5000 --allow-remote -v`,
		Args: args(0, 0, ""),
		RunE: action(func(ctx context.Context, cmd *cobra.Command, _ []string) error {
			return conformanceCmd(ctx, f, cmd.OutOrStdout())
		}),
	}
	fs := cmd.Flags()
	fs.StringVar(&f.listen, "listen", f.listen, "listen `ADDR` (loopback only unless --allow-remote)")
	fs.BoolVar(&f.allowRemote, "allow-remote", false, "permit a non-loopback listen address and non-loopback URLs to call")
	fs.IntVar(&f.maxCalls, "max-calls", f.maxCalls, "most elements in one /test request")
	fs.IntVar(&f.maxInFlight, "max-in-flight", f.maxInFlight, "most /test requests served at once, nested ones included (503 beyond)")
	fs.DurationVar(&f.callTimeout, "call-timeout", f.callTimeout, "timeout of each outgoing call")
	fs.DurationVar(&f.reqTimeout, "request-timeout", f.reqTimeout, "timeout of one /test request, its calls included")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "print a line per /test request")
	return cmd
}

// conformanceCmd serves the W3C Trace Context test-harness participant
// (POST /test) until interrupted; the specification's test suite
// (w3c/trace-context, test/test.py) drives it.
func conformanceCmd(ctx context.Context, f *conformanceFlags, stdout io.Writer) error {
	if f.maxCalls <= 0 || f.maxInFlight <= 0 || f.callTimeout <= 0 || f.reqTimeout <= 0 {
		return usageError("--max-calls, --max-in-flight, --call-timeout and --request-timeout must be positive")
	}
	if !f.allowRemote {
		if err := loopbackListen(f.listen); err != nil {
			return usageError("%v", err)
		}
	}
	opts := w3c.Options{
		AllowRemote:    f.allowRemote,
		MaxCalls:       f.maxCalls,
		MaxInFlight:    f.maxInFlight,
		CallTimeout:    f.callTimeout,
		RequestTimeout: f.reqTimeout,
	}
	if f.verbose {
		opts.Logf = func(format string, args ...any) { fmt.Fprintf(stdout, format+"\n", args...) }
	}
	return serveConformance(ctx, f.listen, opts, stdout)
}

// serveConformance listens on addr and serves the participant until ctx
// ends. `tracerig serve --conformance ADDR` can delegate to it.
func serveConformance(ctx context.Context, addr string, opts w3c.Options, stdout io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return &exitError{code: exitRuntime, err: err}
	}
	p := w3c.NewParticipant(opts)
	defer p.Close()
	srv := &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      opts.RequestTimeout + 10*time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "tracerig conformance: W3C Trace Context participant at http://%s/test\n", ln.Addr())
	fmt.Fprintf(stdout, "run the specification's suite: python test.py http://%s/test\n", ln.Addr())
	select {
	case <-ctx.Done():
	case err := <-done:
		return &exitError{code: exitRuntime, err: err}
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(stopCtx)
	if e := <-done; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

// loopbackListen refuses a listen address whose host is not loopback.
func loopbackListen(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q: %v", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return fmt.Errorf("--listen %q: not a loopback address (--allow-remote permits others)", addr)
	}
	return nil
}
