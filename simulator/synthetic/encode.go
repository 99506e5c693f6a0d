package synthetic

import (
	"encoding/binary"
	"math/rand/v2"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
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
	b := &Builder{g: g, mode: modeProto}
	b.rng = rand.New(&b.pcg)
	return b
}

// Bytes returns the encoded ExportTraceServiceRequest of the current batch
// of an encoder. The slice is reused by the next Begin.
func (b *Builder) Bytes() []byte { return b.pb.finish(b.g) }

// Proto field tags (field number << 3 | wire type).
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
)

func tag(field, wire int) byte { return byte(field<<3 | wire) }

func appendVarint(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

func varintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func appendString(dst []byte, field int, s string) []byte {
	dst = append(dst, tag(field, wireBytes))
	dst = appendVarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// appendKV appends one KeyValue as field `field` of its container.
func appendKV(dst []byte, field int, a attr) []byte {
	// AnyValue: string_value = 1, int_value = 3.
	var anyLen int
	if a.isInt {
		anyLen = 1 + varintLen(uint64(a.num))
	} else {
		anyLen = 1 + varintLen(uint64(len(a.str))) + len(a.str)
	}
	kvLen := 1 + varintLen(uint64(len(a.key))) + len(a.key) + 1 + varintLen(uint64(anyLen)) + anyLen
	dst = append(dst, tag(field, wireBytes))
	dst = appendVarint(dst, uint64(kvLen))
	dst = appendString(dst, 1, a.key)
	dst = append(dst, tag(2, wireBytes))
	dst = appendVarint(dst, uint64(anyLen))
	if a.isInt {
		dst = append(dst, tag(3, wireVarint))
		return appendVarint(dst, uint64(a.num))
	}
	return appendString(dst, 1, a.str)
}

func encodeAttrs(dst []byte, field int, as []attr) []byte {
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
	out := []byte{tag(1, wireBytes)}
	out = appendVarint(out, uint64(len(body)))
	return append(out, body...)
}

// scopeEnc is ScopeSpans.scope (field 1): InstrumentationScope{name}.
var scopeEnc = func() []byte {
	body := appendString(nil, 1, ScopeName)
	out := []byte{tag(1, wireBytes)}
	out = appendVarint(out, uint64(len(body)))
	return append(out, body...)
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
	s := p.scratch[:0]
	s = append(s, tag(1, wireBytes), 16)
	s = append(s, tid[:]...)
	s = append(s, tag(2, wireBytes), 8)
	s = append(s, id[:]...)
	if parent != ([8]byte{}) {
		s = append(s, tag(4, wireBytes), 8)
		s = append(s, parent[:]...)
	}
	s = appendString(s, 5, name)
	s = append(s, tag(6, wireVarint), byte(kind))
	s = append(s, tag(7, wireFixed64))
	s = binary.LittleEndian.AppendUint64(s, uint64(start))
	s = append(s, tag(8, wireFixed64))
	s = binary.LittleEndian.AppendUint64(s, uint64(end))
	s = append(s, enc...)
	key := keyHTTPStatus
	if grpc {
		key = keyGRPCStatus
	}
	s = appendKV(s, 9, attr{key: key, num: code, isInt: true})
	if failed {
		// Status{code: STATUS_CODE_ERROR (2)} as field 15.
		s = append(s, tag(15, wireBytes), 2, tag(3, wireVarint), 2)
	}
	p.scratch = s
	buf := p.spans[res]
	if len(buf) == 0 {
		p.used = append(p.used, res)
	}
	buf = append(buf, tag(2, wireBytes))
	buf = appendVarint(buf, uint64(len(s)))
	p.spans[res] = append(buf, s...)
}

// finish assembles the ExportTraceServiceRequest.
func (p *protoBatch) finish(g *Generator) []byte {
	out := p.out[:0]
	for _, r := range p.used {
		ssLen := len(scopeEnc) + len(p.spans[r])
		rsLen := len(g.resEnc[r]) + 1 + varintLen(uint64(ssLen)) + ssLen
		out = append(out, tag(1, wireBytes))
		out = appendVarint(out, uint64(rsLen))
		out = append(out, g.resEnc[r]...)
		out = append(out, tag(2, wireBytes))
		out = appendVarint(out, uint64(ssLen))
		out = append(out, scopeEnc...)
		out = append(out, p.spans[r]...)
	}
	p.out = out
	return out
}
