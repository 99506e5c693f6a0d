package synthetic

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// proxyScenario has an uninstrumented proxy that forwards trace headers
// between an instrumented caller and callee, and no errors.
const proxyScenario = `
name: proxy
topology:
  name: proxy
  services:
    edge:
      routes:
        GET /a:
          latency: {p50: 1ms, p99: 3ms}
          calls:
            - proxy: GET /p
            - sequence:
                - leaf: GET /l
                - rpc: x.Y/Z
    proxy:
      instrumented: false
      routes:
        GET /p:
          latency: 100us
          calls:
            - parallel:
                - leaf: GET /l
                - rpc: x.Y/Z
    leaf:
      instances: 3
      routes:
        GET /l:
          latency: {dist: uniform, min: 1ms, max: 2ms}
    rpc:
      protocol: grpc
      routes:
        x.Y/Z:
          latency: {dist: normal, mean: 1ms, stddev: 200us}
load:
  - route: edge GET /a
    rate: 10/s
    duration: 1s
`

func openScenario(t testing.TB, name string) *topology.Scenario {
	t.Helper()
	if name == "proxy" {
		sc, err := topology.ParseScenario("proxy.yaml", []byte(proxyScenario), nil)
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	// The package's own scenarios, then the library's files, read from
	// disk: the scenarios package would pull in every backend.
	path := "testdata/" + name + ".yaml"
	if _, err := os.Stat(path); err != nil {
		path = "../../scenarios/" + name + ".yaml"
	}
	sc, err := topology.LoadScenario(path)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

type builtSpan struct {
	service string
	span    ptrace.Span
}

// buildOne builds trace seq alone and returns its spans.
func buildOne(g *Generator, seq uint64) []builtSpan {
	b := g.NewBuilder()
	b.Begin()
	b.Add(seq, 1_700_000_000_000_000_000)
	return spansOf(b.Traces())
}

// spansOf returns the spans of td with their services.
func spansOf(td ptrace.Traces) []builtSpan {
	var out []builtSpan
	for _, rs := range td.ResourceSpans().All() {
		svc, _ := rs.Resource().Attributes().Get("service.name")
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				out = append(out, builtSpan{svc.Str(), sp})
			}
		}
	}
	return out
}

func TestSyntheticShape(t *testing.T) {
	for _, name := range []string{"quickstart", "shop", "proxy"} {
		t.Run(name, func(t *testing.T) {
			sc := openScenario(t, name)
			g, err := ForScenario(sc)
			if err != nil {
				t.Fatal(err)
			}
			clean := 0
			for seq := range uint64(300) {
				spans := buildOne(g, seq)
				tid, n := g.Expect(seq)
				if n != len(spans) {
					t.Fatalf("seq %d: Expect says %d spans, built %d", seq, n, len(spans))
				}
				byID := map[pcommon.SpanID]builtSpan{}
				errored := false
				for _, s := range spans {
					if record.TraceID(s.span.TraceID()) != tid {
						t.Fatalf("seq %d: span in trace %s, want %s", seq, s.span.TraceID(), tid)
					}
					if _, dup := byID[s.span.SpanID()]; dup {
						t.Fatalf("seq %d: duplicate span ID %s", seq, s.span.SpanID())
					}
					byID[s.span.SpanID()] = s
					errored = errored || s.span.Status().Code() == ptrace.StatusCodeError
				}
				roots := 0
				for _, s := range spans {
					if s.span.ParentSpanID().IsEmpty() {
						roots++
						if s.span.Kind() != ptrace.SpanKindServer {
							t.Fatalf("seq %d: root %q is %v", seq, s.span.Name(), s.span.Kind())
						}
						continue
					}
					p, ok := byID[s.span.ParentSpanID()]
					if !ok {
						t.Fatalf("seq %d: %s %q has a parent not in the trace", seq, s.service, s.span.Name())
					}
					// A server span's parent is a client span (an
					// uninstrumented hop in between forwards the
					// client's context); a client span's parent is a
					// server span of the same service.
					switch s.span.Kind() {
					case ptrace.SpanKindServer:
						if p.span.Kind() != ptrace.SpanKindClient {
							t.Fatalf("seq %d: server %s %q under %v", seq, s.service, s.span.Name(), p.span.Kind())
						}
					case ptrace.SpanKindClient:
						if p.span.Kind() != ptrace.SpanKindServer || p.service != s.service {
							t.Fatalf("seq %d: client %s %q under %v of %s", seq, s.service, s.span.Name(), p.span.Kind(), p.service)
						}
					}
					if s.span.StartTimestamp() < p.span.StartTimestamp() || s.span.EndTimestamp() > p.span.EndTimestamp() {
						t.Fatalf("seq %d: %q [%d,%d] outside its parent %q [%d,%d]", seq, s.span.Name(),
							s.span.StartTimestamp(), s.span.EndTimestamp(), p.span.Name(), p.span.StartTimestamp(), p.span.EndTimestamp())
					}
				}
				if roots != 1 {
					t.Fatalf("seq %d: %d roots", seq, roots)
				}
				if !errored {
					clean++
					var root ptrace.Span
					for _, s := range spans {
						if s.span.ParentSpanID().IsEmpty() {
							root = s.span
						}
					}
					var entry *topology.Target
					for i := range sc.Load[0].Targets {
						if tg := &sc.Load[0].Targets[i]; tg.Route == root.Name() {
							entry = tg
						}
					}
					if entry == nil {
						t.Fatalf("seq %d: root %q is no entry route", seq, root.Name())
					}
					if want := sc.Topology.ExpectedSpans(entry.Service, entry.Route); len(spans) != want {
						t.Fatalf("seq %d: %d spans without errors, topology expects %d", seq, len(spans), want)
					}
				}
			}
			if clean < 200 {
				t.Fatalf("only %d of 300 traces without errors", clean)
			}
		})
	}
}

