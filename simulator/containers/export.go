package containers

import (
	"bytes"

	"github.com/testcontainers/testcontainers-go"

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
	p, err := r.opts.Export.ForProcess(tlsDir)
	if err != nil {
		return instanceExport{}, err
	}
	serve.OTLPEndpoint, serve.OTLPDial = p.Endpoint, relay
	x := instanceExport{env: p.Env, files: map[string][]byte{}}
	if p.Headers != "" {
		x.env["OTEL_EXPORTER_OTLP_HEADERS"] = p.Headers
	}
	for name, data := range p.Files {
		x.files[tlsDir+name] = data
	}
	return x, nil
}
