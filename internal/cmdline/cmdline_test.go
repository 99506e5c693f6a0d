package cmdline

import (
	"slices"
	"strings"
	"testing"
)

func TestMask(t *testing.T) {
	for _, tt := range []struct {
		name string
		args string // split on spaces; a "|" stands for a space inside an argument
		want string
	}{
		{"nothing secret", "tracerig run shop --duration 2s --seed 7 --out out", "tracerig run shop --duration 2s --seed 7 --out out"},
		{"secret flag with =", "run --api-key=abc123 shop", "run --api-key=*** shop"},
		{"secret flag, value after", "run --api-key abc123 shop", "run --api-key *** shop"},
		{"single dash", "run -token abc shop", "run -token *** shop"},
		{"every secret word", "--auth-token a --client-secret b --password c --basic-auth d --credentials e --cookie f --passwd g",
			"--auth-token *** --client-secret *** --password *** --basic-auth *** --credentials *** --cookie *** --passwd ***"},
		{"names in any case", "--API-KEY abc --Authorization=Bearer|x", "--API-KEY *** --Authorization=***"},
		{"secret flag followed by a flag: a boolean", "--no-token --seed 7", "--no-token --seed 7"},
		{"secret flag last", "run --token", "run --token"},
		{"a file is not a secret", "--tls-key-file /etc/key.pem --token-path /run/t --key-dir d", "--tls-key-file /etc/key.pem --token-path /run/t --key-dir d"},
		{"header flag: values masked, keys kept", "--otlp-header authorization=Bearer|abc --otlp-header=x-team=42",
			"--otlp-header authorization=*** --otlp-header=x-team=***"},
		{"header list", "--otlp-headers a=1,b=2", "--otlp-headers a=***,b=***"},
		{"header without a value", "--header opaque", "--header ***"},
		{"variable of headers as an argument", "env OTEL_EXPORTER_OTLP_HEADERS=api-key=abc,x=y tracerig", "env OTEL_EXPORTER_OTLP_HEADERS=api-key=***,x=*** tracerig"},
		{"secret key=value argument", "x-api-key=abc VENDOR_TOKEN=t service=frontend", "x-api-key=*** VENDOR_TOKEN=*** service=frontend"},
		{"URL password", "--otlp-endpoint https://user:s3cret@ingest.example:443/v1", "--otlp-endpoint https://user:***@ingest.example:443/v1"},
		{"URL password in a flag value", "--query-url=http://admin:pw@tempo:3200", "--query-url=http://admin:***@tempo:3200"},
		{"URL user alone kept", "https://user@host/x", "https://user@host/x"},
		{"URL secret query parameter", "https://h/x?api_key=abc&tenant=a&sig=zz", "https://h/x?api_key=***&tenant=a&sig=***"},
		{"a path with = is no key", "/tmp/a=b", "/tmp/a=b"},
		{"after --, still masked", "run -- ./svc --token abc", "run -- ./svc --token ***"},
		{"dash alone", "validate - --key k", "validate - --key ***"},
		{"empty value", "--token= run", "--token=*** run"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := split(tt.args)
			orig := slices.Clone(args)
			got := Mask(args)
			if want := split(tt.want); !slices.Equal(got, want) {
				t.Errorf("Mask(%q)\n got  %q\n want %q", args, got, want)
			}
			if !slices.Equal(args, orig) {
				t.Errorf("Mask changed its argument: %q", args)
			}
			if again := Mask(got); !slices.Equal(again, got) {
				t.Errorf("masking twice: %q, once: %q", again, got)
			}
		})
	}
}

func TestMaskNil(t *testing.T) {
	if got := Mask(nil); got != nil {
		t.Errorf("Mask(nil) = %q", got)
	}
}

func split(s string) []string {
	f := strings.Fields(s)
	for i := range f {
		f[i] = strings.ReplaceAll(f[i], "|", " ")
	}
	return f
}

func TestJoin(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"plain", []string{"tracerig", "run", "shop", "--rate=200/s", "--out", "./out"}, "tracerig run shop --rate=200/s --out ./out"},
		{"glob characters", []string{"--otlp-header", "authorization=***"}, "--otlp-header 'authorization=***'"},
		{"space and quote", []string{"it's so"}, `'it'\''s so'`},
		{"empty", []string{"run", ""}, "run ''"},
		{"none", nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Join(tt.args); got != tt.want {
				t.Errorf("Join(%q) = %s, want %s", tt.args, got, tt.want)
			}
		})
	}
}
