package otlpfile

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/tracerig/tracerig/internal/record"
)

// span returns a span of trace t numbered i, child of parent (0: a root).
func span(t, i, parent byte, service, instance string, kind record.Kind) record.Span {
	sp := record.Span{
		Trace:    record.TraceID{0xab, t, 15: t},
		ID:       record.SpanID{0xcd, t, 7: i},
		Start:    1_750_000_000_000_000_000 + int64(i)*1000,
		End:      1_750_000_000_000_000_000 + int64(i)*1000 + 500,
		Service:  service,
		Instance: instance,
		Name:     fmt.Sprintf("op %d", i),
		Kind:     kind,
	}
	if parent != 0 {
		sp.Parent = record.SpanID{0xcd, t, 7: parent}
	}
	return sp
}

// with returns sp changed by f.
func with(sp record.Span, f func(*record.Span)) record.Span {
	f(&sp)
	return sp
}

// roundTripCases are the span lists a Writer writes and Read reads back.
func roundTripCases() map[string][]record.Span {
	res := []record.Attr{{Key: "deployment.environment", Value: "test"}, {Key: record.RunIDKey, Value: "00112233aabbccdd"}}
	var kinds []record.Span
	for k := record.KindUnspecified; k <= record.KindConsumer; k++ {
		kinds = append(kinds, span(5, byte(k)+1, 0, "svc", "", k))
	}
	return map[string][]record.Span{
		"one root":   {span(1, 1, 0, "frontend", "frontend-0", record.KindServer)},
		"every kind": kinds,
		"every status": {
			with(span(6, 1, 0, "a", "a-0", record.KindServer), func(s *record.Span) { s.Status = record.StatusOK }),
			with(span(6, 2, 1, "a", "a-0", record.KindClient), func(s *record.Span) { s.Status = record.StatusError }),
			span(6, 3, 2, "b", "b-0", record.KindServer),
		},
		"attributes and trace state": {
			with(span(2, 1, 0, "checkout", "checkout-1", record.KindServer), func(s *record.Span) {
				s.Attrs = []record.Attr{{Key: "http.request.method", Value: "GET"}, {Key: "http.response.status_code", Value: "200"}, {Key: "empty", Value: ""}}
				s.TraceState = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
			}),
		},
		"resources": {
			with(span(3, 1, 0, "cart", "cart-0", record.KindServer), func(s *record.Span) { s.Resource = res }),
			with(span(3, 2, 1, "cart", "cart-1", record.KindClient), func(s *record.Span) { s.Resource = res }),
			with(span(3, 3, 2, "cart", "cart-0", record.KindInternal), func(s *record.Span) { s.Resource = res[:1] }),
			span(3, 4, 3, "cart", "cart-0", record.KindInternal),
			span(3, 5, 4, "", "", record.KindInternal),
		},
		"links": {
			with(span(4, 1, 0, "orders", "orders-0", record.KindConsumer), func(s *record.Span) {
				s.Links = []record.Link{{Trace: record.TraceID{9, 15: 9}, Span: record.SpanID{9, 7: 9}}, {Trace: record.TraceID{4}, Span: record.SpanID{1}}}
			}),
			with(span(4, 2, 1, "orders", "orders-0", record.KindProducer), func(s *record.Span) {
				s.Links = []record.Link{{Trace: record.TraceID{8, 15: 8}, Span: record.SpanID{8, 7: 8}}}
			}),
		},
	}
}

// readAll reads b, keeping copies of the spans.
func readAll(t *testing.T, b []byte) ([]record.Span, Stats) {
	t.Helper()
	var got []record.Span
	st, err := Read(bytes.NewReader(b), func(s *record.Span) error {
		got = append(got, *s)
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return got, st
}

// sameSpans fails t unless got holds want's spans: the order may differ
// across resources.
func sameSpans(t *testing.T, got, want []record.Span) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("read %d spans, want %d", len(got), len(want))
	}
	byID := make(map[record.SpanID]record.Span, len(got))
	for _, s := range got {
		byID[s.ID] = s
	}
	for _, w := range want {
		g, ok := byID[w.ID]
		if !ok {
			t.Errorf("span %s not read", w.ID)
			continue
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("span %s:\n got %+v\nwant %+v", w.ID, g, w)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for name, spans := range roundTripCases() {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWriter(&buf)
			if err := w.Write(spans); err != nil {
				t.Fatal(err)
			}
			got, st := readAll(t, buf.Bytes())
			sameSpans(t, got, spans)
			if st.Format != Protobuf || st.Spans != int64(len(spans)) || st.Requests != 1 {
				t.Errorf("stats = %+v", st)
			}
			if n, b := w.Written(); n != int64(len(spans)) || b != int64(buf.Len()) {
				t.Errorf("Written = %d spans, %d bytes; want %d, %d", n, b, len(spans), buf.Len())
			}
		})
	}
}

