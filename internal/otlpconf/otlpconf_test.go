package otlpconf

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseHeaders(t *testing.T) {
	tests := []struct {
		in   string
		want []Header
		err  string
	}{
		{"", nil, ""},
		{"api-key=key,other-config-value=value", []Header{{"api-key", "key"}, {"other-config-value", "value"}}, ""},
		{"Authorization=Bearer%20abc%3D%3D", []Header{{"Authorization", "Bearer abc=="}}, ""},
		{"key=a=b", []Header{{"key", "a=b"}}, ""},
		{" x-api-key = s ,, y=2 ", []Header{{"x-api-key", "s"}, {"y", "2"}}, ""},
		{"secret-token-without-key", nil, "member 1 is not key=value"},
		{"a=1,=2", nil, "member 2 is not key=value"},
		{"k=%zz", nil, `member 1, key "k": the value is not percent-encoded correctly`},
	}
	for _, tt := range tests {
		got, err := ParseHeaders(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseHeaders(%q) error %v, want %q", tt.in, err, tt.err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("ParseHeaders(%q) error shows the value: %v", tt.in, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
			t.Errorf("ParseHeaders(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		raw      string
		p        Protocol
		specific bool
		want     Endpoint
		err      string
	}{
		{"", GRPC, false, Endpoint{"localhost:4317", ""}, ""},
		{"", HTTPProtobuf, false, Endpoint{"http://localhost:4318/v1/traces", ""}, ""},
		{"127.0.0.1:4317", GRPC, false, Endpoint{"127.0.0.1:4317", ""}, ""},
		{"http://collector:4317", GRPC, false, Endpoint{"collector:4317", "http"}, ""},
		{"https://api.vendor.example", GRPC, false, Endpoint{"api.vendor.example:443", "https"}, ""},
		{"https://api.vendor.example:443", HTTPProtobuf, false, Endpoint{"https://api.vendor.example:443/v1/traces", "https"}, ""},
		{"http://collector:4318/", HTTPProtobuf, false, Endpoint{"http://collector:4318/v1/traces", "http"}, ""},
		{"http://collector:4318/otlp", HTTPProtobuf, false, Endpoint{"http://collector:4318/otlp/v1/traces", "http"}, ""},
		{"http://collector:4318/custom/path", HTTPProtobuf, true, Endpoint{"http://collector:4318/custom/path", "http"}, ""},
		{"http://collector", HTTPProtobuf, true, Endpoint{"http://collector:4318", "http"}, ""},
		{"[::1]:4317", GRPC, false, Endpoint{"[::1]:4317", ""}, ""},
		{"collector", GRPC, false, Endpoint{}, "neither a URL nor host:port"},
		{"ftp://collector:21", GRPC, false, Endpoint{}, `scheme "ftp" is not http or https`},
		{"http://", GRPC, false, Endpoint{}, "has no host"},
	}
	for _, tt := range tests {
		got, err := ParseEndpoint(tt.raw, tt.p, tt.specific)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseEndpoint(%q, %s) error %v, want %q", tt.raw, tt.p, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseEndpoint(%q, %s, %v) = %+v, %v; want %+v", tt.raw, tt.p, tt.specific, got, err, tt.want)
		}
	}
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name  string
		vars  map[string]string
		want  Config
		notes []string
		err   string
	}{
		{"nothing set", nil, Config{Protocol: GRPC, Endpoint: "localhost:4317", Insecure: true, Timeout: DefaultTimeout}, nil, ""},
		{"signal-specific over generic", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT":           "https://generic:4317",
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT":    "http://traces:4317",
			"OTEL_EXPORTER_OTLP_HEADERS":            "a=1",
			"OTEL_EXPORTER_OTLP_TRACES_HEADERS":     "b=2",
			"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT":     "2500",
			"OTEL_EXPORTER_OTLP_COMPRESSION":        "gzip",
			"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL":    "grpc",
			"OTEL_EXPORTER_OTLP_PROTOCOL":           "http/protobuf",
			"OTEL_EXPORTER_OTLP_CERTIFICATE":        "/ca.pem",
			"OTEL_EXPORTER_OTLP_TRACES_INSECURE":    "",
			"OTEL_EXPORTER_OTLP_CLIENT_KEY":         "/k.pem",
			"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": "/c.pem",
		}, Config{Protocol: GRPC, Endpoint: "traces:4317", Insecure: true, TLSFiles: TLSFiles{CAFile: "/ca.pem", CertFile: "/c.pem", KeyFile: "/k.pem"},
			Headers: []Header{{"b", "2"}}, Compression: "gzip", Timeout: 2500 * time.Millisecond},
			[]string{"certificates are set but the endpoint is plaintext: they are not used"}, ""},
		{"https over http/protobuf", map[string]string{
			"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
			"OTEL_EXPORTER_OTLP_ENDPOINT": "https://ingest.example",
			"OTEL_EXPORTER_OTLP_HEADERS":  "x-api-key=s3cr3t",
		}, Config{Protocol: HTTPProtobuf, Endpoint: "https://ingest.example:443/v1/traces", Headers: []Header{{"x-api-key", "s3cr3t"}}, Timeout: DefaultTimeout}, nil, ""},
		{"insecure cannot apply to https", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "https://ingest.example:4317",
			"OTEL_EXPORTER_OTLP_INSECURE": "true",
		}, Config{Protocol: GRPC, Endpoint: "ingest.example:4317", Timeout: DefaultTimeout},
			[]string{"OTEL_EXPORTER_OTLP_INSECURE=true does not apply to the https endpoint https://ingest.example:4317: TLS is used"}, ""},
		{"no scheme, insecure false: TLS", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "ingest.example:4317",
			"OTEL_EXPORTER_OTLP_INSECURE": "false",
		}, Config{Protocol: GRPC, Endpoint: "ingest.example:4317", Timeout: DefaultTimeout}, nil, ""},
		{"every error at once", map[string]string{
			"OTEL_EXPORTER_OTLP_PROTOCOL":           "http/json",
			"OTEL_EXPORTER_OTLP_TIMEOUT":            "10s",
			"OTEL_EXPORTER_OTLP_COMPRESSION":        "zstd",
			"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": "/c.pem",
			"OTEL_EXPORTER_OTLP_TRACES_HEADERS":     "token",
		}, Config{}, nil, strings.Join([]string{
			"OTEL_EXPORTER_OTLP_PROTOCOL: http/json is not supported: use grpc or http/protobuf",
			"OTEL_EXPORTER_OTLP_[TRACES_]CLIENT_CERTIFICATE and CLIENT_KEY go together: set both or neither",
			"OTEL_EXPORTER_OTLP_TRACES_HEADERS: member 1 is not key=value",
			`OTEL_EXPORTER_OTLP_COMPRESSION: "zstd" is not gzip or none`,
			`OTEL_EXPORTER_OTLP_TIMEOUT: "10s" is not a number of milliseconds`,
		}, "\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromEnv(env(tt.vars), GRPC)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error:\n%v\nwant:\n%s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Config, tt.want) {
				t.Errorf("config\n got %+v\nwant %+v", got.Config, tt.want)
			}
			if !slices.Equal(got.Notes, tt.notes) {
				t.Errorf("notes %q, want %q", got.Notes, tt.notes)
			}
		})
	}
}

