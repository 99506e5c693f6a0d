package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tracerig/tracerig/internal/tunnel"
	"github.com/tracerig/tracerig/simulator/control"
)

// newRelayCmd returns the relay command, which the container runtime runs;
// help does not list it.
func newRelayCmd() *cobra.Command {
	cfg := control.DefaultRelayConfig()
	cmd := &cobra.Command{
		Use:   "relay [flags]",
		Short: "Carry connections from a container network to the host",
		Long: `Run the network side of an export tunnel. The container runtime starts it in
the run's network so that services in containers can export to a backend that
listens only on the host's loopback (a collector, an otlp endpoint, the export
pipe that plays pipeline faults). The host dials into --tunnel through a port
published on 127.0.0.1 and carries every connection made to --listen on to
its target.`,
		Example: `  tracerig relay --listen :4317,:4318 --tunnel :4320`,
		Hidden:  true,
		Args:    args(0, 0, ""),
		RunE: action(func(ctx context.Context, cmd *cobra.Command, _ []string) error {
			return relayCmd(ctx, cfg, cmd.OutOrStdout())
		}),
	}
	addGoFlags(cmd, cfg.Flags)
	return cmd
}

// relayCmd runs the network side of an export tunnel as cfg says.
func relayCmd(ctx context.Context, cfg control.RelayConfig, stdout io.Writer) error {
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
