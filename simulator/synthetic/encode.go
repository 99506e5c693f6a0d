package synthetic

import (
	"math/bits"
	"math/rand/v2"
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tracerig/tracerig/internal/pbwire"
)

// The hot path writes OTLP protobuf (ExportTraceServiceRequest) directly:
// building pdata costs about 1.1 µs and 8–9 allocations per span and
// marshalling it another 0.35–0.45 µs, while appending the wire bytes,
// with every constant attribute set encoded once at New, costs a small
// fraction of that and allocates nothing once the buffers have grown.
// The pdata Builder (NewBuilder) stays as the reference: the tests decode
// what NewEncoder writes and compare it with it.

// NewEncoder returns a Builder that writes protobuf: Begin, Add..., then
// Bytes for the encoded ExportTraceServiceRequest. Traces is not available.
func (g *Generator) NewEncoder() *Builder {
	b := &Builder{g: g, mode: modeProto, stride: 1, acc: g.newAccs(nil)}
	b.rng = rand.New(&b.pcg)
	return b
}

// Bytes returns the encoded ExportTraceServiceRequest of the current batch
// of an encoder. The slice is reused by the next Begin.
func (b *Builder) Bytes() []byte { return b.pb.finish(b.g) }

// tag is the one-byte tag of field (1 to 15) of type typ.
func tag(field protowire.Number, typ protowire.Type) byte {
	return byte(protowire.EncodeTag(field, typ))
}

