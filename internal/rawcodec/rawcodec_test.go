package rawcodec

import (
	"bytes"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// split is data received in pieces, as gRPC may hand a large message.
func split(data []byte, at ...int) mem.BufferSlice {
	var s mem.BufferSlice
	prev := 0
	for _, i := range append(at, len(data)) {
		s = append(s, mem.SliceBuffer(data[prev:i]))
		prev = i
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	msg := []byte("an encoded message")
	tests := []struct {
		name string
		in   []int // where the received data is split
		recv func(mem.BufferSlice) ([]byte, error)
	}{
		{"bytes, one piece", nil, func(d mem.BufferSlice) ([]byte, error) {
			b := Bytes("stale content, longer than the message")
			err := Codec{}.Unmarshal(d, &b)
			return b, err
		}},
		{"bytes, three pieces", []int{3, 10}, func(d mem.BufferSlice) ([]byte, error) {
			var b Bytes
			err := Codec{}.Unmarshal(d, &b)
			return b, err
		}},
		{"buffer, three pieces", []int{3, 10}, func(d mem.BufferSlice) ([]byte, error) {
			var b Buffer
			err := Codec{}.Unmarshal(d, &b)
			defer b.Free()
			return bytes.Clone(b.Bytes()), err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.recv(split(msg, tt.in...))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, msg) {
				t.Errorf("received %q, want %q", got, msg)
			}
		})
	}
}

func TestMarshal(t *testing.T) {
	msg := []byte("an encoded message")
	pool := mem.DefaultBufferPool()
	tests := []struct {
		name string
		v    any
		want []byte
	}{
		{"bytes", (*Bytes)(&msg), msg},
		{"empty bytes", new(Bytes), nil},
		{"buffer", &Buffer{Buf: mem.Copy(msg, pool)}, msg},
		{"other message", wrapperspb.String("x"), []byte{0x0a, 0x01, 'x'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := Codec{}.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			got := data.Materialize()
			data.Free()
			if !bytes.Equal(got, tt.want) {
				t.Errorf("marshalled %q, want %q", got, tt.want)
			}
			if b, ok := tt.v.(*Buffer); ok {
				b.Free() // the caller's reference, after gRPC's
			}
		})
	}
}

func TestBufferEmpty(t *testing.T) {
	var b Buffer
	if b.Bytes() != nil {
		t.Error("an empty Buffer has bytes")
	}
	b.Free()
}
