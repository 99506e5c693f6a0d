package otlpfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracerig/tracerig/internal/record"
)

// readJSON reads OTLP/JSON or JSON lines from br, whose first byte other
// than white space opens an object. The first line that is not blank
// tells them apart: an object whole on it starts JSON lines (one object
// alone, on one line, reads the same either way); else the input is one
// object over many lines.
func readJSON(br *bufio.Reader, fn func(*record.Span) error, st *Stats) error {
	var un ptrace.JSONUnmarshaler
	var line []byte
	var err error
	first := true
	for n := 1; err == nil; n++ {
		line, err = readLine(br, line)
		if err != nil && err != io.EOF {
			return fmt.Errorf("%s: line %d: %w", JSONLines, n, err)
		}
		text := bytes.TrimSpace(line)
		if len(text) == 0 {
			continue
		}
		if first && !json.Valid(text) {
			return readWhole(br, line, un, fn, st)
		}
		first = false
		st.Format = JSONLines
		td, uerr := un.UnmarshalTraces(text)
		if uerr != nil {
			return fmt.Errorf("%s: line %d: %w", JSONLines, n, uerr)
		}
		st.Requests++
		if cerr := st.take(td, fn); cerr != nil {
			return cerr
		}
	}
	return nil
}

// readWhole reads one OTLP/JSON object: head, then the rest of br.
func readWhole(br *bufio.Reader, head []byte, un ptrace.JSONUnmarshaler, fn func(*record.Span) error, st *Stats) error {
	rest, err := io.ReadAll(br)
	if err != nil {
		return fmt.Errorf("%s: read: %w", JSON, err)
	}
	td, err := un.UnmarshalTraces(append(head, rest...))
	if err != nil {
		return fmt.Errorf("%s: %w", JSON, err)
	}
	st.Format, st.Requests = JSON, 1
	return st.take(td, fn)
}

// take calls fn with the spans of td, counting them.
func (st *Stats) take(td ptrace.Traces, fn func(*record.Span) error) error {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		st.Resources++
		n, err := spansOf(rss.At(i), fn)
		st.Spans += n
		if err != nil {
			return err
		}
	}
	return nil
}

// readLine reads the next line into buf, its line feed included; io.EOF
// with the last line when it has none.
func readLine(br *bufio.Reader, buf []byte) ([]byte, error) {
	buf = buf[:0]
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if err != bufio.ErrBufferFull {
			return buf, err
		}
	}
}
