package otlpexport

import (
	"encoding/binary"
	"math/bits"
)

// Protobuf wire types.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

// maxLenBytes is the room reserved for a length that is only known once
// the message is written: five varint bytes hold any length below 32 GiB.
const maxLenBytes = 5

func appendVarint(b []byte, v uint64) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	return appendLongVarint(b, v)
}

func appendLongVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// putVarint writes v at the start of b, which must have room for it, and
// returns the number of bytes written.
func putVarint(b []byte, v uint64) int {
	i := 0
	for v >= 0x80 {
		b[i] = byte(v) | 0x80
		v >>= 7
		i++
	}
	b[i] = byte(v)
	return i + 1
}

// sizeVarint is the length of the varint encoding of v.
func sizeVarint(v uint64) int {
	return (bits.Len64(v|1) + 6) / 7
}

func appendTag(b []byte, field, wire int) []byte {
	return appendVarint(b, uint64(field)<<3|uint64(wire))
}

// sizeTag is the length of the tag of field.
func sizeTag(field int) int {
	return sizeVarint(uint64(field) << 3)
}

// sizeBytesField is the length of a length-delimited field whose content
// is n bytes long.
func sizeBytesField(field, n int) int {
	return sizeTag(field) + sizeVarint(uint64(n)) + n
}

func appendStringField(b []byte, field int, s string) []byte {
	b = appendTag(b, field, wireBytes)
	b = appendVarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytesField(b []byte, field int, v []byte) []byte {
	b = appendTag(b, field, wireBytes)
	b = appendVarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendVarintField(b []byte, field int, v uint64) []byte {
	b = appendTag(b, field, wireVarint)
	return appendVarint(b, v)
}

func appendFixed64Field(b []byte, field int, v uint64) []byte {
	b = appendTag(b, field, wireFixed64)
	return binary.LittleEndian.AppendUint64(b, v)
}

func appendFixed32Field(b []byte, field int, v uint32) []byte {
	b = appendTag(b, field, wireFixed32)
	return binary.LittleEndian.AppendUint32(b, v)
}

// openMessage appends the tag of the length-delimited field and reserves
// reserve bytes for its length. It returns where the content starts, for
// closeMessage.
func openMessage(b []byte, field, reserve int) ([]byte, int) {
	b = appendTag(b, field, wireBytes)
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
	k := sizeVarint(uint64(n))
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
