package simulator

import (
	"bytes"
	"compress/gzip"
	"encoding/gob"
	"fmt"
	"io"
	"sync"
)

// ExportTaken takes out of the ledger the records written since the
// previous ExportTaken (every record, the first time) and writes them to w
// as Export writes a ledger: the failure tallies count only the spans
// failed since, the retries only those recorded since. Merged one after
// another through one Merger, the exports of a ledger add up to it, each
// record once, while the ledger holds only what was written since the
// last take. The take is one consistent cut (see Drain): a record is never
// taken before one that happened before it.
//
// What it took is gone from the ledger even when writing to w fails. A
// ledger read with ExportTaken is not drained nor read with Export.
func (l *Ledger) ExportTaken(w io.Writer) error {
	l.drainMu.Lock()
	ts := l.take()
	l.mu.Lock()
	var retries []ExportRetry
	i := 0
	for r := range l.retries.all() {
		if i >= l.retriesTaken {
			retries = append(retries, r)
		}
		i++
	}
	l.retriesTaken = i
	l.mu.Unlock()
	l.drainMu.Unlock()

	out := wireLedger{Version: ledgerWireVersion, Retries: retries}
	if p := l.syms.names.Load(); p != nil {
		out.Symbols = *p
	}
	for i := range ts {
		t := &ts[i]
		ws := l.wireLogs(&t.logs, t.failures)
		if t.from == l.loads {
			out.Loads = ws
			continue
		}
		out.Shards = append(out.Shards, ws)
	}
	// Encoded whole before it is written: an encoding failure writes
	// nothing.
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := gob.NewEncoder(zw).Encode(&out); err != nil {
		return fmt.Errorf("export taken ledger: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("export taken ledger: %w", err)
	}
	if _, err := buf.WriteTo(w); err != nil {
		return fmt.Errorf("export taken ledger: %w", err)
	}
	return nil
}

// Merger merges the ledgers one source exports one after another (the
// takes of ExportTaken, or whole ledgers of successive processes of one
// writer) into one ledger: the records of the source's shard at one
// position land in one shard of the ledger, however many merges, so the
// ledger's shards grow with the sources' writers, not with the merges.
// It is safe for concurrent use.
type Merger struct {
	l      *Ledger
	mu     sync.Mutex
	shards []*shard
}

// Merger returns a Merger of one source into l.
func (l *Ledger) Merger() *Merger {
	return &Merger{l: l}
}

// Merge reads a ledger written by Export or ExportTaken and adds its
// records to the merger's ledger, its symbols mapped onto the ledger's own.
// The records of one merge enter the ledger at once, as one consistent
// cut: a Drain takes all of them or none.
func (m *Merger) Merge(r io.Reader) error {
	in, err := decodeLedger(r)
	if err != nil {
		return err
	}
	l := m.l
	sym := make([]uint32, len(in.Symbols))
	for i, name := range in.Symbols {
		sym[i] = l.syms.id(name)
	}
	mapSym := func(id uint32) uint32 {
		if int(id) < len(sym) {
			return sym[id]
		}
		return l.syms.id("")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(m.shards) < len(in.Shards) {
		s := &shard{l: l}
		l.shards = append(l.shards, s)
		m.shards = append(m.shards, s)
	}
	// Holding l.mu, as take does before it locks the shards, keeps a
	// Drain from taking part of this merge.
	for i, ws := range in.Shards {
		m.shards[i].add(ws, mapSym)
	}
	l.loads.add(in.Loads, mapSym)
	l.retries.addAll(in.Retries)
	return nil
}