func appendString(dst []byte, field protowire.Number, s string) []byte {
	dst = append(dst, tag(field, protowire.BytesType))
	dst = pbwire.AppendVarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// appendKV appends one KeyValue as field `field` of its container.
func appendKV(dst []byte, field protowire.Number, a attr) []byte {
	// AnyValue: string_value = 1, int_value = 3.
	var anyLen int
	if a.isInt {
		anyLen = protowire.SizeTag(3) + protowire.SizeVarint(uint64(a.num))
	} else {
		anyLen = protowire.SizeTag(1) + protowire.SizeBytes(len(a.str))
	}
	kvLen := protowire.SizeTag(1) + protowire.SizeBytes(len(a.key)) + protowire.SizeTag(2) + protowire.SizeBytes(anyLen)
	dst = append(dst, tag(field, protowire.BytesType))
	dst = pbwire.AppendVarint(dst, uint64(kvLen))
	dst = appendString(dst, 1, a.key)
	dst = append(dst, tag(2, protowire.BytesType))
	dst = pbwire.AppendVarint(dst, uint64(anyLen))
	if a.isInt {
		dst = append(dst, tag(3, protowire.VarintType))
		return pbwire.AppendVarint(dst, uint64(a.num))
	}
	return appendString(dst, 1, a.str)
}

// appendKVHex appends one KeyValue whose value is v as a hex string, as
// field `field` of its container, without allocating.
func appendKVHex(dst []byte, field protowire.Number, key string, v uint64) []byte {
	n := max(1, (bits.Len64(v)+3)/4)
	anyLen := protowire.SizeTag(1) + protowire.SizeBytes(n)
	kvLen := protowire.SizeTag(1) + protowire.SizeBytes(len(key)) + protowire.SizeTag(2) + protowire.SizeBytes(anyLen)
	dst = append(dst, tag(field, protowire.BytesType))
	dst = pbwire.AppendVarint(dst, uint64(kvLen))
	dst = appendString(dst, 1, key)
	dst = append(dst, tag(2, protowire.BytesType))
	dst = pbwire.AppendVarint(dst, uint64(anyLen))
	dst = append(dst, tag(1, protowire.BytesType), byte(n))
	dst = slices.Grow(dst, n)
	digits := dst[len(dst) : len(dst)+n]
	for i := n - 1; i >= 0; i-- {
		digits[i] = hexDigits[v&15]
		v >>= 4
	}
	return dst[:len(dst)+n]
}

const hexDigits = "0123456789abcdef"

func encodeAttrs(dst []byte, field protowire.Number, as []attr) []byte {
	for _, a := range as {
		dst = appendKV(dst, field, a)
	}
	return dst
}

// encodeResource encodes r as ResourceSpans.resource (field 1).
func encodeResource(r pcommon.Resource) []byte {
	var body []byte
	for k, v := range r.Attributes().All() {
		body = appendKV(body, 1, attr{key: k, str: v.Str()})
	}
	return protowire.AppendBytes([]byte{tag(1, protowire.BytesType)}, body)
}

// scopeEnc is ScopeSpans.scope (field 1): InstrumentationScope{name}.
var scopeEnc = func() []byte {
	body := appendString(nil, 1, ScopeName)
	return protowire.AppendBytes([]byte{tag(1, protowire.BytesType)}, body)
}()

// protoBatch holds the encoded spans of one batch, per resource.
type protoBatch struct {
	spans   [][]byte // per resource: ScopeSpans.spans fields
	used    []int    // resources with spans, in first-use order
	scratch []byte
	out     []byte
}

func (p *protoBatch) begin(resources int) {
	if len(p.spans) < resources {
		p.spans = make([][]byte, resources)
	}
	for _, r := range p.used {
		p.spans[r] = p.spans[r][:0]
	}
	p.used = p.used[:0]
}

func (p *protoBatch) span(res int, tid pcommon.TraceID, id, parent [8]byte, name string, kind ptrace.SpanKind,
	start, end int64, enc []byte, grpc bool, code int64, failed bool) {
	s := p.head(tid, id, parent, name, kind, start, end)
	s = append(s, enc...)
	key := keyHTTPStatus
	if grpc {
		key = keyGRPCStatus
	}
	s = appendKV(s, 9, attr{key: key, num: code, isInt: true})
	if failed {
		s = appendStatus(s)
	}
	p.add(res, s)
}

// msgSpan adds a messaging span: shape's attributes, then a, then a link
// to each of links.
func (p *protoBatch) msgSpan(res int, tid pcommon.TraceID, id, parent [8]byte, shape *msgShape,
	start, end int64, a msgAttr, links []link, failed bool) {
	s := p.head(tid, id, parent, shape.name, shape.kind, start, end)
	s = append(s, shape.enc...)
	if a.isHex {
		s = appendKVHex(s, 9, a.key, a.num)
	} else {
		s = appendKV(s, 9, attr{key: a.key, num: int64(a.num), isInt: true})
	}
	for i := range links {
		// Span.links (13): Link{trace_id (1), span_id (2)}.
		s = append(s, tag(13, protowire.BytesType), linkLen, tag(1, protowire.BytesType), 16)
		s = append(s, links[i].trace[:]...)
		s = append(s, tag(2, protowire.BytesType), 8)
		s = append(s, links[i].span[:]...)
	}
	if failed {
		s = appendStatus(s)
	}
	p.add(res, s)
}

// linkLen is the length of an encoded Span.Link with a trace and a span ID.
const linkLen = 2 + 16 + 2 + 8

// head starts a span in the scratch buffer: its IDs, name, kind and times.
func (p *protoBatch) head(tid pcommon.TraceID, id, parent [8]byte, name string, kind ptrace.SpanKind, start, end int64) []byte {
	s := p.scratch[:0]
	s = append(s, tag(1, protowire.BytesType), 16)
	s = append(s, tid[:]...)
	s = append(s, tag(2, protowire.BytesType), 8)
	s = append(s, id[:]...)
	if parent != ([8]byte{}) {
		s = append(s, tag(4, protowire.BytesType), 8)
		s = append(s, parent[:]...)
	}
	s = appendString(s, 5, name)
	s = append(s, tag(6, protowire.VarintType), byte(kind))
	s = append(s, tag(7, protowire.Fixed64Type))
	s = protowire.AppendFixed64(s, uint64(start))
	s = append(s, tag(8, protowire.Fixed64Type))
	return protowire.AppendFixed64(s, uint64(end))
}

// appendStatus appends Status{code: STATUS_CODE_ERROR (2)} as field 15.
func appendStatus(s []byte) []byte {
	return append(s, tag(15, protowire.BytesType), 2, tag(3, protowire.VarintType), 2)
}

// add appends the span encoded in s, the scratch buffer, to resource
// res's spans.
func (p *protoBatch) add(res int, s []byte) {
	p.scratch = s
	buf := p.spans[res]
	if len(buf) == 0 {
		p.used = append(p.used, res)
	}
	buf = append(buf, tag(2, protowire.BytesType))
	buf = pbwire.AppendVarint(buf, uint64(len(s)))
	p.spans[res] = append(buf, s...)
}

// finish assembles the ExportTraceServiceRequest.
func (p *protoBatch) finish(g *Generator) []byte {
	out := p.out[:0]
	for _, r := range p.used {
		ssLen := len(scopeEnc) + len(p.spans[r])
		rsLen := len(g.resEnc[r]) + protowire.SizeTag(2) + protowire.SizeBytes(ssLen)
		out = append(out, tag(1, protowire.BytesType))
		out = pbwire.AppendVarint(out, uint64(rsLen))
		out = append(out, g.resEnc[r]...)
		out = append(out, tag(2, protowire.BytesType))
		out = pbwire.AppendVarint(out, uint64(ssLen))
		out = append(out, scopeEnc...)
		out = append(out, p.spans[r]...)
	}
	p.out = out
	return out
}