func TestConfigStringHidesHeaderValues(t *testing.T) {
	c := Config{Protocol: HTTPProtobuf, Endpoint: "https://x:443/v1/traces", Headers: []Header{{"authorization", "Bearer s3cr3t"}}, Compression: "gzip"}
	s := c.String()
	if strings.Contains(s, "s3cr3t") || !strings.Contains(s, "authorization") {
		t.Errorf("String() = %q: want the key and not the value", s)
	}
}

func TestWithEndpoint(t *testing.T) {
	base := Config{Protocol: GRPC, Headers: []Header{{"k", "v"}}, Compression: "gzip", Timeout: DefaultTimeout}
	httpBase := base
	httpBase.Protocol = HTTPProtobuf
	tests := []struct {
		base         Config
		raw          string
		wantEndpoint string
		wantInsecure bool
	}{
		{base, "127.0.0.1:4317", "127.0.0.1:4317", true},
		{base, "http://collector:4317", "collector:4317", true},
		{base, "https://ingest.example", "ingest.example:443", false},
		{httpBase, "127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces", true},
		{httpBase, "https://ingest.example", "https://ingest.example:443/v1/traces", false},
		{httpBase, "https://ingest.example/", "https://ingest.example:443/v1/traces", false},
		{httpBase, "http://gw:8080/otlp/v1/traces", "http://gw:8080/otlp/v1/traces", true},
	}
	for _, tt := range tests {
		c, err := tt.base.WithEndpoint(tt.raw)
		if err != nil {
			t.Errorf("WithEndpoint(%q): %v", tt.raw, err)
			continue
		}
		if c.Endpoint != tt.wantEndpoint || c.Insecure != tt.wantInsecure || c.Compression != "gzip" || len(c.Headers) != 1 {
			t.Errorf("WithEndpoint(%q) = %+v, want endpoint %q insecure %v and the rest kept", tt.raw, c, tt.wantEndpoint, tt.wantInsecure)
		}
	}
	if _, err := base.WithEndpoint("no-port"); err == nil {
		t.Error("WithEndpoint(no-port): no error")
	}
}

func TestFormatHeadersRoundTrip(t *testing.T) {
	in := []Header{{"authorization", "Bearer a=b,c d%"}, {"x-api-key", "k/ey;?"}}
	got, err := ParseHeaders(FormatHeaders(in))
	if err != nil || len(got) != 2 || got[0] != in[0] || got[1] != in[1] {
		t.Fatalf("ParseHeaders(FormatHeaders(%q)) = %q, %v", in, got, err)
	}
}

func TestHostPort(t *testing.T) {
	for _, tt := range []struct {
		c    Config
		want string
	}{
		{Config{Protocol: GRPC, Endpoint: "collector:4317"}, "collector:4317"},
		{Config{Protocol: HTTPProtobuf, Endpoint: "http://gw:8080/otlp/v1/traces"}, "gw:8080"},
		{Config{Protocol: HTTPProtobuf, Endpoint: "https://ingest.example/v1/traces"}, "ingest.example:443"},
		{Config{Protocol: HTTPProtobuf, Endpoint: "http://gw/v1/traces"}, "gw:80"},
	} {
		if got, err := tt.c.HostPort(); err != nil || got != tt.want {
			t.Errorf("HostPort(%s) = %q, %v; want %q", tt.c.Endpoint, got, err, tt.want)
		}
	}
}
