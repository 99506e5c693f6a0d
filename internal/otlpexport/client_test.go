package otlpexport

import (
	"strings"
	"testing"

	"github.com/tracerig/tracerig/internal/otlpconf"
)

func TestOpenRefuses(t *testing.T) {
	const secret = "s3cret"
	grpcOK := otlpconf.Config{Protocol: otlpconf.GRPC, Endpoint: "localhost:4317", Insecure: true}
	with := func(f func(*otlpconf.Config)) otlpconf.Config {
		c := grpcOK
		f(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  otlpconf.Config
		want string
	}{
		{"unknown protocol", with(func(c *otlpconf.Config) { c.Protocol = "http/json" }),
			`otlpexport: open localhost:4317: unknown protocol "http/json" (want grpc or http/protobuf)`},
		{"unknown compression", with(func(c *otlpconf.Config) { c.Compression = "zstd" }),
			`otlpexport: open localhost:4317: unknown compression "zstd" (want gzip or none)`},
		{"header name", with(func(c *otlpconf.Config) {
			c.Headers = []otlpconf.Header{{Key: "x-ok", Value: "1"}, {Key: "x api key", Value: secret}}
		}),
			`otlpexport: open localhost:4317: header 2: "x api key" is not a valid header name`},
		{"header value", with(func(c *otlpconf.Config) { c.Headers = []otlpconf.Header{{Key: "x-api-key", Value: secret + "\n"}} }),
			`otlpexport: open localhost:4317: header "x-api-key": the value holds a control character`},
		{"grpc endpoint as a URL", with(func(c *otlpconf.Config) { c.Endpoint = "https://otlp.example:4317" }),
			`otlpexport: open https://otlp.example:4317: a gRPC endpoint is host:port`},
		{"grpc endpoint without a port", with(func(c *otlpconf.Config) { c.Insecure, c.Endpoint = false, "otlp.example" }),
			`otlpexport: open otlp.example: a gRPC endpoint is host:port`},
		{"missing CA file", with(func(c *otlpconf.Config) { c.Insecure, c.CAFile = false, "/nonexistent/ca.pem" }),
			`otlpexport: open localhost:4317: read CA certificate: open /nonexistent/ca.pem: no such file or directory`},
		{"http endpoint without a host", otlpconf.Config{Protocol: otlpconf.HTTPProtobuf, Endpoint: "/v1/traces", Insecure: true},
			`otlpexport: open /v1/traces: endpoint URL has no host`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Open(tt.cfg)
			if err == nil {
				_ = c.Close()
				t.Fatal("Open succeeded")
			}
			if err.Error() != tt.want {
				t.Errorf("Open: %v, want %s", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error shows a header's value")
			}
		})
	}
}

func TestClientConfig(t *testing.T) {
	cfg := otlpconf.Config{Protocol: otlpconf.HTTPProtobuf, Endpoint: "http://localhost:4318/v1/traces", Insecure: true,
		Headers: []otlpconf.Header{{Key: "x-api-key", Value: "a"}}}
	c := openClient(t, cfg)
	got := c.Config()
	got.Headers[0].Value = "changed"
	if c.Config().Headers[0].Value != "a" || cfg.Headers[0].Value != "a" {
		t.Errorf("Config shares its headers with the caller")
	}
}
