package simulator

import (
	"encoding/binary"

	"github.com/tracerig/tracerig/internal/record"
)

// pending holds the records Drain took but has not released, filed by
// component. Components merge as records link them (union by size: the
// smaller one's keys and records move into the larger), and a released
// component's keys leave the index with it, so pending holds nothing of
// what was returned.
type pending struct {
	nodes map[nodeKey]*component
	comps map[*component]struct{}
	// late counts receives and export outcomes taken after their
	// component was released (see Ledger.DrainLate).
	late int
	// early holds the receives the last Drain took before their hop's
	// send. In a ledger merged from several processes taken one after
	// another (containers, see Merger), a callee's records may be taken a
	// Drain before its caller's: each waits one Drain for its send, then
	// counts as late.
	early []recvRec
	// prev is the now of the Drain before the one filing, 0 before the
	// second: every record a Drain takes was written after it.
	prev int64
}

// nodeKind says what a nodeKey names.
type nodeKind uint8

const (
	nodeRequest nodeKind = iota + 1
	nodeHop
	nodeTrace
)

// nodeKey is what links records into a component: a load request, a hop
// or a trace ID.
type nodeKey struct {
	kind nodeKind
	a, b uint64
}

func keyRequest(n uint64) nodeKey { return nodeKey{kind: nodeRequest, a: n} }
func keyHop(h uint64) nodeKey     { return nodeKey{kind: nodeHop, a: h} }

func keyTrace(t record.TraceID) nodeKey {
	return nodeKey{kind: nodeTrace, a: binary.BigEndian.Uint64(t[:8]), b: binary.BigEndian.Uint64(t[8:])}
}

// component is one connected component of pending records.
type component struct {
	keys    []nodeKey
	sends   []sendRec
	orphans []orphanRec
	recvs   []recvRec
	answers []answerRec
	ended   []endRec
	exports []exportDone
	// last is the now of the Drain that took its newest record; dirty
	// says a record joined since it last failed the settle rule.
	last  int64
	dirty bool
	// since is the now of the Drain before the one that took its oldest
	// record: every record of it was written after since.
	since int64
}

// exportDone is one export of a span with the time its batch returned and
// its failure reason resolved (a symbol, or failUnknown).
type exportDone struct {
	trace  record.TraceID
	id     record.SpanID
	at     int64
	reason uint32
	ok     bool
}

// records counts the records a component holds.
func (c *component) records() int {
	return len(c.sends) + len(c.orphans) + len(c.recvs) + len(c.answers) + len(c.ended) + len(c.exports)
}

// file adds what one Drain took to the components. Sends and orphan
// records go first: they are what receives and answers attach to.
func (p *pending) file(now int64, ts []taken) {
	if p.nodes == nil {
		p.nodes = make(map[nodeKey]*component)
		p.comps = make(map[*component]struct{})
	}
	var ks [4]nodeKey
	for i := range ts {
		for r := range ts[i].sends.all() {
			keys := append(ks[:0], keyHop(r.hop))
			if r.request != 0 {
				keys = append(keys, keyRequest(r.request))
			}
			if r.parent != 0 {
				keys = append(keys, keyHop(r.parent))
			}
			c := p.join(now, withTrace(keys, r.sent.Trace))
			c.sends = append(c.sends, r)
		}
		for o := range ts[i].orphans.all() {
			keys := withTrace(withTrace(append(ks[:0], keyHop(o.recv.hop)), o.recv.got.Trace), o.recv.server.Trace)
			c := p.join(now, keys)
			c.orphans = append(c.orphans, o)
		}
	}
	prev := p.early
	p.early = nil
	for _, r := range prev {
		if !p.fileRecv(now, r) {
			p.late++
		}
	}
	for i := range ts {
		p.fileCallees(now, &ts[i])
	}
	for i := range ts {
		for e := range ts[i].ended.all() {
			c := p.join(now, append(ks[:0], keyTrace(e.trace)))
			c.ended = append(c.ended, e)
		}
	}
	for i := range ts {
		t := &ts[i]
		for e, at := range t.exportsAt {
			c := p.nodes[keyTrace(e.trace)]
			if c == nil {
				p.late++ // its span's end was taken and released before
				continue
			}
			c.touch(now)
			c.exports = append(c.exports, exportDone{trace: e.trace, id: e.id, at: at, reason: t.failReason(e), ok: e.ok()})
		}
	}
}

