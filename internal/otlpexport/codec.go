package otlpexport

import (
	"errors"
	"fmt"
	"sync"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tracerig/tracerig/internal/rawcodec"
)

// A response is a decoded ExportTraceServiceResponse.
type response struct {
	rejectedSpans int64
	errorMessage  string
	scratch       []byte
}

var _ rawcodec.Unmarshaler = (*response)(nil)

// UnmarshalGRPC decodes the response gRPC received.
func (r *response) UnmarshalGRPC(data mem.BufferSlice) error {
	var b []byte
	if len(data) == 1 {
		b = data[0].ReadOnlyData()
	} else {
		b = r.scratch[:0]
		for _, d := range data {
			b = append(b, d.ReadOnlyData()...)
		}
		r.scratch = b
	}
	return r.decode(b)
}

var errMalformed = errors.New("malformed export response")

// decode decodes an ExportTraceServiceResponse, skipping unknown fields.
func (r *response) decode(b []byte) error {
	r.rejectedSpans, r.errorMessage = 0, ""
	return walkFields(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if num != fieldResponsePartialSuccess || typ != protowire.BytesType {
			return nil
		}
		return walkFields(v, func(num protowire.Number, typ protowire.Type, v []byte) error {
			switch {
			case num == fieldPartialSuccessRejectedSpans && typ == protowire.VarintType:
				x, _ := protowire.ConsumeVarint(v)
				r.rejectedSpans = int64(x)
			case num == fieldPartialSuccessErrorMessage && typ == protowire.BytesType:
				r.errorMessage = string(v)
			}
			return nil
		})
	})
}

// walkFields calls f with each field of the message b: for a
// length-delimited field v is its content, else its encoded value.
func walkFields(b []byte, f func(protowire.Number, protowire.Type, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errMalformed
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return errMalformed
		}
		v := b[:m]
		if typ == protowire.BytesType {
			var k int
			v, k = protowire.ConsumeBytes(v)
			if k < 0 {
				return errMalformed
			}
		}
		if err := f(num, typ, v); err != nil {
			return err
		}
		b = b[m:]
	}
	return nil
}

// partialSuccess is the error reported when the receiver accepted only
// some of the spans, worded as otlptracegrpc words it.
type partialSuccess struct {
	rejected int64
	message  string
}

func (p partialSuccess) Error() string {
	msg := p.message
	if msg == "" {
		msg = "empty message"
	}
	return fmt.Sprintf("OTLP partial success: %s (%d spans rejected)", msg, p.rejected)
}

// minBufferSize is the capacity of a new request buffer. It is above gRPC's
// pooling threshold, below which mem.NewBuffer would not give the buffer
// back.
const minBufferSize = 64 << 10

// maxPooledBufferSize is the capacity above which a request buffer is
// left to the garbage collector rather than kept for reuse.
const maxPooledBufferSize = 16 << 20

// bufferPool recycles request buffers. gRPC puts a buffer back when it has
// released the last reference to the request.
type bufferPool struct{ pool sync.Pool }

var buffers bufferPool

var _ mem.BufferPool = (*bufferPool)(nil)

// Get returns a buffer of length n.
func (p *bufferPool) Get(n int) *[]byte {
	if v, ok := p.pool.Get().(*[]byte); ok {
		if cap(*v) >= n {
			*v = (*v)[:n]
			return v
		}
	}
	b := make([]byte, n, max(n, minBufferSize))
	return &b
}

// Put makes b available to Get, unless it is unusually large.
func (p *bufferPool) Put(b *[]byte) {
	if cap(*b) > maxPooledBufferSize {
		return
	}
	p.pool.Put(b)
}
