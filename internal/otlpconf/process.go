package otlpconf

import (
	"fmt"
	"os"
	"path"
	"strconv"
)

// Process is how a service in a process of its own (a container, a pod)
// exports as a Config says: the endpoint to give it, the
// OTEL_EXPORTER_OTLP_* variables it reads, the header values apart (they
// are secret: its environment only, never a command line or a spec), and
// the certificate files it reads, by name, from the folder given to
// ForProcess.
type Process struct {
	Endpoint string
	Env      map[string]string
	Headers  string            // OTEL_EXPORTER_OTLP_HEADERS' value; "" for none
	Files    map[string][]byte // by file name
}

// ForProcess returns how a service in a process of its own exports as c
// says, reading the certificate files it names; dir is the folder the
// process finds them in.
func (c Config) ForProcess(dir string) (Process, error) {
	p := Process{Endpoint: c.Endpoint, Env: map[string]string{
		"OTEL_EXPORTER_OTLP_PROTOCOL": string(c.Protocol),
		"OTEL_EXPORTER_OTLP_TIMEOUT":  strconv.FormatInt(c.Timeout.Milliseconds(), 10),
	}}
	if c.Protocol == GRPC && !c.Insecure {
		p.Endpoint = "https://" + c.Endpoint
	}
	if c.Compression != "" {
		p.Env["OTEL_EXPORTER_OTLP_COMPRESSION"] = c.Compression
	}
	if len(c.Headers) > 0 {
		p.Headers = FormatHeaders(c.Headers)
	}
	if c.Insecure {
		return p, nil
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
			return Process{}, fmt.Errorf("export certificate: %w", err)
		}
		if p.Files == nil {
			p.Files = map[string][]byte{}
		}
		p.Files[f.name] = data
		p.Env[f.env] = path.Join(dir, f.name)
	}
	return p, nil
}
