package simulator

import (
	"bufio"
	"compress/gzip"
	"encoding/gob"
	"fmt"
	"io"

	"github.com/tracerig/tracerig/internal/record"
)

// The export form of a ledger: its raw records with the symbol table they
// refer to, gob-encoded and gzipped. Export writes it, Merge adds one to a
// ledger, so a host can gather the ledgers of many processes (one per
// container) into one and check them as if one process had run.
type wireLedger struct {
	Version int
	Symbols []string
	Shards  []wireShard
	Loads   wireShard
	Retries []ExportRetry
}

type wireShard struct {
	Ended   []wireEnd
	Exports []wireExport
	Sends   []wireSend
	Recvs   []wireRecv
	Orphans []wireOrphan
	Answers []wireAnswer // none from a ledger written before they were recorded
	// Msgs and Delivs are the records of messages through brokers.
	Msgs   []wireMsg
	Delivs []wireDeliv
	// Failures are the shard's failed exports per service and reason;
	// none from a ledger written before they were recorded.
	Failures []wireFailure
}

type wireFailure struct {
	Service uint32
	Reason  string
	Spans   int
	First   string
	At      int64
}

type wireAnswer struct {
	Hop       uint64
	At        int64
	IdleSince int64
}

type wireOrphan struct {
	Recv            wireRecv
	At              int64
	From, To, Route uint32
	ToInst          uint16
}

type wireEnd struct {
	Trace               record.TraceID
	ID, Parent          record.SpanID
	Start, End          int64
	Service, Inst, Name uint32
	Kind                record.Kind
	Status              record.Status
}

type wireExport struct {
	Trace record.TraceID
	ID    record.SpanID
	OK    bool
	At    int64 // zero from a ledger written before it was recorded
	// Fail is, for a failed export, 1 + the index of its reason's tally
	// in the shard's Failures; zero from a ledger written before reasons
	// were recorded.
	Fail uint8
}

type wireSend struct {
	Hop, Parent, Request uint64
	SentAt               int64
	Sent                 record.Context
	From, To, Route      uint32
	FromInst, ToInst     uint16
	Headers              record.Header
	Attempt              uint8
	ClientSpan           bool
	External             bool
	State, Baggage       uint32
	Async                bool // a message to a consumer group
}

type wireMsg struct {
	Hop, Msg     uint64
	At, Offset   int64
	Topic, Group uint32
	Partition    int32
}

type wireDeliv struct {
	Hop           uint64
	At            int64
	ToInst, Batch uint16
	Redelivery    uint8
	Parent, Dead  bool
}

type wireRecv struct {
	Hop                     uint64
	Got, Server             record.Context
	Headers                 record.Header
	ServerSpan, CalleeError bool
	Parent, State, Baggage  uint32
}

const ledgerWireVersion = 1