// TestConcatenated writes several requests into one file, which reads as
// the spans of all, and which OTLP's own unmarshaller takes as one request.
func TestConcatenated(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	var all []record.Span
	for _, spans := range roundTripCases() {
		if err := w.Write(spans); err != nil {
			t.Fatal(err)
		}
		all = append(all, spans...)
	}
	if err := w.Write(nil); err != nil {
		t.Fatal(err)
	}
	got, st := readAll(t, buf.Bytes())
	sameSpans(t, got, all)
	if st.Requests != 1 || st.Spans != int64(len(all)) || st.Resources < 6 {
		t.Errorf("stats = %+v", st)
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(buf.Bytes()); err != nil {
		t.Fatalf("the file is not one request: %v", err)
	}
	if n := req.Traces().SpanCount(); n != len(all) {
		t.Errorf("as one request: %d spans, want %d", n, len(all))
	}
}

// encodings returns spans written in each format Read takes.
func encodings(t *testing.T, batches [][]record.Span) map[string][]byte {
	t.Helper()
	var pb, lines bytes.Buffer
	w := NewWriter(&pb)
	var all []record.Span
	var m ptrace.JSONMarshaler
	for _, b := range batches {
		if err := w.Write(b); err != nil {
			t.Fatal(err)
		}
		j, err := m.MarshalTraces(traces(b))
		if err != nil {
			t.Fatal(err)
		}
		lines.Write(j)
		lines.WriteByte('\n')
		all = append(all, b...)
	}
	compact, err := m.MarshalTraces(traces(all))
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, compact, "", "  "); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{
		"protobuf":                pb.Bytes(),
		"json":                    compact,
		"pretty json":             pretty.Bytes(),
		"pretty json after blank": append([]byte("\n\n"), pretty.Bytes()...),
		"json lines":              lines.Bytes(),
		"json lines, blank lines": []byte("\n" + strings.ReplaceAll(lines.String(), "\n", "\r\n\n")),
	}
	for name, b := range map[string][]byte{"protobuf": pb.Bytes(), "pretty json": pretty.Bytes(), "json lines": lines.Bytes()} {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(b)
		zw.Close()
		out["gzip "+name] = z.Bytes()
	}
	return out
}

func TestFormats(t *testing.T) {
	var batches [][]record.Span
	var all []record.Span
	for _, b := range roundTripCases() {
		batches = append(batches, b)
		all = append(all, b...)
	}
	want := map[string]Format{"protobuf": Protobuf, "json": JSONLines, "pretty json": JSON, "json lines": JSONLines}
	for name, b := range encodings(t, batches) {
		t.Run(name, func(t *testing.T) {
			got, st := readAll(t, b)
			sameSpans(t, got, all)
			base := strings.TrimPrefix(name, "gzip ")
			base, _, _ = strings.Cut(base, ",")
			base = strings.TrimSuffix(base, " after blank")
			if st.Format != want[base] || st.Gzip != strings.HasPrefix(name, "gzip ") {
				t.Errorf("format %v gzip %v, want %v gzip %v", st.Format, st.Gzip, want[base], strings.HasPrefix(name, "gzip "))
			}
			if st.Format == JSONLines && base == "json lines" && st.Requests != int64(len(batches)) {
				t.Errorf("read %d lines, want %d", st.Requests, len(batches))
			}
		})
	}
}

// TestCollectorLines reads JSON lines as the Collector's file exporter
// writes them: attribute values of every type, OTLP's kind and status
// numbers, a scope of its own.
func TestCollectorLines(t *testing.T) {
	b := readFile(t, "testdata/collector.jsonl")
	got, st := readAll(t, b)
	if st.Format != JSONLines || st.Requests != 2 || st.Resources != 2 || st.Spans != 3 {
		t.Errorf("stats = %+v", st)
	}
	want := []record.Span{
		{
			Trace: record.TraceID{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c},
			ID:    record.SpanID{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74}, Start: 1544712660000000000, End: 1544712661000000000,
			Service: "frontend", Instance: "frontend-0", Name: "GET /", Kind: record.KindServer, Status: record.StatusError,
			Attrs:      []record.Attr{{Key: "http.response.status_code", Value: "500"}, {Key: "retry", Value: "true"}, {Key: "ratio", Value: "0.5"}, {Key: "tags", Value: `["a","b"]`}},
			Resource:   []record.Attr{{Key: "host.name", Value: "h1"}},
			TraceState: "k=v",
		},
		{
			Trace: record.TraceID{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c},
			ID:    record.SpanID{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x75}, Parent: record.SpanID{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74},
			Start: 1544712660100000000, End: 1544712660900000000,
			Service: "frontend", Instance: "frontend-0", Name: "GET cart", Kind: record.KindClient, Status: record.StatusOK,
			Resource: []record.Attr{{Key: "host.name", Value: "h1"}},
			Links:    []record.Link{{Trace: record.TraceID{0x01, 15: 0x02}, Span: record.SpanID{0x03, 7: 0x04}}},
		},
		{
			Trace: record.TraceID{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c},
			ID:    record.SpanID{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x76}, Parent: record.SpanID{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x75},
			Start: 1544712660200000000, End: 1544712660800000000,
			Service: "cart", Name: "GET /cart", Kind: record.KindServer,
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read\n%+v\nwant\n%+v", got, want)
	}
}

// TestStopsAtCallbackError returns fn's error as it is, after its span.
func TestStopsAtCallbackError(t *testing.T) {
	var buf bytes.Buffer
	if err := NewWriter(&buf).Write(roundTripCases()["every kind"]); err != nil {
		t.Fatal(err)
	}
	stop := fmt.Errorf("enough")
	n := 0
	st, err := Read(&buf, func(*record.Span) error {
		if n++; n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || st.Spans != 2 {
		t.Fatalf("err = %v after %d spans, want %v after 2", err, st.Spans, stop)
	}
}

// readFile returns the file's bytes.
func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
