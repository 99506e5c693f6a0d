package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracerig/tracerig/simulator/broker"
	"github.com/tracerig/tracerig/simulator/control"
	"github.com/tracerig/tracerig/topology"
)

// newBrokerCmd returns the broker command, which the container runtime
// runs for each broker of a topology that tracerig runs; help does not
// list it.
func newBrokerCmd() *cobra.Command {
	cfg := control.DefaultBrokerConfig()
	cmd := &cobra.Command{
		Use:   "broker [flags]",
		Short: "Run an embedded message broker",
		Long: `Run one embedded broker until stopped: the NATS server with JetStream
(--kind nats), or an in-memory broker that speaks the Kafka protocol (--kind
kafka; not Kafka). The container runtime starts one in the run's network for
each broker of the topology that names no addresses. Its control API
(--control) answers a health check, and stops and starts the broker for a
broker-outage fault, which keeps what it stored.`,
		Example: `  tracerig broker --kind kafka --listen :9092 --advertise broker-events:9092`,
		Hidden:  true,
		Args:    args(0, 0, ""),
		RunE: action(func(ctx context.Context, cmd *cobra.Command, _ []string) error {
			c, err := control.ParseBroker(cfg.Args())
			if err != nil {
				return usageError("%v", err)
			}
			return brokerCmd(ctx, c, cmd.OutOrStdout())
		}),
	}
	addGoFlags(cmd, cfg.Flags)
	return cmd
}

// brokerStore is where the NATS server keeps its streams, relative to the
// working folder.
const brokerStore = "tracerig-broker"

// runningBroker is a broker this command runs.
type runningBroker interface {
	control.Outage
	Close() error
}

// brokerCmd runs the broker cfg describes until ctx ends.
func brokerCmd(ctx context.Context, cfg control.BrokerConfig, stdout io.Writer) error {
	// The store under the working folder: an image FROM scratch has no
	// temporary folder.
	opts := []broker.EmbeddedOption{broker.WithListenAddr(cfg.Listen), broker.WithStoreDir(brokerStore)}
	if cfg.Advertise != "" {
		opts = append(opts, broker.WithAdvertisedAddr(cfg.Advertise))
	}
	var b runningBroker
	var where string
	if cfg.Kind == string(topology.BrokerKafka) {
		k, err := broker.StartKafka(ctx, opts...)
		if err != nil {
			return err
		}
		b, where = k, fmt.Sprint(k.Seeds())
	} else {
		n, err := broker.StartNATS(ctx, opts...)
		if err != nil {
			return err
		}
		b, where = n, n.URL()
	}
	defer b.Close()
	lis, err := net.Listen("tcp", cfg.Control)
	if err != nil {
		return fmt.Errorf("listen for the broker's control API on %s: %w", cfg.Control, err)
	}
	srv := &http.Server{Handler: control.BrokerHandler(b), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	fmt.Fprintf(stdout, "%s broker listening on %s, control API on %s\n", cfg.Kind, where, lis.Addr())
	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("serve the broker's control API: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stop the broker's control API: %w", err)
	}
	return nil
}