func TestSyntheticIDsReproducible(t *testing.T) {
	sc := openScenario(t, "shop")
	g1, _ := ForScenario(sc)
	g2, _ := ForScenario(sc)
	sc.Seed++
	g3, _ := ForScenario(sc)
	for _, seq := range []uint64{0, 1, 2, 1 << 40, ^uint64(0)} {
		a, b := buildOne(g1, seq), buildOne(g2, seq)
		if len(a) != len(b) {
			t.Fatalf("seq %d: %d vs %d spans", seq, len(a), len(b))
		}
		for i := range a {
			if a[i].span.SpanID() != b[i].span.SpanID() || a[i].span.ParentSpanID() != b[i].span.ParentSpanID() ||
				a[i].span.EndTimestamp() != b[i].span.EndTimestamp() {
				t.Fatalf("seq %d span %d differs between generators of the same seed", seq, i)
			}
		}
		if got, ok := g1.SeqOf(g1.TraceID(seq)); !ok || got != seq {
			t.Fatalf("SeqOf(TraceID(%d)) = %d, %v", seq, got, ok)
		}
		if _, ok := g3.SeqOf(g1.TraceID(seq)); ok {
			t.Fatalf("a generator with another seed claims trace %d", seq)
		}
		if g1.TraceID(seq) == g3.TraceID(seq) {
			t.Fatalf("seeds do not change trace IDs")
		}
	}
}

func TestSyntheticEncoderMatchesPdata(t *testing.T) {
	for _, name := range []string{"quickstart", "shop", "proxy", "messaging"} {
		g, _ := ForScenario(openScenario(t, name))
		pb, enc := g.NewBuilder(), g.NewEncoder()
		for batch := range 3 {
			pb.Begin()
			enc.Begin()
			for i := range 40 {
				seq := uint64(batch*40 + i)
				if a, b := pb.Add(seq, 1e18), enc.Add(seq, 1e18); a != b {
					t.Fatalf("%s seq %d: %d vs %d spans", name, seq, a, b)
				}
			}
			want, _ := (&ptrace.ProtoMarshaler{}).MarshalTraces(pb.Traces())
			got, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(enc.Bytes())
			if err != nil {
				t.Fatalf("%s: the encoder's bytes do not decode: %v", name, err)
			}
			if got.SpanCount() != pb.Spans() {
				t.Fatalf("%s: decoded %d spans, want %d", name, got.SpanCount(), pb.Spans())
			}
			again, _ := (&ptrace.ProtoMarshaler{}).MarshalTraces(got)
			if string(again) != string(want) {
				t.Fatalf("%s batch %d: the encoder's batch differs from the pdata builder's", name, batch)
			}
		}
	}
}

// countingSink is an OTLP/gRPC receiver that only counts spans.
type countingSink struct {
	ptraceotlp.UnimplementedGRPCServer
	spans atomic.Int64
}

func (s *countingSink) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	s.spans.Add(int64(req.Traces().SpanCount()))
	return ptraceotlp.NewExportResponse(), nil
}

func startSink(tb testing.TB) (*countingSink, string) {
	tb.Helper()
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(64 << 20))
	sink := &countingSink{}
	ptraceotlp.RegisterGRPCServer(srv, sink)
	return sink, serve(tb, srv)
}

// serve serves srv on a loopback port until the test ends and returns its
// address.
func serve(tb testing.TB, srv *grpc.Server) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go srv.Serve(l)
	tb.Cleanup(srv.Stop)
	return l.Addr().String()
}

