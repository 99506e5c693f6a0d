package simulator

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracerig/tracerig/internal/record"
)

// Ledger is the ground truth of a run: every span that ended in a simulated
// service, what became of it on export, and both ends of every hop. It is the
// oracle the checks compare the backend against.
//
// Records are fixed-size, IDs are arrays and strings are interned, so a span
// costs 89 bytes (a 64-byte end record plus a 25-byte export record) and a
// hop 200 bytes (a 96-byte send, an 80-byte receive and a 24-byte answer
// record). Appends take one short lock per shard; each service instance
// writes to its own shard.
//
// A run reads the ledger whole with Snapshot, or piece by piece with Drain
// while load runs and DrainAll at the end, which free what they return.
type Ledger struct {
	syms    symbols
	mu      sync.Mutex
	shards  []*shard
	loads   *shard
	retries chunks[ExportRetry] // under mu
	// retriesTaken counts the retries ExportTaken has handed over; under
	// mu.
	retriesTaken int

	// drainMu serializes Drain and DrainAll, which alone use pending.
	drainMu sync.Mutex
	pending pending

	// meter, when set (Runtime.MeterEdges), follows every hop's records
	// as they are added.
	meter atomic.Pointer[EdgeMeter]
}

// ExportRetry is an export sent again after a transient failure.
type ExportRetry struct {
	At    int64 // when the failure was seen, unix ns
	Spans int   // spans in the export
}

// ExportRetried records that an export of spans is about to be sent again
// after a transient failure: the exporters' retry hook.
func (l *Ledger) ExportRetried(spans int) {
	r := ExportRetry{At: time.Now().UnixNano(), Spans: spans}
	l.mu.Lock()
	l.retries.add(r)
	l.mu.Unlock()
}

// ExportRetries returns the retries recorded, in the order they were.
func (l *Ledger) ExportRetries() []ExportRetry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Collect(l.retries.all())
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger {
	l := &Ledger{}
	l.loads = l.newShard()
	return l
}

// shard is the ledger of one writer.
type shard struct {
	l  *Ledger
	mu sync.Mutex
	logs
	// failures tally the failed exports per service and reason: few
	// entries, one per reason seen.
	failures []failureTally
	// drained counts the records Drain took out of logs, and failed the
	// failed export records ever added, so that Totals still counts what
	// is gone.
	drained drainedCounts
	failed  int
}

// logs are a shard's records: append-only, until Drain swaps them out
// whole.
type logs struct {
	ended   chunks[endRec]
	exports chunks[exportRec]
	batches chunks[exportBatch]
	sends   chunks[sendRec]
	recvs   chunks[recvRec]
	answers chunks[answerRec]
	orphans chunks[orphanRec]
	msgs    chunks[msgRec]
	delivs  chunks[delivRec]
}

// drainedCounts counts the records of a shard Drain took.
type drainedCounts struct {
	ended, exports, sends, orphans int
}

type endRec struct {
	trace   record.TraceID
	id      record.SpanID
	parent  record.SpanID
	start   int64
	end     int64
	service uint32
	inst    uint32
	name    uint32
	kind    record.Kind
	status  record.Status
}

type exportRec struct {
	trace record.TraceID
	id    record.SpanID
	// fail is 0 for an acknowledged export; for a failed one, 1 + the
	// index of its reason's tally in the shard's failures, or failUnknown.
	fail uint8
}

// failUnknown marks a failed export whose reason was not recorded.
const failUnknown = 255

func (e exportRec) ok() bool { return e.fail == 0 }

// exportBatch is one return of the exporter: its n records follow the
// previous batches' records in the shard's exports, and it returned at at
// (unix ns). One per batch keeps the time off the per-span record.
type exportBatch struct {
	at int64
	n  int
}

// exportOutcome is what became of one span's exports: acknowledged by any,
// and when (the acknowledgement, else the last failure), and the last
// failure's reason (a symbol; none: failUnknown).
type exportOutcome struct {
	ok     bool
	reason uint32
	at     int64
}

type sendRec struct {
	hop, parent, request uint64
	sentAt               int64
	sent                 record.Context
	from, to, route      uint32
	fromInst, toInst     uint16
	headers              record.Header
	attempt              uint8
	clientSpan           bool
	external             bool   // the callee is an external service
	async                bool   // a message to a consumer group (msgRec, delivRec)
	state, baggage       uint32 // opt symbols: tracestate sent, baggage keys sent
}

// answerRec is when the caller of a hop got its answer, or gave up, and
// since when the connection it was sent on had been idle (0: a new one).
type answerRec struct {
	hop       uint64
	at        int64
	idleSince int64
}

type recvRec struct {
	hop         uint64
	got, server record.Context
	headers     record.Header
	serverSpan  bool
	calleeError bool
	// opt symbols (0: none): the traceparent received when it is not the
	// canonical form of got, the tracestate, the baggage keys.
	parent, state, baggage uint32
}

