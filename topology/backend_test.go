package topology

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/internal/otlpconf"
)

func TestBackendCredentialsStayTemplates(t *testing.T) {
	s, err := LoadScenario("testdata/backend-credentials.scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b := s.Backend
	wantHeaders := []string{"x-api-key=${HONEYCOMB_API_KEY}", "x-team=${TEAM}-${REGION}", "x-tenant=acme"}
	var got []string
	for _, h := range b.Headers {
		got = append(got, h.Key+"="+h.Value)
	}
	if !reflect.DeepEqual(got, wantHeaders) {
		t.Errorf("headers %v, want %v", got, wantHeaders)
	}
	if want := filepath.Join("testdata", "certs", "ca.pem"); b.TLS.CA != want || b.Query.TLS.CA != want {
		t.Errorf("CA files %q and %q, want %q (relative to the scenario)", b.TLS.CA, b.Query.TLS.CA, want)
	}
	if b.TLS.Key != "/etc/tracerig/client-key.pem" {
		t.Errorf("absolute key file became %q", b.TLS.Key)
	}
	if !b.Query.TLS.InsecureSkipVerify || *b.Query.BasicAuth != (BasicAuth{"${READ_USER}", "${READ_PASS}"}) {
		t.Errorf("query %+v", b.Query)
	}
}

func TestBackendResolve(t *testing.T) {
	ca := filepath.Join("testdata", "certs", "ca.pem")
	tests := []struct {
		name    string
		backend Backend
		env     map[string]string
		want    otlpconf.Config
		wantErr []string // substrings of the error; none: no error
	}{
		{
			name: "the scenario's settings, expanded",
			backend: Backend{Type: BackendOTLP, Endpoint: "https://ingest.example", Protocol: "http/protobuf",
				TLS:         TLS{CA: ca},
				Headers:     []Header{{Key: "x-api-key", Value: "${KEY}"}, {Key: "x-team", Value: "${TEAM}-eu"}},
				Compression: "gzip", Timeout: 3 * time.Second},
			env: map[string]string{"KEY": "s3cret", "TEAM": "core", "OTEL_EXPORTER_OTLP_HEADERS": "x-other=1",
				"OTEL_EXPORTER_OTLP_ENDPOINT": "http://elsewhere:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			want: otlpconf.Config{Protocol: otlpconf.HTTPProtobuf, Endpoint: "https://ingest.example:443/v1/traces",
				TLSFiles:    otlpconf.TLSFiles{CAFile: ca},
				Headers:     []otlpconf.Header{{Key: "x-api-key", Value: "s3cret"}, {Key: "x-team", Value: "core-eu"}},
				Compression: "gzip", Timeout: 3 * time.Second},
		},
		{
			name:    "unset settings from the variables",
			backend: Backend{Type: BackendOTLP, Compression: "none"},
			env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://vendor:4317",
				"OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=k%20v", "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
				"OTEL_EXPORTER_OTLP_TIMEOUT": "2000"},
			want: otlpconf.Config{Protocol: otlpconf.GRPC, Endpoint: "vendor:4317",
				Headers: []otlpconf.Header{{Key: "x-api-key", Value: "k v"}}, Timeout: 2 * time.Second},
		},
		{
			name:    "host:port is plaintext",
			backend: Backend{Type: BackendOTLP, Endpoint: "collector:4317"},
			want:    otlpconf.Config{Protocol: otlpconf.GRPC, Endpoint: "collector:4317", Insecure: true, Timeout: otlpconf.DefaultTimeout},
		},
		{
			name:    "host:port with a CA is TLS",
			backend: Backend{Type: BackendOTLP, Endpoint: "collector:4317", TLS: TLS{CA: ca}},
			env:     map[string]string{"OTEL_EXPORTER_OTLP_INSECURE": "true"},
			want: otlpconf.Config{Protocol: otlpconf.GRPC, Endpoint: "collector:4317", TLSFiles: otlpconf.TLSFiles{CAFile: ca},
				Timeout: otlpconf.DefaultTimeout},
		},
		{
			name:    "one pass: a value holding a reference stays as it is",
			backend: Backend{Type: BackendOTLP, Endpoint: "collector:4317", Headers: []Header{{Key: "x-a", Value: "${A}"}}},
			env:     map[string]string{"A": "${B}", "B": "other"},
			want: otlpconf.Config{Protocol: otlpconf.GRPC, Endpoint: "collector:4317", Insecure: true,
				Headers: []otlpconf.Header{{Key: "x-a", Value: "${B}"}}, Timeout: otlpconf.DefaultTimeout},
		},
		{
			name: "unset variables named, values not",
			backend: Backend{Type: BackendOTLP, Endpoint: "collector:4317",
				Headers: []Header{{Key: "authorization", Value: "Bearer ${TOKEN}"}, {Key: "x-api-key", Value: "${KEY}${OTHER}"}}},
			env:     map[string]string{"OTHER": "visible-value"},
			wantErr: []string{"backend.headers.authorization: environment variable TOKEN is not set", "backend.headers.x-api-key: environment variable KEY is not set"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.backend.Resolve(func(k string) string { return tt.env[k] })
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Resolve = %+v, want an error", got)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				if strings.Contains(err.Error(), "visible-value") {
					t.Errorf("error %q holds a variable's value", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Resolve =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestBackendQueryCredentials(t *testing.T) {
	q := BackendQuery{Type: "jaeger", URL: "https://jaeger.example",
		Headers:   []Header{{Key: "authorization", Value: "Bearer ${TOKEN}"}},
		BasicAuth: &BasicAuth{Username: "reader", Password: "${PASS}"}}
	h, ba, err := q.Credentials(func(k string) string { return map[string]string{"TOKEN": "t0k", "PASS": "p4ss"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	if want := []otlpconf.Header{{Key: "authorization", Value: "Bearer t0k"}}; !reflect.DeepEqual(h, want) {
		t.Errorf("headers %+v, want %+v", h, want)
	}
	if *ba != (BasicAuth{"reader", "p4ss"}) {
		t.Errorf("basic auth %+v", *ba)
	}
	if q.BasicAuth.Password != "${PASS}" {
		t.Error("Credentials changed the model")
	}
	_, _, err = q.Credentials(func(string) string { return "" })
	for _, w := range []string{"backend.query.headers.authorization: environment variable TOKEN is not set", "backend.query.basic-auth.password: environment variable PASS is not set"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not say %q", err, w)
		}
	}
}
