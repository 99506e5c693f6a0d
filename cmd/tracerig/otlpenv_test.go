package main

import (
	"strings"
	"testing"

	"github.com/tracerig/tracerig/topology"
)

func TestOTLPEnvNote(t *testing.T) {
	embedded := &topology.Scenario{Backend: topology.Backend{Type: topology.BackendEmbedded}}
	otlp := &topology.Scenario{Backend: topology.Backend{Type: topology.BackendOTLP}}
	otlpFixed := &topology.Scenario{Backend: topology.Backend{Type: topology.BackendOTLP, Endpoint: "127.0.0.1:4317"}}
	tests := []struct {
		name string
		sc   *topology.Scenario
		flag string
		vars map[string]string
		want string
	}{
		{"nothing set", embedded, "", nil, ""},
		{"embedded backend", embedded, "", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=s"},
			"OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS set but not used: the spans go to the scenario's embedded backend (backend: {type: otlp} or --otlp-endpoint exports elsewhere)"},
		{"the flag wins", otlp, "127.0.0.1:4317", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4317"},
			"OTEL_EXPORTER_OTLP_ENDPOINT set: --otlp-endpoint 127.0.0.1:4317 takes the endpoint's place; the other settings apply"},
		{"the scenario's endpoint wins", otlpFixed, "", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://x:4317"},
			"exporting to grpc 127.0.0.1:4317, plaintext (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, under the scenario's backend settings)"},
		{"otlp backend, plaintext gRPC", otlp, "", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"},
			"exporting to grpc collector:4317, plaintext (OTEL_EXPORTER_OTLP_ENDPOINT, under the scenario's backend settings)"},
		{"otlp backend, TLS, headers, gzip", otlp, "", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "https://ingest.example", "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20s3cr3t",
			"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"},
			"exporting to grpc ingest.example:443, TLS, headers authorization, gzip (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_COMPRESSION, under the scenario's backend settings)"},
		{"a setting that cannot apply", otlp, "", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "https://ingest.example", "OTEL_EXPORTER_OTLP_INSECURE": "true"},
			"exporting to grpc ingest.example:443, TLS (OTEL_EXPORTER_OTLP_INSECURE, OTEL_EXPORTER_OTLP_ENDPOINT, under the scenario's backend settings); OTEL_EXPORTER_OTLP_INSECURE=true does not apply to the https endpoint https://ingest.example: TLS is used"},
		{"malformed", embedded, "", map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "10s"},
			`OTEL_EXPORTER_OTLP_TIMEOUT set but not used: the spans go to the scenario's embedded backend (backend: {type: otlp} or --otlp-endpoint exports elsewhere); malformed: OTEL_EXPORTER_OTLP_TIMEOUT: "10s" is not a number of milliseconds`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := otlpEnvNote(tt.sc, tt.flag, func(k string) string { return tt.vars[k] })
			if got != tt.want {
				t.Errorf("note:\n got %s\nwant %s", got, tt.want)
			}
			if strings.Contains(got, "s3cr3t") {
				t.Errorf("note shows a header value: %s", got)
			}
		})
	}
}
