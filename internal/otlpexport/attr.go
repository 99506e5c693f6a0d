package otlpexport

import (
	"math"

	"go.opentelemetry.io/otel/attribute"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tracerig/tracerig/internal/pbwire"
)

// invalidValue is what tracetransform writes for a value of a type it
// does not know.
const invalidValue = "INVALID"

// appendKeyValue appends kv as a KeyValue in field of the enclosing
// message. As in tracetransform, the value is always present, even when
// it is an empty AnyValue (attribute.EMPTY), and an empty key is omitted.
func appendKeyValue(b []byte, field protowire.Number, kv *attribute.KeyValue) []byte {
	switch kv.Value.Type() {
	case attribute.STRING:
		s := kv.Value.AsString()
		b = appendKeyValueHeader(b, field, kv.Key, protowire.SizeTag(fieldAnyValueString)+protowire.SizeBytes(len(s)))
		return appendStringField(b, fieldAnyValueString, s)
	case attribute.INT64:
		i := uint64(kv.Value.AsInt64())
		b = appendKeyValueHeader(b, field, kv.Key, protowire.SizeTag(fieldAnyValueInt)+protowire.SizeVarint(i))
		return appendVarintField(b, fieldAnyValueInt, i)
	case attribute.BOOL:
		b = appendKeyValueHeader(b, field, kv.Key, protowire.SizeTag(fieldAnyValueBool)+1)
		return appendBool(b, kv.Value.AsBool())
	case attribute.FLOAT64:
		b = appendKeyValueHeader(b, field, kv.Key, protowire.SizeTag(fieldAnyValueDouble)+8)
		return appendFixed64Field(b, fieldAnyValueDouble, math.Float64bits(kv.Value.AsFloat64()))
	case attribute.EMPTY:
		return appendKeyValueHeader(b, field, kv.Key, 0)
	default:
		return appendComplexKeyValue(b, field, kv)
	}
}

// appendKeyValueHeader appends the start of a KeyValue up to the content
// of its value, which is valueSize bytes long.
func appendKeyValueHeader(b []byte, field protowire.Number, key attribute.Key, valueSize int) []byte {
	size := protowire.SizeTag(fieldKeyValueValue) + protowire.SizeBytes(valueSize)
	if key != "" {
		size += protowire.SizeTag(fieldKeyValueKey) + protowire.SizeBytes(len(key))
	}
	b = pbwire.AppendVarint(b, protowire.EncodeTag(field, protowire.BytesType))
	b = pbwire.AppendVarint(b, uint64(size))
	if key != "" {
		b = appendStringField(b, fieldKeyValueKey, string(key))
	}
	b = pbwire.AppendVarint(b, protowire.EncodeTag(fieldKeyValueValue, protowire.BytesType))
	return pbwire.AppendVarint(b, uint64(valueSize))
}

// appendKeyValues appends every element of kvs as field.
func appendKeyValues(b []byte, field protowire.Number, kvs []attribute.KeyValue) []byte {
	for i := range kvs {
		b = appendKeyValue(b, field, &kvs[i])
	}
	return b
}

// appendAttributeSet appends the attributes of set, in its (sorted)
// order, as field.
func appendAttributeSet(b []byte, field protowire.Number, set *attribute.Set) []byte {
	it := set.Iter()
	for it.Next() {
		kv := it.Attribute()
		b = appendKeyValue(b, field, &kv)
	}
	return b
}

func appendBool(b []byte, v bool) []byte {
	var x uint64
	if v {
		x = 1
	}
	return appendVarintField(b, fieldAnyValueBool, x)
}

// appendComplexKeyValue appends a KeyValue whose value is a slice, a map,
// or of an unknown type, writing the lengths once the content is written.
func appendComplexKeyValue(b []byte, field protowire.Number, kv *attribute.KeyValue) []byte {
	b, start := openMessage(b, field, 1)
	if kv.Key != "" {
		b = appendStringField(b, fieldKeyValueKey, string(kv.Key))
	}
	b, value := openMessage(b, fieldKeyValueValue, 1)
	b = appendValue(b, kv.Value)
	b = closeMessage(b, value, 1)
	return closeMessage(b, start, 1)
}

// appendValue appends the content of the AnyValue of v, of any type.
func appendValue(b []byte, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.BOOLSLICE:
		b, start := openMessage(b, fieldAnyValueArray, 1)
		for _, x := range v.AsBoolSlice() {
			b = protowire.AppendTag(b, fieldArrayValueValues, protowire.BytesType)
			b = append(b, byte(protowire.SizeTag(fieldAnyValueBool)+1))
			b = appendBool(b, x)
		}
		return closeMessage(b, start, 1)
	case attribute.INT64SLICE:
		b, start := openMessage(b, fieldAnyValueArray, 1)
		for _, x := range v.AsInt64Slice() {
			b = protowire.AppendTag(b, fieldArrayValueValues, protowire.BytesType)
			b = pbwire.AppendVarint(b, uint64(protowire.SizeTag(fieldAnyValueInt)+protowire.SizeVarint(uint64(x))))
			b = appendVarintField(b, fieldAnyValueInt, uint64(x))
		}
		return closeMessage(b, start, 1)
	case attribute.FLOAT64SLICE:
		b, start := openMessage(b, fieldAnyValueArray, 1)
		for _, x := range v.AsFloat64Slice() {
			b = protowire.AppendTag(b, fieldArrayValueValues, protowire.BytesType)
			b = append(b, byte(protowire.SizeTag(fieldAnyValueDouble)+8))
			b = appendFixed64Field(b, fieldAnyValueDouble, math.Float64bits(x))
		}
		return closeMessage(b, start, 1)
	case attribute.STRINGSLICE:
		b, start := openMessage(b, fieldAnyValueArray, 1)
		for _, x := range v.AsStringSlice() {
			b = protowire.AppendTag(b, fieldArrayValueValues, protowire.BytesType)
			b = pbwire.AppendVarint(b, uint64(protowire.SizeTag(fieldAnyValueString)+protowire.SizeBytes(len(x))))
			b = appendStringField(b, fieldAnyValueString, x)
		}
		return closeMessage(b, start, 1)
	case attribute.BYTESLICE:
		return appendBytesField(b, fieldAnyValueBytes, v.AsByteSlice())
	case attribute.SLICE:
		b, start := openMessage(b, fieldAnyValueArray, 1)
		for _, x := range v.AsSlice() {
			var elem int
			b, elem = openMessage(b, fieldArrayValueValues, 1)
			b = appendValue(b, x)
			b = closeMessage(b, elem, 1)
		}
		return closeMessage(b, start, 1)
	case attribute.MAP:
		b, start := openMessage(b, fieldAnyValueKvlist, 1)
		b = appendKeyValues(b, fieldKeyValueListValues, v.AsMap())
		return closeMessage(b, start, 1)
	case attribute.STRING:
		return appendStringField(b, fieldAnyValueString, v.AsString())
	case attribute.INT64:
		return appendVarintField(b, fieldAnyValueInt, uint64(v.AsInt64()))
	case attribute.BOOL:
		return appendBool(b, v.AsBool())
	case attribute.FLOAT64:
		return appendFixed64Field(b, fieldAnyValueDouble, math.Float64bits(v.AsFloat64()))
	case attribute.EMPTY:
		return b
	default:
		return appendStringField(b, fieldAnyValueString, invalidValue)
	}
}
