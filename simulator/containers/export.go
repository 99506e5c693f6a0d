package containers

import (
	"bytes"
	"fmt"
	"os"
	"strconv"

	"github.com/testcontainers/testcontainers-go"

	"github.com/tracerig/tracerig/internal/otlpconf"
	"github.com/tracerig/tracerig/simulator/control"
)

// tlsDir is where an instance finds the export's certificate files.
const tlsDir = "/etc/tracerig/otlp/"

// instanceExport is how every instance exports to Options.Export: serve's
// endpoint flags, and the OTEL_EXPORTER_OTLP_* variables and certificate
// files the container gets. Header values go into the container's
// environment only, never into its command line or labels.
type instanceExport struct {
	env   map[string]string
	files map[string][]byte // by path in the container
}

// containerFiles returns the certificate files, each with a reader of its
// own: every container reads its copy.
func (x instanceExport) containerFiles() []testcontainers.ContainerFile {
	var out []testcontainers.ContainerFile
	for path, data := range x.files {
		out = append(out, testcontainers.ContainerFile{Reader: bytes.NewReader(data), ContainerFilePath: path, FileMode: 0o644})
	}
	return out
}

// exportTo sets serve's endpoint to Options.Export's, reached through the
// relay at relay, and returns what each container needs for it.
func (r *Runtime) exportTo(serve *control.ServeConfig, relay string) (instanceExport, error) {
	c := r.opts.Export
	endpoint := c.Endpoint
	if c.Protocol == otlpconf.GRPC && !c.Insecure {
		endpoint = "https://" + endpoint
	}
	serve.OTLPEndpoint, serve.OTLPDial = endpoint, relay
	x := instanceExport{files: map[string][]byte{}, env: map[string]string{
		"OTEL_EXPORTER_OTLP_PROTOCOL": string(c.Protocol),
		"OTEL_EXPORTER_OTLP_TIMEOUT":  strconv.FormatInt(c.Timeout.Milliseconds(), 10),
	}}
	if c.Compression != "" {
		x.env["OTEL_EXPORTER_OTLP_COMPRESSION"] = c.Compression
	}
	if len(c.Headers) > 0 {
		x.env["OTEL_EXPORTER_OTLP_HEADERS"] = otlpconf.FormatHeaders(c.Headers)
	}
	if c.Insecure {
		return x, nil
	}
	for _, f := range []struct{ host, name, env string }{
		{c.CAFile, "ca.pem", "OTEL_EXPORTER_OTLP_CERTIFICATE"},
		{c.CertFile, "client.pem", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"},
		{c.KeyFile, "client-key.pem", "OTEL_EXPORTER_OTLP_CLIENT_KEY"},
	} {
		if f.host == "" {
			continue
		}
		data, err := os.ReadFile(f.host)
		if err != nil {
			return instanceExport{}, fmt.Errorf("export certificate: %w", err)
		}
		x.files[tlsDir+f.name] = data
		x.env[f.env] = tlsDir + f.name
	}
	return x, nil
}
