// Package rawcodec is the gRPC codec of messages that tracerig encodes and
// decodes itself: the OTLP requests its exporters write byte by byte, the
// requests its embedded backend decodes from the wire, and the responses
// in between. gRPC sends and receives their bytes as they are.
package rawcodec

import (
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
)

// TraceExportMethod is the full name of OTLP/gRPC's trace export method,
// which every sender and the embedded backend speak.
const TraceExportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// Name is the codec's name, that of gRPC's protobuf codec, so that calls
// carry the content type application/grpc+proto.
const Name = proto.Name

// protoCodec is gRPC's protobuf codec, which its package registers.
var protoCodec = encoding.GetCodecV2(proto.Name)

// A Marshaler is a message that gives gRPC its own encoding.
type Marshaler interface {
	// MarshalGRPC returns the encoded message. gRPC frees each buffer
	// once it has written it.
	MarshalGRPC() (mem.BufferSlice, error)
}

// An Unmarshaler is a message that decodes itself from what gRPC
// received.
type Unmarshaler interface {
	// UnmarshalGRPC decodes data, which gRPC frees once it returns.
	UnmarshalGRPC(data mem.BufferSlice) error
}

// Codec is a gRPC codec for Marshalers and Unmarshalers; it leaves any
// other message to gRPC's protobuf codec. Use it with grpc.ForceCodecV2
// or grpc.ForceServerCodecV2.
type Codec struct{}

var _ encoding.CodecV2 = Codec{}

// Marshal encodes v.
func (Codec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(Marshaler); ok {
		return m.MarshalGRPC()
	}
	return protoCodec.Marshal(v)
}

// Unmarshal decodes data into v.
func (Codec) Unmarshal(data mem.BufferSlice, v any) error {
	if u, ok := v.(Unmarshaler); ok {
		return u.UnmarshalGRPC(data)
	}
	return protoCodec.Unmarshal(data, v)
}

// Name returns Name.
func (Codec) Name() string { return Name }

// Bytes is an encoded message in a slice: sent as it is, received into
// the slice's space.
type Bytes []byte

var (
	_ Marshaler   = (*Bytes)(nil)
	_ Unmarshaler = (*Bytes)(nil)
)

// MarshalGRPC returns the message's bytes, which gRPC does not free.
func (b *Bytes) MarshalGRPC() (mem.BufferSlice, error) {
	if len(*b) == 0 {
		return nil, nil
	}
	return mem.BufferSlice{mem.SliceBuffer(*b)}, nil
}

// UnmarshalGRPC copies data into b, reusing its space.
func (b *Bytes) UnmarshalGRPC(data mem.BufferSlice) error {
	out := (*b)[:0]
	for _, d := range data {
		out = append(out, d.ReadOnlyData()...)
	}
	*b = out
	return nil
}

// Buffer is an encoded message in a reference-counted buffer, typically
// one of a mem.BufferPool: a request sent on gRPC's own time, which may
// be after the call returns, or received without a copy of its own.
type Buffer struct {
	Buf mem.Buffer
}

var (
	_ Marshaler   = (*Buffer)(nil)
	_ Unmarshaler = (*Buffer)(nil)
)

// MarshalGRPC takes a reference to the buffer, which gRPC releases once
// it has written the message.
func (b *Buffer) MarshalGRPC() (mem.BufferSlice, error) {
	b.Buf.Ref()
	return mem.BufferSlice{b.Buf}, nil
}

// UnmarshalGRPC keeps data in one buffer of gRPC's default pool, which
// Free gives back.
func (b *Buffer) UnmarshalGRPC(data mem.BufferSlice) error {
	b.Buf = data.MaterializeToBuffer(mem.DefaultBufferPool())
	return nil
}

// Bytes returns the message; nil when there is none.
func (b *Buffer) Bytes() []byte {
	if b.Buf == nil {
		return nil
	}
	return b.Buf.ReadOnlyData()
}

// Free releases the buffer.
func (b *Buffer) Free() {
	if b.Buf != nil {
		b.Buf.Free()
		b.Buf = nil
	}
}
