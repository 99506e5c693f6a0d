package recorded

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/internal/otlpfile"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology/infer"
)

// spanFile writes spans to a file as OTLP protobuf and returns its path.
func spanFile(t *testing.T, spans []record.Span) string {
	t.Helper()
	var buf bytes.Buffer
	if err := otlpfile.NewWriter(&buf).Write(spans); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, "spans.pb", buf.Bytes())
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// twoHops is a trace of a front route calling a back route: a server
// span, its client span and the callee's server span.
func twoHops(trace byte, start time.Time) []record.Span {
	at := start.UnixNano()
	id := func(b byte) record.SpanID { return record.SpanID{trace, b, 1} }
	tr := record.TraceID{trace, 1}
	ms := int64(time.Millisecond)
	return []record.Span{
		{Trace: tr, ID: id(1), Start: at, End: at + 5*ms, Service: "front", Name: "GET /a", Kind: record.KindServer,
			Attrs: []record.Attr{{Key: "http.request.method", Value: "GET"}, {Key: "http.route", Value: "/a"}}},
		{Trace: tr, ID: id(2), Parent: id(1), Start: at + ms, End: at + 3*ms, Service: "front", Name: "GET", Kind: record.KindClient},
		{Trace: tr, ID: id(3), Parent: id(2), Start: at + ms, End: at + 3*ms, Service: "back", Name: "GET /b", Kind: record.KindServer,
			Attrs: []record.Attr{{Key: "http.request.method", Value: "GET"}, {Key: "http.route", Value: "/b"}}},
	}
}

func TestInferFromFile(t *testing.T) {
	var spans []record.Span
	start := time.Now().Add(-time.Minute)
	for i := range 50 {
		spans = append(spans, twoHops(byte(i+1), start.Add(time.Duration(i)*100*time.Millisecond))...)
	}
	src, err := Open(spanFile(t, spans), Access{})
	if err != nil {
		t.Fatal(err)
	}
	res, st, err := Infer(context.Background(), src, infer.Options{Name: "two"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Spans != int64(len(spans)) {
		t.Errorf("read %d spans, want %d", st.Spans, len(spans))
	}
	if got := len(res.Model.Services); got != 2 {
		t.Fatalf("%d services, want 2:\n%s", got, res.Topology)
	}
	front := res.Model.Services[1]
	if front.Name != "front" || Tree(front.Routes[0]) != "back GET /b" {
		t.Errorf("front's tree = %q, want %q", Tree(front.Routes[0]), "back GET /b")
	}
	if e := res.Model.Entries; len(e) != 1 || e[0].SpansPerTrace != 3 {
		t.Errorf("entries = %+v, want one with 3 spans per trace", e)
	}
	dir := t.TempDir()
	if err := Write(dir, res); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{TopologyFile, ScenarioFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestBadInput: each unusable input is one clear *InputError.
func TestBadInput(t *testing.T) {
	var whole bytes.Buffer
	if err := otlpfile.NewWriter(&whole).Write(twoHops(1, time.Now())); err != nil {
		t.Fatal(err)
	}
	clientOnly := twoHops(2, time.Now())[1:2]
	tests := []struct {
		name string
		path string
		want string
	}{
		{"missing file", filepath.Join(t.TempDir(), "none.pb"), "no such file"},
		{"empty file", writeFile(t, "empty.pb", nil), "no spans"},
		{"truncated protobuf", writeFile(t, "cut.pb", whole.Bytes()[:whole.Len()/2]), "truncated"},
		{"no server spans", spanFile(t, clientOnly), "no server spans"},
		{"not OTLP", writeFile(t, "notes.txt", []byte("these are not spans\n")), "read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := Open(tt.path, Access{})
			if err == nil {
				_, _, err = Infer(context.Background(), src, infer.Options{})
			}
			var in *InputError
			if !errors.As(err, &in) {
				t.Fatalf("err = %v (%T), want an *InputError", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to say %q", err, tt.want)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	tests := []struct {
		from, want string
		bad        bool
	}{
		{"", "tracerig backend at http://127.0.0.1:4318", false},
		{"spans.pb", "spans.pb", false},
		{"-", "standard input", false},
		{"jaeger+http://127.0.0.1:16686/", "jaeger at http://127.0.0.1:16686", false},
		{"tempo+https://tempo.example:3200", "tempo at https://tempo.example:3200", false},
		{"zipkin+http://127.0.0.1:9411", "", true},
		{"jaeger+http://user:secret@127.0.0.1:16686", "", true},
	}
	for _, tt := range tests {
		src, err := Open(tt.from, Access{})
		if tt.bad {
			if err == nil {
				t.Errorf("Open(%q) = %v, want an error", tt.from, src)
			} else if strings.Contains(err.Error(), "secret") {
				t.Errorf("Open(%q) error shows the password: %v", tt.from, err)
			}
			continue
		}
		if err != nil || src.String() != tt.want {
			t.Errorf("Open(%q) = %v, %v; want %q", tt.from, src, err, tt.want)
		}
	}
}

// TestTempoSource reads the Tempo API's formats (fixtures/tempo/testdata).
func TestTempoSource(t *testing.T) {
	for _, file := range []string{"trace-v1.json", "trace-v2.json"} {
		t.Run(file, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/api/search":
					http.ServeFile(w, r, "../../fixtures/tempo/testdata/search.json")
				case "/api/traces/4bf92f3577b34da6a3ce929d0e0e4736":
					http.ServeFile(w, r, "../../fixtures/tempo/testdata/"+file)
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			// The recorded trace is from 2025-11-26: read back far enough.
			src, err := Open("tempo+"+srv.URL, Access{Window: time.Since(time.Unix(1764115200, 0)) + time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			res, st, err := Infer(context.Background(), src, infer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if st.Traces != 1 || len(res.Model.Entries) != 1 || res.Model.Entries[0].Route != "GET /checkout" {
				t.Errorf("read %+v, entries %+v; want the trace's GET /checkout", st, res.Model.Entries)
			}
		})
	}
}

// TestQueryAPIFails: a query API answering 500 is an error of the source,
// not of the input, and names the API.
func TestQueryAPIFails(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "storage unavailable", http.StatusInternalServerError)
	}))
	defer srv.Close()
	for _, kind := range []string{"jaeger", "tempo", "tracerig"} {
		src, err := Open(kind+"+"+srv.URL, Access{})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = Infer(context.Background(), src, infer.Options{})
		var in *InputError
		if err == nil || errors.As(err, &in) {
			t.Errorf("%s: err = %v, want an error of the source", kind, err)
			continue
		}
		if !strings.Contains(err.Error(), "500") && !strings.Contains(err.Error(), "storage unavailable") {
			t.Errorf("%s: err = %q, want the API's answer in it", kind, err)
		}
	}
}
