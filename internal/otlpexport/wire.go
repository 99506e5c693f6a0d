package otlpexport

import (
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tracerig/tracerig/internal/pbwire"
)

// The fields of the messages the exporter writes, over protowire (and
// pbwire.AppendVarint, which appends one-byte tags and lengths inline):
// each append…Field helper writes a field's tag and value. A message whose
// length is only known once it is written is opened with room for its
// length and closed once its content is in place.

// maxLenBytes is the room reserved for a length that is only known once
// the message is written: five varint bytes hold any length below 32 GiB.
const maxLenBytes = 5

func appendStringField(b []byte, field protowire.Number, s string) []byte {
	b = pbwire.AppendVarint(b, protowire.EncodeTag(field, protowire.BytesType))
	b = pbwire.AppendVarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytesField(b []byte, field protowire.Number, v []byte) []byte {
	b = pbwire.AppendVarint(b, protowire.EncodeTag(field, protowire.BytesType))
	b = pbwire.AppendVarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendVarintField(b []byte, field protowire.Number, v uint64) []byte {
	b = pbwire.AppendVarint(b, protowire.EncodeTag(field, protowire.VarintType))
	return pbwire.AppendVarint(b, v)
}

func appendFixed64Field(b []byte, field protowire.Number, v uint64) []byte {
	b = pbwire.AppendVarint(b, protowire.EncodeTag(field, protowire.Fixed64Type))
	return protowire.AppendFixed64(b, v)
}

func appendFixed32Field(b []byte, field protowire.Number, v uint32) []byte {
	b = pbwire.AppendVarint(b, protowire.EncodeTag(field, protowire.Fixed32Type))
	return protowire.AppendFixed32(b, v)
}

// putVarint writes v at the start of b, which must have room for it.
func putVarint(b []byte, v uint64) {
	protowire.AppendVarint(b[:0], v)
}

// openMessage appends the tag of the length-delimited field and reserves
// reserve bytes for its length. It returns where the content starts, for
// closeMessage.
func openMessage(b []byte, field protowire.Number, reserve int) ([]byte, int) {
	b = pbwire.AppendVarint(b, protowire.EncodeTag(field, protowire.BytesType))
	for range reserve {
		b = append(b, 0)
	}
	return b, len(b)
}

// closeMessage writes the length of the content that started at start,
// reserve bytes after the tag, moving the content when its length takes
// more or fewer bytes than were reserved.
func closeMessage(b []byte, start, reserve int) []byte {
	n := len(b) - start
	k := protowire.SizeVarint(uint64(n))
	switch {
	case k > reserve:
		b = append(b, make([]byte, k-reserve)...)
		copy(b[start+k-reserve:], b[start:start+n])
	case k < reserve:
		copy(b[start-reserve+k:], b[start:start+n])
		b = b[:len(b)-(reserve-k)]
	}
	putVarint(b[start-reserve:], uint64(n))
	return b
}
