package report

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracerig/tracerig/internal/record"
)

// TestDecisionLogWritesWhatTheRecordsWould feeds a decision log hops in
// random parts and order, spilling several runs, and expects the file
// written from all of the hops at once.
func TestDecisionLogWritesWhatTheRecordsWould(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var hops []record.Hop
	for req := range uint64(300) {
		for i := range 1 + rng.IntN(4) {
			hops = append(hops, record.Hop{Request: req + 1, ID: rng.Uint64(), From: []string{"", "cart"}[min(i, 1)],
				To: "inventory", Route: "GET /", Received: rng.IntN(2) == 0, Server: record.Context{Trace: record.TraceID{byte(req)}}})
		}
	}
	var want bytes.Buffer
	if err := encodeDecisions(&want, hops); err != nil {
		t.Fatal(err)
	}
	for _, spillAt := range []int{1 << 20, 7, 100} {
		dir := t.TempDir()
		path := filepath.Join(dir, "out", "decisions.tsv")
		d := NewDecisionLog(path)
		d.spillAt = spillAt
		rng.Shuffle(len(hops), func(i, j int) { hops[i], hops[j] = hops[j], hops[i] })
		for rest := hops; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(20))
			if err := d.Add(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("spilling every %d lines: the log differs from the records' (%d bytes, want %d)", spillAt, len(got), want.Len())
		}
		left, _ := os.ReadDir(filepath.Dir(path))
		if len(left) != 1 {
			t.Errorf("spilling every %d lines: %d entries beside the log, want none", spillAt, len(left)-1)
		}
	}
}
