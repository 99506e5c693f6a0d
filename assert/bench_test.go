package assert

import (
	"runtime"
	"testing"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// benchInput returns 100k traces of 10 spans each through a five-service
// chain (5 server spans, 4 client spans and one internal span per trace),
// with 500k hops, every span ended and delivered.
func benchInput(b *testing.B) Input {
	b.Helper()
	s := newSim(topo(svc("s0", "s1"), svc("s1", "s2"), svc("s2", "s3"), svc("s3", "s4"), svc("s4")))
	const traces = 100_000
	s.in.Hops = make([]record.Hop, 0, traces*5)
	s.in.Ended = make([]record.Ended, 0, traces*10)
	s.in.Backend = make([]record.Span, 0, traces*10)
	s.run("s0", traces)
	for i := range traces {
		server := s.in.Backend[i*9] // the s4 server span ends first in each trace
		sp := record.Span{Trace: server.Trace, ID: s.spanID(), Parent: server.ID, Service: "s4",
			Name: "work", Kind: record.KindInternal, Start: server.Start, End: server.Start + 1, Arrived: server.Arrived}
		s.in.Ended = append(s.in.Ended, record.Ended{Span: sp, Export: record.ExportOK})
		s.in.Backend = append(s.in.Backend, sp)
	}
	if len(s.in.Backend) != traces*10 {
		b.Fatalf("built %d spans", len(s.in.Backend))
	}
	return s.in
}

// perSpan reports time and bytes per backend span.
func perSpan(b *testing.B, spans int, run func()) {
	var before, after runtime.MemStats
	b.ReportAllocs()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		run()
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	n := float64(b.N) * float64(spans)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/span")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/span")
}

func BenchmarkPropagation(b *testing.B) {
	in := benchInput(b)
	exp := topology.PropagationExpect{Connected: true}
	perSpan(b, len(in.Backend), func() {
		if v := Propagation(in, exp); v.Status != StatusPass {
			b.Fatalf("%s: %s", v.Status, v.Observed)
		}
	})
}

func BenchmarkCompleteness(b *testing.B) {
	in := benchInput(b)
	exp := topology.CompletenessExpect{Min: 1}
	perSpan(b, len(in.Backend), func() {
		if v := Completeness(in, exp); v.Status != StatusPass {
			b.Fatalf("%s: %s", v.Status, v.Observed)
		}
	})
}

// BenchmarkPropagationFaults is BenchmarkPropagation with 20 recurring
// strip-headers windows planted on s1 → s2 and one in ten of that edge's
// hops broken, half inside the windows: every break is attributed.
func BenchmarkPropagationFaults(b *testing.B) {
	in := benchInput(b)
	f := topology.Fault{Kind: topology.FaultStripHeaders, Target: topology.FaultTarget{From: "s1", To: "s2", Instance: -1}}
	in.Planned = []topology.Fault{f}
	first, last := in.Hops[0].SentAt, in.Hops[len(in.Hops)-1].SentAt
	in.RunStart = first
	step := (last - first) / 20
	for w := range int64(20) {
		in.Faults = append(in.Faults, record.Fault{ID: int(w), Number: 1, Kind: string(f.Kind), Desc: "strip-headers s1 -> s2",
			From: "s1", To: "s2", Start: first + w*step, End: first + w*step + step/2})
	}
	n := 0
	for i := range in.Hops {
		if h := &in.Hops[i]; h.From == "s1" && h.To == "s2" {
			if n++; n%10 == 0 {
				h.Got = record.Context{}
			}
		}
	}
	exp := topology.PropagationExpect{Connected: false}
	perSpan(b, len(in.Backend), func() {
		if v := Propagation(in, exp); v.Stats["hop_breaks"] != 10_000 {
			b.Fatalf("%v breaks: %s", v.Stats["hop_breaks"], v.Observed)
		}
	})
}

// BenchmarkSpans evaluates a where and an assert over the 1M spans of
// benchInput, the index built once as Run does; BenchmarkSpansAttrs reads
// an attribute, which builds each selected span's attribute map.
func BenchmarkSpans(b *testing.B) {
	in := benchInput(b)
	idx := newSpanIndex(in.Backend)
	exp := topology.SpansExpect{Where: `service == "s2" && kind == "server"`, Assert: `duration < duration("1s")`, Count: "all", MinSelected: 1}
	perSpan(b, len(in.Backend), func() {
		if v := spansOnce(&in, exp, idx); v.Status != StatusPass || v.Stats["selected"] != 100_000 {
			b.Fatalf("%s: %s", v.Status, v.Observed)
		}
	})
}

func BenchmarkSpansAll(b *testing.B) {
	in := benchInput(b)
	idx := newSpanIndex(in.Backend)
	exp := topology.SpansExpect{Assert: `duration < duration("1s") && status != "error"`, Count: "all", MinSelected: 1}
	perSpan(b, len(in.Backend), func() {
		if v := spansOnce(&in, exp, idx); v.Status != StatusPass {
			b.Fatalf("%s: %s", v.Status, v.Observed)
		}
	})
}

func BenchmarkSpansAttrs(b *testing.B) {
	in := benchInput(b)
	for i := range in.Backend {
		in.Backend[i].Attrs = []record.Attr{{Key: "http.route", Value: "/"}, {Key: "peer", Value: in.Backend[i].Service}}
	}
	idx := newSpanIndex(in.Backend)
	exp := topology.SpansExpect{Assert: `attrs["http.route"] == "/"`, Count: "all", MinSelected: 1}
	perSpan(b, len(in.Backend), func() {
		if v := spansOnce(&in, exp, idx); v.Status != StatusPass {
			b.Fatalf("%s: %s", v.Status, v.Observed)
		}
	})
}

// spansOnce judges in's backend spans, indexed by idx, as one group.
func spansOnce(in *Input, exp topology.SpansExpect, idx *spanIndex) Verdict {
	t := newSpansTally(exp, in)
	t.add(in, idx, nil)
	return t.verdict()
}