// Export writes every record of the ledger so far to w (gzipped gob).
// It works on whole ledgers: records a Drain or ExportTaken took are not
// in it, so a ledger meant for Export is not drained. A ledger's shards
// are written in the order they were made, the load records apart, so the
// shard at one position of two exports of a ledger is the same writer's.
func (l *Ledger) Export(w io.Writer) error {
	out := wireLedger{Version: ledgerWireVersion}
	if p := l.syms.names.Load(); p != nil {
		out.Symbols = *p
	}
	for _, s := range l.snapshotShards() {
		ws := s.wire()
		if s == l.loads {
			out.Loads = ws
			continue
		}
		out.Shards = append(out.Shards, ws)
	}
	out.Retries = l.ExportRetries()
	zw := gzip.NewWriter(w)
	if err := gob.NewEncoder(zw).Encode(&out); err != nil {
		return fmt.Errorf("export ledger: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("export ledger: %w", err)
	}
	return nil
}

func (s *shard) wire() wireShard {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.l.wireLogs(&s.logs, s.failures)
}

// wireLogs is the export form of a shard's logs and failure tallies. The
// caller holds the shard's lock, if the logs are still a shard's.
func (l *Ledger) wireLogs(lg *logs, failures []failureTally) wireShard {
	var w wireShard
	for e := range lg.ended.all() {
		w.Ended = append(w.Ended, wireEnd{e.trace, e.id, e.parent, e.start, e.end, e.service, e.inst, e.name, e.kind, e.status})
	}
	for e, at := range lg.exportsAt {
		fail := e.fail
		if fail == failUnknown {
			fail = 0
		}
		w.Exports = append(w.Exports, wireExport{e.trace, e.id, e.ok(), at, fail})
	}
	for r := range lg.sends.all() {
		w.Sends = append(w.Sends, wireSend{r.hop, r.parent, r.request, r.sentAt, r.sent, r.from, r.to, r.route, r.fromInst, r.toInst, r.headers, r.attempt, r.clientSpan, r.external, r.state, r.baggage, r.async})
	}
	for r := range lg.msgs.all() {
		w.Msgs = append(w.Msgs, wireMsg{r.hop, r.msg, r.at, r.offset, r.topic, r.group, r.partition})
	}
	for r := range lg.delivs.all() {
		w.Delivs = append(w.Delivs, wireDeliv{r.hop, r.at, r.toInst, r.batch, r.redelivery, r.parent, r.dead})
	}
	for r := range lg.recvs.all() {
		w.Recvs = append(w.Recvs, r.wire())
	}
	for o := range lg.orphans.all() {
		w.Orphans = append(w.Orphans, wireOrphan{o.recv.wire(), o.at, o.from, o.to, o.route, o.toInst})
	}
	for a := range lg.answers.all() {
		w.Answers = append(w.Answers, wireAnswer{a.hop, a.at, a.idleSince})
	}
	for _, f := range failures {
		w.Failures = append(w.Failures, wireFailure{f.service, l.syms.name(f.reason), f.spans, f.first, f.at})
	}
	return w
}

// Merge reads a ledger written by Export or ExportTaken and adds its
// records to l, its symbols mapped onto l's own, in shards of their own.
// Its load records join l's load records. Ledgers exported one after
// another by one source merge through one Merger instead.
func (l *Ledger) Merge(r io.Reader) error {
	return l.Merger().Merge(r)
}

// decodeLedger reads a ledger written by Export or ExportTaken.
func decodeLedger(r io.Reader) (wireLedger, error) {
	var in wireLedger
	zr, err := gzip.NewReader(bufio.NewReader(r))
	if err != nil {
		return in, fmt.Errorf("merge ledger: %w", err)
	}
	if err := gob.NewDecoder(zr).Decode(&in); err != nil {
		return in, fmt.Errorf("merge ledger: %w", err)
	}
	if in.Version != ledgerWireVersion {
		return in, fmt.Errorf("merge ledger: version %d, want %d", in.Version, ledgerWireVersion)
	}
	return in, nil
}

func (s *shard) add(w wireShard, m func(uint32) uint32) {
	if meter := s.l.meter.Load(); meter != nil {
		defer meterWire(meter, w, m) // after the lock is let go
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range w.Ended {
		s.ended.add(endRec{e.Trace, e.ID, e.Parent, e.Start, e.End, m(e.Service), m(e.Inst), m(e.Name), e.Kind, e.Status})
	}
	// The failed exports' marks name the tallies they count under.
	marks := make([]uint8, len(w.Failures))
	for i, f := range w.Failures {
		marks[i] = s.addFailure(exportFailure{service: m(f.Service), reason: f.Reason, message: f.First}, f.Spans, f.At)
	}
	// Consecutive records of one time are one batch again.
	for i := 0; i < len(w.Exports); {
		j := i
		for ; j < len(w.Exports) && w.Exports[j].At == w.Exports[i].At; j++ {
			e := w.Exports[j]
			r := exportRec{trace: e.Trace, id: e.ID, fail: failMark(e, marks)}
			if !r.ok() {
				s.failed++
			}
			s.exports.add(r)
		}
		s.batches.add(exportBatch{at: w.Exports[i].At, n: j - i})
		i = j
	}
	for _, r := range w.Sends {
		s.sends.add(r.rec(m))
	}
	for _, r := range w.Msgs {
		s.msgs.add(msgRec{hop: r.Hop, msg: r.Msg, at: r.At, offset: r.Offset, topic: m(r.Topic), group: m(r.Group), partition: r.Partition})
	}
	for _, r := range w.Delivs {
		s.delivs.add(delivRec{hop: r.Hop, at: r.At, toInst: r.ToInst, batch: r.Batch, redelivery: r.Redelivery, parent: r.Parent, dead: r.Dead})
	}
	for _, r := range w.Recvs {
		s.recvs.add(r.rec(m))
	}
	for _, o := range w.Orphans {
		s.orphans.add(orphanRec{recv: o.Recv.rec(m), at: o.At, from: m(o.From), to: m(o.To), route: m(o.Route), toInst: o.ToInst})
	}
	for _, a := range w.Answers {
		s.answers.add(answerRec{hop: a.Hop, at: a.At, idleSince: a.IdleSince})
	}
}

// failMark returns the fail mark of a wire export record in the shard its
// failures were added to with marks.
func failMark(e wireExport, marks []uint8) uint8 {
	switch {
	case e.OK:
		return 0
	case e.Fail == 0 || int(e.Fail) > len(marks):
		return failUnknown
	}
	return marks[e.Fail-1]
}

func (r wireSend) rec(m func(uint32) uint32) sendRec {
	return sendRec{hop: r.Hop, parent: r.Parent, request: r.Request, sentAt: r.SentAt, sent: r.Sent,
		from: m(r.From), to: m(r.To), route: m(r.Route), fromInst: r.FromInst, toInst: r.ToInst,
		headers: r.Headers, attempt: r.Attempt, clientSpan: r.ClientSpan, external: r.External,
		state: mopt(m, r.State), baggage: mopt(m, r.Baggage), async: r.Async}
}

// meterWire hands the hop records of a merged shard to the edge meter.
func meterWire(meter *EdgeMeter, w wireShard, m func(uint32) uint32) {
	for _, r := range w.Sends {
		rec := r.rec(m)
		meter.send(&rec)
	}
	for _, r := range w.Recvs {
		rec := r.rec(m)
		meter.recv(&rec)
	}
	for _, a := range w.Answers {
		meter.answer(a.Hop, a.At)
	}
	for _, d := range w.Delivs {
		meter.delivered(d.Hop, d.At)
	}
}

func (r recvRec) wire() wireRecv {
	return wireRecv{r.hop, r.got, r.server, r.headers, r.serverSpan, r.calleeError, r.parent, r.state, r.baggage}
}

func (r wireRecv) rec(m func(uint32) uint32) recvRec {
	return recvRec{hop: r.Hop, got: r.Got, server: r.Server, headers: r.Headers, serverSpan: r.ServerSpan, calleeError: r.CalleeError,
		parent: mopt(m, r.Parent), state: mopt(m, r.State), baggage: mopt(m, r.Baggage)}
}

// mopt maps an opt symbol (0: none).
func mopt(m func(uint32) uint32, id uint32) uint32 {
	if id == 0 {
		return 0
	}
	return m(id-1) + 1
}
