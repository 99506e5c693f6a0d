package assert

import (
	"cmp"
	"encoding/binary"
	"slices"

	"github.com/tracerig/tracerig/internal/record"
)

// spanIndex groups backend spans by trace and, inside a trace, by span ID,
// with duplicates folded into one entry. It is built once per run in a few
// flat slices and one map keyed by trace ID, so it costs about 20 bytes per
// span beyond the spans themselves and allocates nothing per span.
type spanIndex struct {
	spans  []record.Span
	traces map[record.TraceID]int32 // trace ID → trace number
	// bounds[t]:bounds[t+1] are trace t's entries in ents, sorted by span ID.
	bounds []int32
	ents   []entry
	names  interner // service names of the entries
}

// entry is one distinct (trace, span ID) in the backend.
type entry struct {
	id     uint64 // span ID, big-endian
	span   int32  // index in spans of the copy that arrived first
	copies uint16 // how many times the backend holds it (saturating)
	svc    uint16 // interned service name
}

// spanKey turns a span ID into a sortable integer.
func spanKey(id record.SpanID) uint64 { return binary.BigEndian.Uint64(id[:]) }

// newSpanIndex indexes spans; it keeps a reference to the slice.
func newSpanIndex(spans []record.Span) *spanIndex {
	x := &spanIndex{
		spans:  spans,
		traces: make(map[record.TraceID]int32, len(spans)/8+1),
		names:  newInterner(),
	}
	tnum, counts := x.numberTraces()
	x.bounds = make([]int32, len(counts)+1)
	for t, c := range counts {
		x.bounds[t+1] = x.bounds[t] + c
	}
	copy(counts, x.bounds) // counts becomes each trace's write cursor
	x.ents = make([]entry, len(spans))
	for i := range spans {
		t := tnum[i]
		x.ents[counts[t]] = entry{id: spanKey(spans[i].ID), span: int32(i)}
		counts[t]++
	}
	x.sortAndFold()
	return x
}

// numberTraces gives each trace a dense number and returns every span's
// trace number and each trace's span count.
func (x *spanIndex) numberTraces() (tnum, counts []int32) {
	tnum = make([]int32, len(x.spans))
	var last record.TraceID
	cur := int32(-1)
	for i := range x.spans {
		t := &x.spans[i].Trace
		if cur < 0 || *t != last {
			n, ok := x.traces[*t]
			if !ok {
				n = int32(len(counts))
				x.traces[*t] = n
				counts = append(counts, 0)
			}
			last, cur = *t, n
		}
		tnum[i] = cur
		counts[cur]++
	}
	return tnum, counts
}

// sortAndFold sorts each trace's entries by span ID and folds duplicates into
// one entry, compacting ents and rewriting bounds.
func (x *spanIndex) sortAndFold() {
	w := int32(0)
	lo := int32(0)
	for t := 0; t+1 < len(x.bounds); t++ {
		hi := x.bounds[t+1]
		seg := x.ents[lo:hi]
		if len(seg) > 1 {
			slices.SortFunc(seg, func(a, b entry) int {
				return cmp.Or(cmp.Compare(a.id, b.id), cmp.Compare(a.span, b.span))
			})
		}
		start := w
		for j := range seg {
			e := seg[j]
			if w > start && x.ents[w-1].id == e.id {
				x.fold(&x.ents[w-1], e.span)
				continue
			}
			e.copies = 1
			e.svc = x.names.id(x.spans[e.span].Service)
			x.ents[w] = e
			w++
		}
		x.bounds[t] = start
		lo = hi
	}
	x.bounds[len(x.bounds)-1] = w
	x.ents = x.ents[:w:w]
}

// fold counts span i as another copy of e, keeping the earliest arrival as
// the representative.
func (x *spanIndex) fold(e *entry, i int32) {
	if e.copies < ^uint16(0) {
		e.copies++
	}
	a, b := x.spans[e.span].Arrived, x.spans[i].Arrived
	if b != 0 && (a == 0 || b < a) {
		e.span = i
	}
}

// numTraces returns how many distinct traces the backend holds.
func (x *spanIndex) numTraces() int { return len(x.bounds) - 1 }

// trace returns trace id's number.
func (x *spanIndex) trace(id record.TraceID) (int32, bool) {
	t, ok := x.traces[id]
	return t, ok
}

// segment returns the range of trace t's entries.
func (x *spanIndex) segment(t int32) (lo, hi int32) { return x.bounds[t], x.bounds[t+1] }

// find returns the entry of span id in trace t.
func (x *spanIndex) find(t int32, id record.SpanID) (int32, bool) {
	lo, hi := x.segment(t)
	k := spanKey(id)
	for lo < hi {
		m := int32(uint32(lo+hi) >> 1)
		if x.ents[m].id < k {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < x.bounds[t+1] && x.ents[lo].id == k {
		return lo, true
	}
	return 0, false
}

// lookup finds span (trace, id) in the backend.
func (x *spanIndex) lookup(trace record.TraceID, id record.SpanID) (int32, bool) {
	t, ok := x.traces[trace]
	if !ok {
		return 0, false
	}
	return x.find(t, id)
}

// span returns the representative span of entry e.
func (x *spanIndex) span(e int32) *record.Span { return &x.spans[x.ents[e].span] }

// traceID returns trace t's ID.
func (x *spanIndex) traceID(t int32) record.TraceID {
	return x.spans[x.ents[x.bounds[t]].span].Trace
}

// interner gives strings small dense numbers, remembering the last hit so
// runs of the same (interned) string cost a comparison.
type interner struct {
	ids    map[string]uint16
	names  []string
	last   string
	lastID uint16
	warm   bool
}

func newInterner() interner { return interner{ids: make(map[string]uint16)} }

// id returns s's number; past 65535 names all further names share the last.
func (in *interner) id(s string) uint16 {
	if in.warm && s == in.last {
		return in.lastID
	}
	n, ok := in.ids[s]
	if !ok {
		if len(in.names) > int(^uint16(0)) {
			return ^uint16(0)
		}
		n = uint16(len(in.names))
		in.ids[s] = n
		in.names = append(in.names, s)
	}
	in.last, in.lastID, in.warm = s, n, true
	return n
}

// name returns the string numbered n.
func (in *interner) name(n uint16) string { return in.names[n] }