// fileCallees files receives and answers, which belong to the component
// of their hop's send. A receive without one came after its component
// was released, or before its send (see early), and waits one Drain; an
// answer without one is of an attempt that failed before it sent
// anything, which Snapshot leaves out too.
func (p *pending) fileCallees(now int64, t *taken) {
	for r := range t.recvs.all() {
		if !p.fileRecv(now, r) {
			p.early = append(p.early, r)
		}
	}
	for a := range t.answers.all() {
		if c := p.nodes[keyHop(a.hop)]; c != nil {
			c.touch(now)
			c.answers = append(c.answers, a)
		}
	}
}

// fileRecv files a receive into the component of its hop's send, and
// reports whether it had one.
func (p *pending) fileRecv(now int64, r recvRec) bool {
	if p.nodes[keyHop(r.hop)] == nil {
		return false
	}
	var ks [3]nodeKey
	keys := withTrace(withTrace(append(ks[:0], keyHop(r.hop)), r.got.Trace), r.server.Trace)
	c := p.join(now, keys)
	c.recvs = append(c.recvs, r)
	return true
}

// withTrace adds the key of trace to keys when it is valid.
func withTrace(keys []nodeKey, trace record.TraceID) []nodeKey {
	if !trace.IsValid() {
		return keys
	}
	return append(keys, keyTrace(trace))
}

// touch marks the component as changed by a Drain at now.
func (c *component) touch(now int64) {
	c.last = max(c.last, now)
	c.dirty = true
}

// join returns the component holding every key, merging the components
// they are in and adding the keys that are in none.
func (p *pending) join(now int64, keys []nodeKey) *component {
	var c *component
	for _, k := range keys {
		if o := p.nodes[k]; o != nil && (c == nil || len(o.keys) > len(c.keys)) {
			c = o
		}
	}
	if c == nil {
		c = &component{since: p.prev}
		p.comps[c] = struct{}{}
	}
	for _, k := range keys {
		switch o := p.nodes[k]; {
		case o == nil:
			p.nodes[k] = c
			c.keys = append(c.keys, k)
		case o != c:
			p.merge(c, o)
		}
	}
	c.touch(now)
	return c
}

// merge moves src's keys and records into dst.
func (p *pending) merge(dst, src *component) {
	for _, k := range src.keys {
		p.nodes[k] = dst
	}
	dst.keys = append(dst.keys, src.keys...)
	dst.sends = append(dst.sends, src.sends...)
	dst.orphans = append(dst.orphans, src.orphans...)
	dst.recvs = append(dst.recvs, src.recvs...)
	dst.answers = append(dst.answers, src.answers...)
	dst.ended = append(dst.ended, src.ended...)
	dst.exports = append(dst.exports, src.exports...)
	dst.last = max(dst.last, src.last)
	dst.since = min(dst.since, src.since)
	delete(p.comps, src)
}

// forget drops a released component and its keys.
func (p *pending) forget(c *component) {
	for _, k := range c.keys {
		delete(p.nodes, k)
	}
	delete(p.comps, c)
}

// size counts the pending components and the records they hold.
func (p *pending) size() (comps, records int) {
	for c := range p.comps {
		records += c.records()
	}
	return len(p.comps), records
}

// settled applies Drain's settle rule to the component's records, all but
// quiet, which the caller checks.
func (c *component) settled() bool {
	known := make(map[uint64]bool, len(c.sends)+len(c.orphans))
	answered := make(map[uint64]bool, len(c.answers))
	for _, a := range c.answers {
		answered[a.hop] = true
	}
	for _, s := range c.sends {
		if !answered[s.hop] {
			return false
		}
		known[s.hop] = true
	}
	for _, o := range c.orphans {
		known[o.recv.hop] = true
	}
	for _, k := range c.keys {
		if k.kind == nodeHop && !known[k.a] {
			return false
		}
	}
	exported := make(map[spanKey]bool, len(c.exports))
	for _, e := range c.exports {
		exported[spanKey{e.trace, e.id}] = true
	}
	ended := make(map[spanKey]bool, len(c.ended))
	for _, e := range c.ended {
		k := spanKey{e.trace, e.id}
		if !exported[k] {
			return false
		}
		ended[k] = true
	}
	for _, r := range c.recvs {
		if announced(r) && !ended[spanKey{r.server.Trace, r.server.Span}] {
			return false
		}
	}
	for _, o := range c.orphans {
		if announced(o.recv) && !ended[spanKey{o.recv.server.Trace, o.recv.server.Span}] {
			return false
		}
	}
	return true
}

// announced says a receive started a sampled server span, which the SDK
// ends after the receive is recorded.
func announced(r recvRec) bool {
	return r.serverSpan && r.server.Sampled && r.server.IsValid()
}
