package otlpconf

import (
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

func TestParseResourceAttributes(t *testing.T) {
	s := attribute.String
	tests := []struct {
		name string
		in   string
		want []attribute.KeyValue
		err  string
	}{
		{"empty", "", nil, ""},
		{"spec example", "key1=value1,key2=value2", []attribute.KeyValue{s("key1", "value1"), s("key2", "value2")}, ""},
		{"service", "service.name=frontend,deployment.environment=prod",
			[]attribute.KeyValue{s("service.name", "frontend"), s("deployment.environment", "prod")}, ""},
		{"percent-encoded comma, equals and space", "k=a%2Cb%3Dc%20d", []attribute.KeyValue{s("k", "a,b=c d")}, ""},
		{"encoded key", "team%3Dx=1", []attribute.KeyValue{s("team=x", "1")}, ""},
		{"raw equals in value", "k=a=b", []attribute.KeyValue{s("k", "a=b")}, ""},
		{"numbers stay strings", "replicas=3", []attribute.KeyValue{s("replicas", "3")}, ""},
		{"spaces trimmed, empty members skipped", " a = 1 ,, b=2 ,", []attribute.KeyValue{s("a", "1"), s("b", "2")}, ""},
		{"empty value", "a=", []attribute.KeyValue{s("a", "")}, ""},
		{"last wins", "a=1,b=2,a=3", []attribute.KeyValue{s("a", "3"), s("b", "2")}, ""},
		{"no equals", "a=1,flag", nil, "member 2 is not key=value"},
		{"empty key", "=x", nil, "member 1 has an empty key"},
		{"bad value encoding", "a=1,b=%zz", nil, `member 2, key "b": the value is not percent-encoded correctly`},
		{"bad key encoding", "%g1=x", nil, "member 1: the key is not percent-encoded correctly"},
		{"every error at once", "x,=y", nil, "member 1 is not key=value\nmember 2 has an empty key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseResourceAttributes(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseResourceAttributes(%q) error %v, want %q", tt.in, err, tt.err)
				}
				if got != nil {
					t.Errorf("ParseResourceAttributes(%q) = %v with an error, want none", tt.in, got)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseResourceAttributes(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestFormatResourceAttributesRoundTrip(t *testing.T) {
	in := []attribute.KeyValue{
		attribute.String("team", "checkout"),
		attribute.String("k=ey", " a,b=c%d é "),
		attribute.Int("replicas", 3),
	}
	text := FormatResourceAttributes(in)
	got, err := ParseResourceAttributes(text)
	if err != nil {
		t.Fatalf("ParseResourceAttributes(%q): %v", text, err)
	}
	want := []attribute.KeyValue{in[0], in[1], attribute.String("replicas", "3")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseResourceAttributes(FormatResourceAttributes(%v)) = %v (text %q)", in, got, text)
	}
}
