package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"

	"github.com/tracerig/tracerig/internal/otlpconf"
	"github.com/tracerig/tracerig/internal/otlpexport"
	"github.com/tracerig/tracerig/simulator/synthetic"
)

// blastExport is where blast and bench send, and how: from --protocol,
// --otlp-endpoint and the OTEL_EXPORTER_OTLP_* variables.
type blastExport struct {
	protocol synthetic.Protocol
	// endpoint is "" for tracerig's own sink; else host:port for gRPC, a
	// host:port or URL for HTTP.
	endpoint string
	tls      *tls.Config
	headers  []otlpconf.Header
	gzip     bool
}

// resolveExport reads the export settings: --protocol, else
// OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL, else grpc; --otlp-endpoint (its
// scheme choosing TLS: https:// is TLS, http:// and host:port are not),
// else the variables' endpoint (with their TLS settings), else tracerig's
// own sink. Headers, compression and certificates of the variables apply
// to any endpoint but tracerig's sink.
func (f *blastFlags) resolveExport(getenv func(string) string) (blastExport, error) {
	env, err := otlpconf.FromEnv(getenv, otlpconf.GRPC)
	if err != nil {
		return blastExport{}, usageError("%s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	var x blastExport
	switch {
	case *f.protocol != "":
		x.protocol = synthetic.Protocol(*f.protocol)
	case env.Config.Protocol == otlpconf.HTTPProtobuf:
		x.protocol = synthetic.ProtocolHTTP
	default:
		x.protocol = synthetic.ProtocolGRPC
	}
	c := env.Config
	switch {
	case *f.endpoint != "":
		c.Protocol = otlpconf.GRPC
		if x.protocol == synthetic.ProtocolHTTP {
			c.Protocol = otlpconf.HTTPProtobuf
		}
		if c, err = c.WithEndpoint(*f.endpoint); err != nil {
			return blastExport{}, usageError("--otlp-endpoint: %v", err)
		}
	case env.EndpointSet():
		if x.protocol == synthetic.ProtocolGRPC && c.Protocol == otlpconf.HTTPProtobuf {
			return blastExport{}, usageError("--protocol grpc with an OTLP/HTTP endpoint from %s: give --otlp-endpoint", strings.Join(env.Set, ", "))
		}
	default:
		return x, nil // tracerig's own sink
	}
	x.endpoint, x.headers, x.gzip = c.Endpoint, c.Headers, c.Compression == "gzip"
	if *f.endpoint != "" && x.protocol == synthetic.ProtocolHTTP {
		x.endpoint = *f.endpoint // as given: the summary names it so
	}
	if !c.Insecure {
		hp, err := c.HostPort()
		if err != nil {
			return blastExport{}, usageError("--otlp-endpoint: %v", err)
		}
		host, _, _ := net.SplitHostPort(hp)
		if x.tls, err = c.TLSFiles.ClientConfig(host); err != nil {
			return blastExport{}, usageError("TLS: %v", err)
		}
	}
	return x, nil
}

// preflight proves, with one empty export, that the endpoint x names
// accepts the connection and the credentials; a refusal exits 3 naming
// the endpoint, the protocol, the answer and what to change. It does
// nothing for tracerig's own sink.
func preflight(ctx context.Context, o synthetic.RunOptions, x blastExport) error {
	if x.endpoint == "" {
		return nil
	}
	err := synthetic.Preflight(ctx, o)
	if err == nil {
		return nil
	}
	msg := fmt.Errorf("preflight export to %s refused: %w", x, err)
	if hint := otlpexport.Hint(err); hint != "" {
		msg = fmt.Errorf("%w; %s", msg, hint)
	}
	return &exitError{code: exitRuntime, err: msg}
}

// String names the export without header values.
func (x blastExport) String() string {
	s := fmt.Sprintf("%s %s", x.protocol, x.endpoint)
	if x.tls != nil {
		s += ", TLS"
	}
	if len(x.headers) > 0 {
		s += ", headers " + strings.Join(otlpconf.Config{Headers: x.headers}.HeaderKeys(), ",")
	}
	if x.gzip {
		s += ", gzip"
	}
	return s
}
