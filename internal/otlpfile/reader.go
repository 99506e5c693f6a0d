package otlpfile

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tracerig/tracerig/internal/record"
)

// Format is a format of OTLP trace files.
type Format uint8

// The formats Read detects.
const (
	// Protobuf is OTLP protobuf: one ExportTraceServiceRequest, or several
	// concatenated, which are one.
	Protobuf Format = iota + 1
	// JSON is OTLP/JSON: one ExportTraceServiceRequest object.
	JSON
	// JSONLines is one TracesData JSON object a line, as the Collector's
	// file exporter writes them.
	JSONLines
)

// String names the format as errors do.
func (f Format) String() string {
	switch f {
	case Protobuf:
		return "otlp protobuf"
	case JSON:
		return "otlp json"
	case JSONLines:
		return "otlp json lines"
	}
	return "unknown format"
}

// Stats says what Read read.
type Stats struct {
	// Format is the format detected.
	Format Format
	// Gzip reports whether the input was gzip-compressed.
	Gzip bool
	// Spans and Resources count the spans and the ResourceSpans read.
	Spans, Resources int64
	// Requests counts the requests read: the lines of JSON lines, one for
	// a JSON object, and one for protobuf however many writes made it (see
	// Writer).
	Requests int64
}

// peekSize is how much of the input format detection looks at, and the
// size of the read buffer.
const peekSize = 64 << 10

// Read reads OTLP trace data from r in any of the formats the package
// doc names, gzip-compressed or not, and calls fn with each span, in the
// order of the input. fn's span is reused for the next: fn copies *s to
// keep it. The slices a span holds are not reused; the spans of one
// resource share Resource, which must not be changed. An error from fn
// stops the read and is returned as it is. Input that holds no span is an
// error.
func Read(r io.Reader, fn func(*record.Span) error) (Stats, error) {
	var st Stats
	br := bufio.NewReaderSize(r, peekSize)
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return st, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		st.Gzip = true
		br = bufio.NewReaderSize(zr, peekSize)
	}
	f, err := detect(br)
	if err != nil {
		return st, err
	}
	st.Format = f
	switch f {
	case Protobuf:
		err = readProto(br, fn, &st)
	default:
		err = readJSON(br, fn, &st)
	}
	if err != nil {
		return st, err
	}
	if st.Spans == 0 {
		return st, fmt.Errorf("%s: no spans in the input: %d requests, %d resources", st.Format, st.Requests, st.Resources)
	}
	return st, nil
}

// detect tells the format from the start of the input: protobuf when it
// starts as an ExportTraceServiceRequest does (see looksProto), else JSON
// when its first byte other than white space opens an object. JSON and
// JSON lines are told apart as they are read (readJSON).
func detect(br *bufio.Reader) (Format, error) {
	head, err := br.Peek(peekSize)
	if len(head) == 0 {
		if err != nil && err != io.EOF {
			return 0, fmt.Errorf("read: %w", err)
		}
		return 0, fmt.Errorf("no spans: the input is empty")
	}
	if looksProto(head) {
		return Protobuf, nil
	}
	if len(head) > 4 && looksProto(head[4:]) {
		return 0, fmt.Errorf("not OTLP trace data at byte 0: length-prefixed protobuf messages, as the Collector's file exporter writes with format: proto, are not read; export with format: json")
	}
	for i, c := range head {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return JSON, nil
		}
		return 0, fmt.Errorf("not OTLP trace data at byte %d: want OTLP protobuf, OTLP/JSON or JSON lines, found %q", i, head[i:min(len(head), i+16)])
	}
	if len(head) < peekSize {
		return 0, fmt.Errorf("no spans: the input holds only white space")
	}
	return 0, fmt.Errorf("not OTLP trace data: over %d bytes of white space", peekSize)
}

// resourceSpansFields are the fields of a ResourceSpans message, all
// length-delimited: resource, scope_spans, schema_url, and the deprecated
// instrumentation_library_spans.
var resourceSpansFields = map[protowire.Number]bool{1: true, 2: true, 3: true, 1000: true}

// looksProto reports whether head, the start of the input, reads as an
// ExportTraceServiceRequest: field 1 (resource_spans), length-delimited,
// whose fields, as far as head goes, are those of a ResourceSpans. A line
// feed, which may start a JSON file, is the tag of field 1 too, so the
// fields inside tell.
func looksProto(head []byte) bool {
	num, typ, n := protowire.ConsumeTag(head)
	if n < 0 || num != 1 || typ != protowire.BytesType {
		return false
	}
	size, m := protowire.ConsumeVarint(head[n:])
	if m < 0 {
		return false
	}
	msg := head[n+m:]
	whole := size <= uint64(len(msg)) // the message ends within head
	if whole {
		msg = msg[:size]
	}
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return !whole && len(msg) < maxVarint // a tag cut by the end of head
		}
		if !resourceSpansFields[num] || typ != protowire.BytesType {
			return false
		}
		size, m := protowire.ConsumeVarint(msg[n:])
		if m < 0 {
			return !whole && len(msg[n:]) < maxVarint
		}
		rest := msg[n+m:]
		if size > uint64(len(rest)) {
			return !whole // goes on past head
		}
		msg = rest[size:]
	}
	return true
}

// maxVarint is the length of the longest varint.
const maxVarint = 10
