package control

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// BackendConfig is the command line of `tracerig backend`: the embedded
// backend on its own. The container runtime writes it (Args) for the
// backend container and the command parses it (Flags).
type BackendConfig struct {
	// GRPCAddr is the OTLP/gRPC listen address.
	GRPCAddr string
	// HTTPAddr is the listen address of OTLP/HTTP and the query API.
	HTTPAddr string
	// Interval is how often what arrived is printed; 0 never.
	Interval time.Duration
}

// DefaultBackendConfig returns backend's defaults.
func DefaultBackendConfig() BackendConfig {
	return BackendConfig{GRPCAddr: "127.0.0.1:4317", HTTPAddr: "127.0.0.1:4318", Interval: time.Second}
}

// Flags defines backend's flags on fs, with c's values as defaults and c's
// fields as destinations.
func (c *BackendConfig) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.GRPCAddr, "grpc-addr", c.GRPCAddr, "OTLP/gRPC listen address")
	fs.StringVar(&c.HTTPAddr, "http-addr", c.HTTPAddr, "OTLP/HTTP and query API listen address")
	fs.DurationVar(&c.Interval, "interval", c.Interval, "how often to print what arrived; 0 = never")
}

// AddrFlags names the flag that sets each receiver's listen address, by
// the receiver names embedded.ListenError uses.
var AddrFlags = map[string]string{"grpc": "--grpc-addr", "http": "--http-addr"}

// Args returns the flags that make backend run c: each one whose value is
// not its default, in a fixed order.
func (c BackendConfig) Args() []string {
	d := DefaultBackendConfig()
	var args []string
	args = appendFlag(args, "grpc-addr", c.GRPCAddr, d.GRPCAddr)
	args = appendFlag(args, "http-addr", c.HTTPAddr, d.HTTPAddr)
	return appendFlag(args, "interval", c.Interval.String(), d.Interval.String())
}

// RelayConfig is the command line of `tracerig relay`, the network side of
// an export tunnel (see internal/tunnel): the container runtime writes it
// for the relay container and the command parses it.
type RelayConfig struct {
	// Listen is where the services connect, each address carried to its
	// own target on the host.
	Listen []string
	// Tunnel is where the host dials in.
	Tunnel string
}

// DefaultRelayConfig returns relay's defaults.
func DefaultRelayConfig() RelayConfig {
	return RelayConfig{Listen: []string{":4317"}, Tunnel: ":4320"}
}

// Flags defines relay's flags on fs, with c's values as defaults and c's
// fields as destinations.
func (c *RelayConfig) Flags(fs *flag.FlagSet) {
	fs.Func("listen", "where the services connect: `ADDR,...`, each carried to its own target on the host (default "+strings.Join(c.Listen, ",")+")",
		func(s string) error { c.Listen = strings.Split(s, ","); return nil })
	fs.StringVar(&c.Tunnel, "tunnel", c.Tunnel, "where the host dials in")
}

// Args returns the flags that make relay run c: each one whose value is
// not its default, in a fixed order.
func (c RelayConfig) Args() []string {
	d := DefaultRelayConfig()
	var args []string
	args = appendFlag(args, "listen", strings.Join(c.Listen, ","), strings.Join(d.Listen, ","))
	return appendFlag(args, "tunnel", c.Tunnel, d.Tunnel)
}

// ParseBackend parses backend's flags over the defaults.
func ParseBackend(args []string) (BackendConfig, error) {
	c := DefaultBackendConfig()
	if err := parseCommand("backend", args, c.Flags); err != nil {
		return BackendConfig{}, err
	}
	return c, nil
}

// ParseRelay parses relay's flags over the defaults.
func ParseRelay(args []string) (RelayConfig, error) {
	c := DefaultRelayConfig()
	if err := parseCommand("relay", args, c.Flags); err != nil {
		return RelayConfig{}, err
	}
	return c, nil
}

// parseCommand parses the flags define puts on a new set named name, and
// refuses arguments that are not flags.
func parseCommand(name string, args []string, define func(*flag.FlagSet)) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	define(fs)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("parse %s flags: %w", name, err)
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("parse %s flags: unexpected arguments: %s", name, strings.Join(fs.Args(), " "))
	}
	return nil
}

// appendFlag appends --name v to args unless v is the default def.
func appendFlag(args []string, name, v, def string) []string {
	if v == def {
		return args
	}
	return append(args, "--"+name, v)
}
