package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracerig/tracerig/fixtures/embedded"
	"github.com/tracerig/tracerig/simulator/control"
)

// newBackendCmd returns the backend command.
func newBackendCmd() *cobra.Command {
	cfg := control.DefaultBackendConfig()
	cmd := &cobra.Command{
		Use:   "backend [flags]",
		Short: "Run the embedded OTLP backend alone",
		Long: `Run the embedded OTLP backend alone until interrupted: an OTLP/gRPC and
OTLP/HTTP receiver (protobuf and JSON) with a query API, printing what arrives
every --interval. Any OpenTelemetry SDK can export to it.`,
		Example: `  tracerig backend
  tracerig backend --grpc-addr 127.0.0.1:14317 --http-addr 127.0.0.1:14318 --interval 5s
  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 ./my-service`,
		Args: args(0, 0, ""),
		RunE: action(func(ctx context.Context, cmd *cobra.Command, _ []string) error {
			return backendCmd(ctx, &cfg, cmd.OutOrStdout())
		}),
	}
	addGoFlags(cmd, cfg.Flags)
	return cmd
}

// backendCmd runs the embedded OTLP backend alone until interrupted,
// printing what it receives.
func backendCmd(ctx context.Context, cfg *control.BackendConfig, stdout io.Writer) error {
	b := embedded.New(embedded.WithGRPCAddr(cfg.GRPCAddr), embedded.WithHTTPAddr(cfg.HTTPAddr))
	if err := b.Start(ctx); err != nil {
		return &exitError{code: exitRuntime, err: flagWorded(err)}
	}
	fmt.Fprintf(stdout, "tracerig backend: OTLP/gRPC on %s, OTLP/HTTP and query API on http://%s\n", b.GRPCAddr(), b.HTTPAddr())
	fmt.Fprintf(stdout, "export with: OTEL_EXPORTER_OTLP_ENDPOINT=http://%s OTEL_EXPORTER_OTLP_PROTOCOL=grpc\n", b.GRPCAddr())
	fmt.Fprintf(stdout, "query: curl http://%s/api/services | /api/traces/{id} | /api/spans?service=NAME | /api/stats\n", b.HTTPAddr())
	if cfg.Interval > 0 {
		printStats(ctx, stdout, b, cfg.Interval)
	} else {
		<-ctx.Done()
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return b.Shutdown(stopCtx)
}

// flagWorded words the fix of an address that could not be bound in terms
// of the flag that sets it.
func flagWorded(err error) error {
	var le *embedded.ListenError
	if !errors.As(err, &le) {
		return err
	}
	return &reworded{msg: le.Message(control.AddrFlags[le.Receiver]), err: err}
}

// reworded is err with another message.
type reworded struct {
	msg string
	err error
}

func (e *reworded) Error() string { return e.msg }
func (e *reworded) Unwrap() error { return e.err }

// printStats prints a line per interval in which something arrived.
func printStats(ctx context.Context, w io.Writer, b *embedded.Backend, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	last, lastAt := b.Stats(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s := b.Stats()
			// Arrivals, counted by what was received: spans held may
			// have been taken meanwhile.
			if s.Received == last.Received {
				continue
			}
			rate := float64(s.Received-last.Received) / now.Sub(lastAt).Seconds()
			fmt.Fprintf(w, "%s  %.0f spans/s  %d spans  %d traces  %d services: %s\n",
				now.Format("15:04:05"), rate, s.Spans, s.Traces, s.Services, strings.Join(b.Services(), ", "))
			last, lastAt = s, now
		}
	}
}
