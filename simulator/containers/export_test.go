package containers

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/internal/otlpconf"
	"github.com/tracerig/tracerig/simulator/control"
)

// TestExportTo: the instances get the endpoint on their command line and
// everything else through the standard variables and copied files; the
// header value reaches their environment only.
func TestExportTo(t *testing.T) {
	const secret = "s3cr3t-v4lue"
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("CA"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := New(nil, Options{Export: otlpconf.Config{
		Protocol: otlpconf.GRPC, Endpoint: "127.0.0.1:4317", TLSFiles: otlpconf.TLSFiles{CAFile: ca},
		Headers: []otlpconf.Header{{Key: "authorization", Value: "Bearer " + secret}}, Compression: "gzip", Timeout: 7 * time.Second,
	}})
	serve := control.DefaultServeConfig()
	x, err := r.exportTo(&serve, "relay:4317")
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(serve.Args(), " ")
	if !strings.Contains(args, "--otlp-endpoint https://127.0.0.1:4317 --otlp-dial relay:4317") {
		t.Errorf("serve args %q lack the endpoint and the relay", args)
	}
	for where, s := range map[string]string{"argv": args, "labels": strings.Join(slices.Collect(maps.Values(r.labels())), " ")} {
		if strings.Contains(s, secret) {
			t.Errorf("%s holds the header value: %s", where, s)
		}
	}
	want := map[string]string{
		"OTEL_EXPORTER_OTLP_PROTOCOL":    "grpc",
		"OTEL_EXPORTER_OTLP_TIMEOUT":     "7000",
		"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
		"OTEL_EXPORTER_OTLP_HEADERS":     "authorization=Bearer%20" + secret,
		"OTEL_EXPORTER_OTLP_CERTIFICATE": tlsDir + "ca.pem",
	}
	for k, v := range want {
		if x.env[k] != v {
			t.Errorf("env %s = %q, want %q", k, x.env[k], v)
		}
	}
	files := x.containerFiles()
	if len(files) != 1 || files[0].ContainerFilePath != tlsDir+"ca.pem" {
		t.Fatalf("files %+v, want the CA at %sca.pem", files, tlsDir)
	}
	// Every container reads a copy of its own.
	if again := x.containerFiles(); again[0].Reader == files[0].Reader {
		t.Error("containers share one reader")
	}
}
