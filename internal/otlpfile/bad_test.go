package otlpfile

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/tracerig/tracerig/internal/record"
)

var update = flag.Bool("update", false, "rewrite the generated testdata files")

// TestBadInputs reads each bad file of testdata and requires the error to
// start as the table says: what went wrong and where.
func TestBadInputs(t *testing.T) {
	if *update {
		writeTruncated(t)
	}
	for _, tc := range []struct{ file, want string }{
		{"empty.bad", "no spans: the input is empty"},
		{"blank.bad", "no spans: the input holds only white space"},
		{"garbage.bad", `not OTLP trace data at byte 0: want OTLP protobuf, OTLP/JSON or JSON lines, found "hello, this is n"`},
		{"truncated.bad.pb", "otlp protobuf: truncated at byte 376: resource spans of 155 bytes at byte 223 is cut short"},
		{"truncated.bad.pb.gz", "otlp protobuf: truncated at byte 376: resource spans of 155 bytes at byte 223 is cut short"},
		{"line3.bad.jsonl", "otlp json lines: line 3: "},
		{"lengthprefixed.bad.pb", "not OTLP trace data at byte 0: length-prefixed protobuf messages, as the Collector's file exporter writes with format: proto, are not read"},
		{"nospans.bad.pb", "otlp protobuf: no spans in the input: 1 requests, 2 resources"},
		{"nospans.bad.jsonl", "otlp json lines: no spans in the input: 2 requests, 1 resources"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			n := 0
			_, err := Read(bytes.NewReader(readFile(t, "testdata/"+tc.file)), func(*record.Span) error {
				n++
				return nil
			})
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant it to start %q", err, tc.want)
			}
			t.Logf("%s after %d spans", err, n)
		})
	}
}

// writeTruncated writes a protobuf file of two resources cut short in the
// second, plain and gzipped, and the same file whole, length-prefixed.
func writeTruncated(t *testing.T) {
	var buf bytes.Buffer
	if err := NewWriter(&buf).Write(roundTripCases()["every status"]); err != nil {
		t.Fatal(err)
	}
	cut := buf.Bytes()[:buf.Len()-5]
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(cut)
	zw.Close()
	// The Collector's file exporter with format: proto puts each message's
	// length before it, in four bytes, big-endian.
	prefixed := binary.BigEndian.AppendUint32(nil, uint32(buf.Len()))
	prefixed = append(prefixed, buf.Bytes()...)
	for name, b := range map[string][]byte{"truncated.bad.pb": cut, "truncated.bad.pb.gz": z.Bytes(), "lengthprefixed.bad.pb": prefixed} {
		if err := os.WriteFile("testdata/"+name, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
