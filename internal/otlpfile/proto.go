package otlpfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tracerig/tracerig/internal/record"
)

// readChunk is the most a protobuf read grows its buffer by before the
// bytes arrive, so that a length cut short or garbled costs no more memory
// than the input holds.
const readChunk = 1 << 20

// protoReader reads an ExportTraceServiceRequest one top-level field at a
// time, keeping the offset for errors.
type protoReader struct {
	r   *bufio.Reader
	off int64  // bytes read
	buf []byte // the request of one ResourceSpans being read
	un  ptrace.ProtoUnmarshaler
}

// readProto reads protobuf from br: each ResourceSpans (field 1) is
// unmarshalled alone, as a request holding only it; other fields are
// skipped, as protobuf skips fields it does not know.
func readProto(br *bufio.Reader, fn func(*record.Span) error, st *Stats) error {
	p := &protoReader{r: br}
	st.Requests = 1
	for {
		start := p.off
		p.buf = p.buf[:0]
		tag, err := p.varint()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return p.fail(start, "a field's tag", err)
		}
		num, typ := protowire.DecodeTag(tag)
		if num != 1 || typ != protowire.BytesType {
			if err := p.skip(start, num, typ); err != nil {
				return err
			}
			continue
		}
		if err := p.resourceSpans(start, fn, st); err != nil {
			return err
		}
	}
}

// resourceSpans reads the ResourceSpans whose tag, at start, has been read,
// and calls fn with its spans.
func (p *protoReader) resourceSpans(start int64, fn func(*record.Span) error, st *Stats) error {
	size, err := p.varint()
	if err != nil {
		return p.fail(start, "the length of resource spans", err)
	}
	if err := p.read(size); err != nil {
		return p.fail(start, fmt.Sprintf("resource spans of %d bytes", size), err)
	}
	td, err := p.un.UnmarshalTraces(p.buf)
	if err != nil {
		return fmt.Errorf("%s: resource spans at byte %d: %w", Protobuf, start, err)
	}
	return st.take(td, fn)
}

// skip reads past a field other than resource_spans whose tag, at start,
// has been read.
func (p *protoReader) skip(start int64, num protowire.Number, typ protowire.Type) error {
	var n uint64
	switch typ {
	case protowire.VarintType:
		_, err := p.varint()
		return p.fail(start, fmt.Sprintf("field %d", num), err)
	case protowire.Fixed32Type:
		n = 4
	case protowire.Fixed64Type:
		n = 8
	case protowire.BytesType:
		size, err := p.varint()
		if err != nil {
			return p.fail(start, fmt.Sprintf("the length of field %d", num), err)
		}
		n = size
	default:
		return fmt.Errorf("%s: not an ExportTraceServiceRequest at byte %d: field %d of wire type %d", Protobuf, start, num, typ)
	}
	m, err := p.r.Discard(int(min(n, 1<<62)))
	p.off += int64(m)
	return p.fail(start, fmt.Sprintf("field %d of %d bytes", num, n), err)
}

// varint reads a varint, appending it to p.buf. It returns io.EOF only at
// the end of the input before the varint's first byte.
func (p *protoReader) varint() (uint64, error) {
	var v uint64
	for i := 0; ; i++ {
		c, err := p.r.ReadByte()
		if err == io.EOF && i > 0 {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return 0, err
		}
		p.off++
		p.buf = append(p.buf, c)
		if i == maxVarint-1 && c > 1 {
			return 0, errors.New("varint overflows 64 bits")
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, nil
		}
	}
}

// read appends the next n bytes to p.buf.
func (p *protoReader) read(n uint64) error {
	for n > 0 {
		k := int(min(n, readChunk))
		have := len(p.buf)
		p.buf = slices.Grow(p.buf, k)[:have+k]
		got, err := io.ReadFull(p.r, p.buf[have:])
		p.off += int64(got)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
		n -= uint64(k)
	}
	return nil
}

// fail says what went wrong reading what, at start; nil for a nil err.
func (p *protoReader) fail(start int64, what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fmt.Errorf("%s: truncated at byte %d: %s at byte %d is cut short", Protobuf, p.off, what, start)
	}
	return fmt.Errorf("%s: %s at byte %d: %w", Protobuf, what, start, err)
}