// orphanRec is a request received without a harness hop header: from an
// external service (or anything else outside the harness). It has no send
// record, so it carries what the hop needs.
type orphanRec struct {
	recv            recvRec
	at              int64
	from, to, route uint32
	toInst          uint16
}

func (l *Ledger) newShard() *shard {
	s := &shard{l: l}
	l.mu.Lock()
	l.shards = append(l.shards, s)
	l.mu.Unlock()
	return s
}

func (s *shard) addEnded(r endRec) {
	s.mu.Lock()
	s.ended.add(r)
	s.mu.Unlock()
}

// addExports records one return of the exporter, at at (unix ns).
func (s *shard) addExports(rs []exportRec, at int64) {
	s.mu.Lock()
	for _, r := range rs {
		if !r.ok() {
			s.failed++
		}
	}
	s.exports.addAll(rs)
	s.batches.add(exportBatch{at: at, n: len(rs)})
	s.mu.Unlock()
}

// exportsAt yields every export record with the time its batch returned
// (0 past the recorded batches). The caller holds the shard's lock, if
// the logs are still a shard's.
func (s *logs) exportsAt(yield func(exportRec, int64) bool) {
	batches := make([]exportBatch, 0, s.batches.len())
	for b := range s.batches.all() {
		batches = append(batches, b)
	}
	i, left := 0, 0
	var at int64
	for e := range s.exports.all() {
		for left == 0 && i < len(batches) {
			at, left = batches[i].at, batches[i].n
			i++
		}
		if left == 0 {
			at = 0
		} else {
			left--
		}
		if !yield(e, at) {
			return
		}
	}
}

func (s *shard) addSend(r sendRec) {
	s.mu.Lock()
	s.sends.add(r)
	s.mu.Unlock()
	if m := s.l.meter.Load(); m != nil {
		m.send(&r)
	}
}

// addAnswer records that the caller of hop got its answer (or gave up) at
// at (unix ns).
func (s *shard) addAnswer(hop uint64, at, idleSince int64) {
	s.mu.Lock()
	s.answers.add(answerRec{hop: hop, at: at, idleSince: idleSince})
	s.mu.Unlock()
	if m := s.l.meter.Load(); m != nil {
		m.answer(hop, at)
	}
}

func (s *shard) addOrphan(r orphanRec) {
	s.mu.Lock()
	s.orphans.add(r)
	s.mu.Unlock()
}

func (s *shard) addRecv(r recvRec) {
	s.mu.Lock()
	s.recvs.add(r)
	s.mu.Unlock()
	if m := s.l.meter.Load(); m != nil {
		m.recv(&r)
	}
}

// callFailed tells the edge meter, if any, that the caller of hop got an
// error or gave up; the ledger itself learns it from the callee's side.
func (s *shard) callFailed(hop uint64) {
	if m := s.l.meter.Load(); m != nil {
		m.failed(hop)
	}
}

// Totals are the ledger's counts so far.
type Totals struct {
	SpansEnded    int `json:"spans_ended"`
	SpansExported int `json:"spans_exported"`
	ExportFailed  int `json:"export_failed"`
	ExportRetries int `json:"export_retries"`
	Hops          int `json:"hops"`
	Requests      int `json:"requests"`
}

// Totals counts every record the ledger was given, drained or not.
func (l *Ledger) Totals() Totals {
	var t Totals
	for _, s := range l.snapshotShards() {
		s.mu.Lock()
		d := s.drained
		t.SpansEnded += d.ended + s.ended.len()
		t.ExportFailed += s.failed
		t.SpansExported += d.exports + s.exports.len() - s.failed
		t.Hops += d.sends + d.orphans + s.sends.len() + s.orphans.len()
		s.mu.Unlock()
	}
	l.loads.mu.Lock()
	t.Requests = l.loads.drained.sends + l.loads.sends.len()
	l.loads.mu.Unlock()
	l.mu.Lock()
	t.ExportRetries = l.retries.len()
	l.mu.Unlock()
	return t
}

func (l *Ledger) snapshotShards() []*shard {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*shard(nil), l.shards...)
}

// Snapshot is the ledger's content as shared records.
type Snapshot struct {
	Ended []record.Ended
	Hops  []record.Hop
}

type spanKey struct {
	trace record.TraceID
	id    record.SpanID
}