func TestSyntheticRunCounts(t *testing.T) {
	g, err := ForScenario(openScenario(t, "shop"))
	if err != nil {
		t.Fatal(err)
	}
	sink, addr := startSink(t)
	st, err := g.Run(context.Background(), RunOptions{Endpoint: addr, MaxTraces: 5000, Workers: 3, Conns: 2, Batch: 200})
	if err != nil {
		t.Fatal(err)
	}
	want := int64(0)
	for seq := range st.Traces {
		_, n := g.Expect(seq)
		want += int64(n)
	}
	if st.Traces != 5000 || st.Sent != want || st.Delivered != want || st.Undelivered() != 0 || sink.spans.Load() != want {
		t.Fatalf("stats %+v, sink %d, expected %d spans", st, sink.spans.Load(), want)
	}

	// A sink that is not there: every span counted as failed.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	st, err = g.Run(context.Background(), RunOptions{Endpoint: dead, MaxTraces: 50, Workers: 2, Conns: 1, Batch: 100})
	if err != nil {
		t.Fatal(err)
	}
	if st.Delivered != 0 || st.Failed != st.Sent || st.Sent == 0 || st.FirstErr == "" {
		t.Fatalf("dead sink: %+v", st)
	}
}

// Benchmarks: ns/op, B/op and allocs/op of the Build benchmarks are per
// span (b.N counts spans); the others report spans/s.

func benchScenarios() []string { return []string{"quickstart", "shop", "messaging"} }

func BenchmarkBuild(b *testing.B) {
	for _, name := range benchScenarios() {
		b.Run(name, func(b *testing.B) {
			g, _ := ForScenario(openScenario(b, name))
			bl := g.NewBuilder()
			b.ReportAllocs()
			seq := uint64(0)
			bl.Begin()
			for built := 0; built < b.N; {
				if bl.Spans() >= 1024 {
					bl.Traces()
					bl.Begin()
				}
				built += bl.Add(seq, 1)
				seq++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "spans/s")
		})
	}
}

// BenchmarkEncodeSpans is the hot path of blast: b.N spans written as
// OTLP protobuf, in batches of 1024.
func BenchmarkEncodeSpans(b *testing.B) {
	for _, name := range benchScenarios() {
		b.Run(name, func(b *testing.B) {
			g, _ := ForScenario(openScenario(b, name))
			bl := g.NewEncoder()
			b.ReportAllocs()
			seq := uint64(0)
			bl.Begin()
			for built := 0; built < b.N; {
				if bl.Spans() >= 1024 {
					bl.Bytes()
					bl.Begin()
				}
				built += bl.Add(seq, 1)
				seq++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "spans/s")
		})
	}
}

// BenchmarkEncodeSpansAttrs: the cost of extra attributes per span (shop).
func BenchmarkEncodeSpansAttrs(b *testing.B) {
	for _, n := range []int{0, 8, 32} {
		b.Run(fmt.Sprintf("extra=%d", n), func(b *testing.B) {
			sc := openScenario(b, "shop")
			g, err := New(sc.Topology, Options{Seed: sc.Seed, Entries: sc.Load[0].Targets, ExtraAttrs: n})
			if err != nil {
				b.Fatal(err)
			}
			bl := g.NewEncoder()
			b.ReportAllocs()
			seq := uint64(0)
			bl.Begin()
			size := 0
			for built := 0; built < b.N; {
				if bl.Spans() >= 1024 {
					size = len(bl.Bytes()) / bl.Spans()
					bl.Begin()
				}
				built += bl.Add(seq, 1)
				seq++
			}
			b.ReportMetric(float64(size), "bytes/span")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "spans/s")
		})
	}
}

// BenchmarkMarshalPdata marshals a pdata batch of about 1024 spans.
func BenchmarkMarshalPdata(b *testing.B) {
	for _, name := range benchScenarios() {
		b.Run(name, func(b *testing.B) {
			g, _ := ForScenario(openScenario(b, name))
			bl := g.NewBuilder()
			bl.Begin()
			for seq := uint64(0); bl.Spans() < 1024; seq++ {
				bl.Add(seq, 1)
			}
			n := bl.Spans()
			req := ptraceotlp.NewExportRequestFromTraces(bl.Traces())
			b.ReportAllocs()
			size := 0
			for b.Loop() {
				buf, err := req.MarshalProto()
				if err != nil {
					b.Fatal(err)
				}
				size = len(buf)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/span")
			b.ReportMetric(float64(size)/float64(n), "bytes/span")
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "spans/s")
		})
	}
}

func BenchmarkExport(b *testing.B) {
	for _, name := range benchScenarios() {
		for _, workers := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/workers=%d", name, workers), func(b *testing.B) {
				g, _ := ForScenario(openScenario(b, name))
				_, addr := startSink(b)
				_, per := g.Expect(0)
				b.ReportAllocs()
				b.ResetTimer()
				st, err := g.Run(context.Background(), RunOptions{Endpoint: addr, MaxTraces: uint64(max(b.N/per, 1)), Workers: workers, Conns: min(workers, 2)})
				if err != nil || st.Undelivered() != 0 {
					b.Fatal(err, st)
				}
				b.ReportMetric(float64(st.Delivered)/b.Elapsed().Seconds(), "spans/s")
			})
		}
	}
}
