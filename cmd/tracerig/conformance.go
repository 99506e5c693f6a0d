package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/tracerig/tracerig/internal/w3c"
)

// conformanceCmd serves the W3C Trace Context test-harness participant
// (POST /test) until interrupted; the specification's test suite
// (w3c/trace-context, test/test.py) drives it.
func conformanceCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		listen      = fs.String("listen", "127.0.0.1:5000", "listen address (loopback only unless --allow-remote)")
		allowRemote = fs.Bool("allow-remote", false, "permit a non-loopback listen address and non-loopback URLs to call")
		maxCalls    = fs.Int("max-calls", 64, "most elements in one /test request")
		maxInFlight = fs.Int("max-in-flight", 32, "most /test requests served at once, nested ones included (503 beyond)")
		callTimeout = fs.Duration("call-timeout", 5*time.Second, "timeout of each outgoing call")
		reqTimeout  = fs.Duration("request-timeout", 30*time.Second, "timeout of one /test request, its calls included")
		verbose     = fs.Bool("v", false, "print a line per /test request")
	)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: tracerig conformance [flags]\n\n"+
			"Serve the W3C Trace Context test-harness participant at http://ADDR/test;\n"+
			"run the specification's suite against it: python test.py http://ADDR/test\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *maxCalls <= 0 || *maxInFlight <= 0 || *callTimeout <= 0 || *reqTimeout <= 0 {
		return usageError("--max-calls, --max-in-flight, --call-timeout and --request-timeout must be positive")
	}
	if !*allowRemote {
		if err := loopbackListen(*listen); err != nil {
			return usageError("%v", err)
		}
	}
	opts := w3c.Options{
		AllowRemote:    *allowRemote,
		MaxCalls:       *maxCalls,
		MaxInFlight:    *maxInFlight,
		CallTimeout:    *callTimeout,
		RequestTimeout: *reqTimeout,
	}
	if *verbose {
		opts.Logf = func(format string, args ...any) { fmt.Fprintf(stdout, format+"\n", args...) }
	}
	return serveConformance(ctx, *listen, opts, stdout)
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
