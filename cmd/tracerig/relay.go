package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/tracerig/tracerig/internal/tunnel"
	"github.com/tracerig/tracerig/simulator/control"
)

// relayCmd runs the network side of an export tunnel: the container runtime
// starts it in the run's network so that services in containers can export
// to a backend that listens only on the host's loopback (a collector, an
// otlp endpoint, the export pipe that plays pipeline faults). The host dials
// into --tunnel through a port published on 127.0.0.1 and carries every
// connection made to --listen on to its target.
func relayCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := control.DefaultRelayConfig()
	cfg.Flags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: tracerig relay [--listen ADDR] [--tunnel ADDR]\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("relay takes no arguments, got %q", fs.Args())
	}
	tl, lis, err := tunnel.Listen(cfg.Tunnel, cfg.Listen...)
	if err != nil {
		return err
	}
	addrs := make([]string, len(lis))
	for i, l := range lis {
		addrs[i] = l.Addr().String()
	}
	fmt.Fprintf(stdout, "relay listening on %s, host tunnel on %s\n", strings.Join(addrs, ", "), tl.Addr())
	return tunnel.Serve(ctx, tl, lis...)
}
