package synthetic

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/tracerig/tracerig/internal/record"
)

// TestRunIDIsolation: with isolation, two run IDs give one seed's traces disjoint trace and span
// IDs and the same shapes; the same run ID gives the same IDs again; without it, a run ID leaves
// the seed's IDs as they are. Every resource carries the run ID.
func TestRunIDIsolation(t *testing.T) {
	sc := openScenario(t, "shop")
	gen := func(opts ...ScenarioOption) *Generator {
		g, err := ForScenario(sc, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	plain, fresh := gen(), gen(WithRunID(0x1111111111111111, false))
	a, b := gen(WithRunID(0x1111111111111111, true)), gen(WithRunID(0x2222222222222222, true))
	replay := gen(WithRunID(0x1111111111111111, true))

	spansOf := func(g *Generator, seq uint64) (record.TraceID, []pcommon.SpanID, []string) {
		var ids []pcommon.SpanID
		var names []string
		for _, s := range buildOne(g, seq) {
			ids = append(ids, s.span.SpanID())
			names = append(names, s.service+" "+s.span.Name())
		}
		tid, _ := g.Expect(seq)
		return tid, ids, names
	}
	bSpans := map[pcommon.SpanID]bool{}
	for seq := range uint64(200) {
		_, ids, _ := spansOf(b, seq)
		for _, id := range ids {
			bSpans[id] = true
		}
	}
	for seq := range uint64(200) {
		pt, _, pNames := spansOf(plain, seq)
		ft, _, _ := spansOf(fresh, seq)
		at, aIDs, aNames := spansOf(a, seq)
		bt, _, _ := spansOf(b, seq)
		rt, _, _ := spansOf(replay, seq)
		if ft != pt {
			t.Fatalf("seq %d: a run ID without isolation changed the trace ID", seq)
		}
		if at == bt || at == pt || rt != at {
			t.Fatalf("seq %d: trace IDs plain %s, run a %s, run b %s, replay of a %s", seq, pt, at, bt, rt)
		}
		if got, ok := a.SeqOf(at); !ok || got != seq {
			t.Fatalf("seq %d: SeqOf gives %d, %v", seq, got, ok)
		}
		for _, id := range aIDs {
			if bSpans[id] {
				t.Fatalf("seq %d: span %s is in both runs", seq, id)
			}
		}
		if len(aNames) != len(pNames) {
			t.Fatalf("seq %d: isolation changed the trace's shape: %d spans, %d without", seq, len(aNames), len(pNames))
		}
	}
	for _, r := range a.res {
		if v, ok := r.Attributes().Get(record.RunIDKey); !ok || v.Str() != "1111111111111111" {
			t.Fatalf("resource %v has no run ID", r.Attributes().AsRaw())
		}
	}
	for _, r := range plain.res {
		if _, ok := r.Attributes().Get(record.RunIDKey); ok {
			t.Fatalf("resource of a run without a run ID carries one: %v", r.Attributes().AsRaw())
		}
	}
}