// Snapshot returns every ended span with its export outcome and every hop
// with both of its ends merged. Hops are in send order per writer. It
// holds only the records no Drain has taken: a drained ledger's
// records come out of Drain and DrainAll instead.
func (l *Ledger) Snapshot() Snapshot {
	shards := l.snapshotShards()
	outcome := make(map[spanKey]exportOutcome)
	recvs := make(map[uint64]recvRec)
	answers := make(map[uint64]answerRec)
	var msgs messageRecs
	var nEnded, nSends int
	for _, s := range shards {
		s.mu.Lock()
		for e, at := range s.exportsAt {
			foldOutcome(outcome, spanKey{e.trace, e.id}, e.ok(), s.failReason(e), at)
		}
		for r := range s.recvs.all() {
			recvs[r.hop] = r
		}
		for a := range s.answers.all() {
			answers[a.hop] = a
		}
		msgs.collect(&s.logs)
		nEnded += s.ended.len()
		nSends += s.sends.len() + s.orphans.len()
		s.mu.Unlock()
	}
	snap := Snapshot{Ended: make([]record.Ended, 0, nEnded), Hops: make([]record.Hop, 0, nSends)}
	for _, s := range shards {
		s.mu.Lock()
		for e := range s.ended.all() {
			snap.Ended = append(snap.Ended, l.ended(e, outcome))
		}
		for r := range s.sends.all() {
			h := l.hop(r, recvs)
			a := answers[r.hop]
			h.AnsweredAt, h.ConnIdleSince = a.at, a.idleSince
			if r.async {
				l.message(&h, msgs)
			}
			snap.Hops = append(snap.Hops, h)
		}
		for o := range s.orphans.all() {
			snap.Hops = append(snap.Hops, l.orphanHop(o))
		}
		s.mu.Unlock()
	}
	return snap
}

// foldOutcome adds one export of a span to what became of its exports:
// an acknowledgement stands, a failure replaces an earlier failure.
func foldOutcome(outcome map[spanKey]exportOutcome, k spanKey, ok bool, reason uint32, at int64) {
	if o := outcome[k]; !o.ok {
		outcome[k] = exportOutcome{ok: ok, reason: reason, at: max(o.at, at)}
	}
}

// orphanHop is the hop of a request that came from outside the harness.
func (l *Ledger) orphanHop(o orphanRec) record.Hop {
	h := record.Hop{
		ID: o.recv.hop, From: l.syms.name(o.from), FromExternal: true,
		To: l.syms.name(o.to), ToInstance: int(o.toInst), Route: l.syms.name(o.route), SentAt: o.at,
	}
	l.received(&h, o.recv)
	return h
}

func (l *Ledger) ended(e endRec, outcome map[spanKey]exportOutcome) record.Ended {
	out := record.Ended{Span: record.Span{
		Trace: e.trace, ID: e.id, Parent: e.parent, Start: e.start, End: e.end,
		Service: l.syms.name(e.service), Instance: l.syms.name(e.inst), Name: l.syms.name(e.name),
		Kind: e.kind, Status: e.status,
	}}
	if o, seen := outcome[spanKey{e.trace, e.id}]; seen {
		out.Export, out.ExportAt = record.ExportFailed, o.at
		if o.ok {
			out.Export = record.ExportOK
		} else if o.reason != failUnknown {
			out.ExportReason = l.syms.name(o.reason)
		}
	}
	return out
}

func (l *Ledger) hop(s sendRec, recvs map[uint64]recvRec) record.Hop {
	h := record.Hop{
		ID: s.hop, Parent: s.parent, Request: s.request, Attempt: s.attempt,
		From: l.syms.name(s.from), FromInstance: int(s.fromInst),
		To: l.syms.name(s.to), ToInstance: int(s.toInst), Route: l.syms.name(s.route),
		Sent: s.sent, SentHeaders: s.headers, ClientSpan: s.clientSpan, SentAt: s.sentAt,
		SentTraceState: l.syms.optName(s.state), SentBaggage: l.syms.optName(s.baggage),
		External: s.external,
	}
	if r, ok := recvs[s.hop]; ok {
		l.received(&h, r)
	}
	return h
}

// received fills in the callee side of h from r.
func (l *Ledger) received(h *record.Hop, r recvRec) {
	h.Received = true
	h.Got, h.GotHeaders = r.got, r.headers
	h.Server, h.ServerSpan = r.server, r.serverSpan
	h.CalleeError = r.calleeError
	h.GotTraceState, h.GotBaggage = l.syms.optName(r.state), l.syms.optName(r.baggage)
	h.GotTraceParent = l.syms.optName(r.parent)
	if h.GotTraceParent == "" && r.headers.Has(record.HeaderTraceparent) && r.got.IsValid() {
		h.GotTraceParent = canonicalTraceparent(r.got)
	}
}

// Traces counts the traces the load started (one per request the entry
// service received) and how many of them its sampler kept.
func (s Snapshot) Traces() (started, sampled int) {
	for _, h := range s.Hops {
		if h.From == "" && h.Received && h.Server.Trace.IsValid() {
			started++
			if h.Server.Sampled {
				sampled++
			}
		}
	}
	return started, sampled
}
