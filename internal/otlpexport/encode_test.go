package otlpexport

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/tracerig/tracerig/internal/rawcodec"
)

var (
	schema126 = "https://opentelemetry.io/schemas/1.26.0"
	schema124 = "https://opentelemetry.io/schemas/1.24.0"

	resCheckout = resource.NewWithAttributes(schema126,
		attribute.String("service.name", "checkout"),
		attribute.Int("service.replica", 2),
		attribute.StringSlice("process.command_args", []string{"checkout", "-v"}),
	)
	// resCheckoutOther has resCheckout's attributes and another schema URL:
	// tracetransform puts its spans in resCheckout's ResourceSpans.
	resCheckoutOther = resource.NewWithAttributes("https://example.com/other",
		attribute.String("service.name", "checkout"),
		attribute.Int("service.replica", 2),
		attribute.StringSlice("process.command_args", []string{"checkout", "-v"}),
	)
	resPayment = resource.NewWithAttributes(schema124,
		attribute.String("service.name", "payment"),
		attribute.Bool("canary", true),
	)

	scopeHTTP = instrumentation.Scope{
		Name:       "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
		Version:    "v0.72.0",
		SchemaURL:  schema126,
		Attributes: attribute.NewSet(attribute.String("lib", "otelhttp")),
	}
	scopeGRPC = instrumentation.Scope{
		Name:    "grpc",
		Version: "v1.85.0",
		Attributes: attribute.NewSet(
			attribute.Int("shard", 3),
			attribute.StringSlice("tags", []string{"a", "b"}),
		),
	}
	scopeSchemaOnly = instrumentation.Scope{SchemaURL: schema124}
	scopeNameOnly   = instrumentation.Scope{Name: "manual"}
)

// allAttributes holds a value of every attribute type, and the corner
// cases of each.
func allAttributes() []attribute.KeyValue {
	many := make([]string, 100)
	for i := range many {
		many[i] = fmt.Sprintf("element-%d", i)
	}
	return []attribute.KeyValue{
		attribute.Bool("bool.true", true),
		attribute.Bool("bool.false", false),
		attribute.Int64("int.zero", 0),
		attribute.Int64("int.negative", -42),
		attribute.Int64("int.max", math.MaxInt64),
		attribute.Int64("int.min", math.MinInt64),
		attribute.Int("int", 7),
		attribute.Float64("float", 3.25),
		attribute.Float64("float.zero", 0),
		attribute.Float64("float.negative-zero", math.Copysign(0, -1)),
		attribute.Float64("float.nan", math.NaN()),
		attribute.Float64("float.inf", math.Inf(-1)),
		attribute.String("string", "value"),
		attribute.String("string.empty", ""),
		attribute.String("string.long", strings.Repeat("x", 300)),
		attribute.String(strings.Repeat("k", 200), "long key"),
		attribute.String("", "empty key"),
		attribute.BoolSlice("bools", []bool{true, false, true}),
		attribute.BoolSlice("bools.empty", nil),
		attribute.Int64Slice("ints", []int64{1, -1, 1 << 40, 0, 5}),
		attribute.Int64Slice("ints.empty", []int64{}),
		attribute.IntSlice("ints.short", []int{3}),
		attribute.Float64Slice("floats", []float64{1.5, 0, -2, math.Inf(1)}),
		attribute.Float64Slice("floats.empty", nil),
		attribute.StringSlice("strings", []string{"a", "", strings.Repeat("y", 200)}),
		attribute.StringSlice("strings.empty", nil),
		attribute.StringSlice("strings.many", many),
		attribute.ByteSlice("bytes", []byte{0, 1, 2, 0xff}),
		attribute.ByteSlice("bytes.empty", nil),
		attribute.Slice("slice",
			attribute.StringValue("a"),
			attribute.IntValue(1),
			attribute.Value{},
			attribute.SliceValue(attribute.BoolValue(true), attribute.Float64Value(2.5)),
			attribute.MapValue(attribute.String("k", "v")),
			attribute.StringSliceValue([]string{"x", "y"}),
		),
		attribute.Slice("slice.empty"),
		attribute.Map("map",
			attribute.String("b", "x"),
			attribute.Int("a", 1),
			attribute.KeyValue{Key: "e"},
			attribute.Map("nested", attribute.Bool("deep", true)),
		),
		attribute.Map("map.empty"),
		{Key: "empty"},
		{},
	}
}

func mustTraceState(t testing.TB, s string) trace.TraceState {
	t.Helper()
	ts, err := trace.ParseTraceState(s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func spanContext(tid byte, sid byte, flags trace.TraceFlags, ts trace.TraceState, remote bool) trace.SpanContext {
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{tid, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SpanID:     trace.SpanID{sid, 2, 3, 4, 5, 6, 7, 8},
		TraceFlags: flags,
		TraceState: ts,
		Remote:     remote,
	})
}

// fixtureSpans covers every field tracetransform writes and every rule
// it applies.
func fixtureSpans(t testing.TB) []sdktrace.ReadOnlySpan {
	ts := mustTraceState(t, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
	start := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)
	end := start.Add(1500 * time.Millisecond)
	stubs := []tracetest.SpanStub{
		{ // every field
			Name:        "GET /api/cart",
			SpanContext: spanContext(1, 1, trace.FlagsSampled, ts, false),
			Parent:      spanContext(1, 9, trace.FlagsSampled, ts, true),
			SpanKind:    trace.SpanKindServer,
			StartTime:   start,
			EndTime:     end,
			Attributes:  allAttributes(),
			Events: []sdktrace.Event{
				{Name: "exception", Time: start.Add(time.Millisecond), Attributes: []attribute.KeyValue{
					attribute.String("exception.type", "io.EOF"),
					attribute.String("exception.stacktrace", strings.Repeat("frame\n", 50)),
				}, DroppedAttributeCount: 2},
				{Name: "no attributes", Time: start.Add(2 * time.Millisecond)},
				{},
				{Name: "before epoch", Time: time.Unix(-5, 0)},
				{Name: "all attributes", Time: end, Attributes: allAttributes(), DroppedAttributeCount: -3},
			},
			Links: []sdktrace.Link{
				{SpanContext: spanContext(7, 7, trace.FlagsSampled, ts, true), Attributes: []attribute.KeyValue{attribute.String("link", "remote")}, DroppedAttributeCount: 1},
				{SpanContext: spanContext(8, 8, 0, trace.TraceState{}, false)},
				{SpanContext: spanContext(9, 9, trace.FlagsSampled|trace.TraceFlags(0x80), ts, false), Attributes: allAttributes()},
				{},
			},
			Status:               sdktrace.Status{Code: codes.Error, Description: "boom"},
			DroppedAttributes:    3,
			DroppedEvents:        4,
			DroppedLinks:         5,
			Resource:             resCheckout,
			InstrumentationScope: scopeHTTP,
		},
		{ // root span, no attributes, unsampled
			Name:                 "root",
			SpanContext:          spanContext(2, 2, 0, trace.TraceState{}, false),
			SpanKind:             trace.SpanKindClient,
			StartTime:            start,
			EndTime:              end,
			Status:               sdktrace.Status{Code: codes.Ok},
			Resource:             resCheckout,
			InstrumentationScope: scopeHTTP,
		},
		{ // local parent, OK with a description (kept by tracetransform)
			Name:                 "local child",
			SpanContext:          spanContext(2, 3, trace.FlagsSampled, trace.TraceState{}, false),
			Parent:               spanContext(2, 2, trace.FlagsSampled, trace.TraceState{}, false),
			SpanKind:             trace.SpanKindInternal,
			StartTime:            start,
			EndTime:              end,
			Status:               sdktrace.Status{Code: codes.Ok, Description: "fine"},
			Resource:             resCheckout,
			InstrumentationScope: scopeGRPC,
		},
		{ // remote parent without a valid span ID, unset status with a description
			Name:                 "producer",
			SpanContext:          spanContext(3, 3, trace.FlagsSampled, trace.TraceState{}, true),
			Parent:               trace.SpanContext{}.WithRemote(true),
			SpanKind:             trace.SpanKindProducer,
			StartTime:            start,
			EndTime:              end,
			Status:               sdktrace.Status{Code: codes.Unset, Description: "ignored by the SDK, not by tracetransform"},
			Resource:             resPayment,
			InstrumentationScope: scopeGRPC,
		},
		{ // unended, no name, huge dropped counts
			SpanContext:          spanContext(4, 4, trace.FlagsSampled, trace.TraceState{}, false),
			SpanKind:             trace.SpanKindConsumer,
			StartTime:            start,
			DroppedAttributes:    math.MaxInt64,
			DroppedEvents:        -1,
			DroppedLinks:         math.MaxUint32 + 1,
			Resource:             resPayment,
			InstrumentationScope: scopeHTTP,
		},
		{ // unknown kind and status code
			Name:                 "odd",
			SpanContext:          spanContext(5, 5, trace.FlagsSampled, trace.TraceState{}, false),
			SpanKind:             trace.SpanKind(42),
			StartTime:            time.Unix(-10, 0),
			EndTime:              end,
			Status:               sdktrace.Status{Code: codes.Code(9), Description: "?"},
			Resource:             resCheckoutOther,
			InstrumentationScope: scopeSchemaOnly,
		},
		{ // unspecified kind, zero scope
			Name:        "unspecified",
			SpanContext: spanContext(6, 6, trace.FlagsSampled, trace.TraceState{}, false),
			StartTime:   start,
			EndTime:     end,
			Resource:    resPayment,
		},
		{ // back to the first resource and scope
			Name:                 "again",
			SpanContext:          spanContext(1, 2, trace.FlagsSampled, ts, false),
			Parent:               spanContext(1, 1, trace.FlagsSampled, ts, false),
			SpanKind:             trace.SpanKindServer,
			StartTime:            start,
			EndTime:              end,
			Attributes:           []attribute.KeyValue{attribute.String("http.route", "/api/cart")},
			Status:               sdktrace.Status{Code: codes.Error},
			Resource:             resCheckoutOther,
			InstrumentationScope: scopeHTTP,
		},
		{ // an invalid span context
			Name:                 "invalid context",
			Resource:             resPayment,
			InstrumentationScope: scopeNameOnly,
		},
	}
	spans := tracetest.SpanStubs(stubs).Snapshots()
	return append(spans[:2], append([]sdktrace.ReadOnlySpan{nil}, spans[2:]...)...)
}

// exportBoth exports spans through otlptracegrpc, then through an Exporter,
// to a new receiver, and returns the two requests.
func exportBoth(t testing.TB, spans []sdktrace.ReadOnlySpan) (want, got []byte) {
	t.Helper()
	srv := startServer(t, okHandler)
	return exportBothTo(t, srv, srv.dial(t), spans)
}

// exportBothTo is exportBoth to the receiver srv, connected by conn.
func exportBothTo(t testing.TB, srv *testServer, conn *Client, spans []sdktrace.ReadOnlySpan) (want, got []byte) {
	t.Helper()
	ctx := context.Background()
	before := srv.callCount()

	ref, err := otlptracegrpc.New(ctx, otlptracegrpc.WithGRPCConn(conn.conn))
	if err != nil {
		t.Fatal(err)
	}
	if err := ref.ExportSpans(ctx, spans); err != nil {
		t.Fatalf("otlptracegrpc: %v", err)
	}
	if err := ref.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	exp := New(conn)
	if err := exp.ExportSpans(ctx, spans); err != nil {
		t.Fatalf("otlpexport: %v", err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	reqs := srv.requests()
	if len(reqs) != before+2 {
		t.Fatalf("received %d requests, want 2", len(reqs)-before)
	}
	srv.mu.Lock()
	for i, m := range srv.methods[before:] {
		if m != rawcodec.TraceExportMethod {
			t.Errorf("request %d: method %q, want %q", i, m, rawcodec.TraceExportMethod)
		}
	}
	srv.mu.Unlock()
	return reqs[before], reqs[before+1]
}

// assertSameRequest checks that got, the request of an Exporter, is the
// request otlptracegrpc sent (want).
//
// tracetransform builds the ResourceSpans from a map, so their order is
// random: they are sorted before comparing. The order of the ScopeSpans in
// a ResourceSpans and of the spans in a ScopeSpans is the order of first
// appearance in both, and is compared as it is. Go's protobuf marshals
// fields in field number order with minimal varints, and so does the
// Exporter, so the bytes themselves are compared too: as they are when
// there is a single ResourceSpans, after sorting otherwise.
func assertSameRequest(t testing.TB, want, got []byte) {
	t.Helper()
	var wantReq, gotReq coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(want, &wantReq); err != nil {
		t.Fatalf("otlptracegrpc request: %v", err)
	}
	if err := proto.Unmarshal(got, &gotReq); err != nil {
		t.Fatalf("otlpexport request: %v", err)
	}
	det := proto.MarshalOptions{Deterministic: true}
	if again, err := det.Marshal(&gotReq); err != nil {
		t.Fatal(err)
	} else if !bytes.Equal(again, got) {
		t.Errorf("otlpexport request is not in canonical encoding: re-marshalled it differs")
	}
	if len(wantReq.ResourceSpans) == 1 && !bytes.Equal(want, got) {
		t.Errorf("requests differ byte for byte (%d and %d bytes)", len(want), len(got))
	}

	sortResourceSpans(t, &wantReq)
	sortResourceSpans(t, &gotReq)
	if !proto.Equal(&wantReq, &gotReq) {
		t.Fatalf("requests differ:\n%s", diffJSON(t, &wantReq, &gotReq))
	}
	w, err := det.Marshal(&wantReq)
	if err != nil {
		t.Fatal(err)
	}
	g, err := det.Marshal(&gotReq)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w, g) {
		t.Errorf("sorted requests differ byte for byte")
	}
}

func sortResourceSpans(t testing.TB, req *coltracepb.ExportTraceServiceRequest) {
	t.Helper()
	key := func(rs *tracepb.ResourceSpans) string {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(rs.Resource)
		if err != nil {
			t.Fatal(err)
		}
		return string(b) + "\x00" + rs.SchemaUrl
	}
	slices.SortStableFunc(req.ResourceSpans, func(a, b *tracepb.ResourceSpans) int {
		return cmp.Compare(key(a), key(b))
	})
}

// diffJSON shows where two messages differ, as indented JSON lines.
func diffJSON(t testing.TB, want, got proto.Message) string {
	t.Helper()
	opts := protojson.MarshalOptions{Multiline: true, Indent: "  "}
	w := strings.Split(opts.Format(want), "\n")
	g := strings.Split(opts.Format(got), "\n")
	var sb strings.Builder
	for i := range max(len(w), len(g)) {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			fmt.Fprintf(&sb, "line %d:\n  otlptracegrpc: %s\n  otlpexport:    %s\n", i+1, a, b)
			if sb.Len() > 4000 {
				sb.WriteString("...\n")
				break
			}
		}
	}
	return sb.String()
}

func TestEquivalence(t *testing.T) {
	want, got := exportBoth(t, fixtureSpans(t))
	assertSameRequest(t, want, got)
}

func TestEquivalenceSingleResource(t *testing.T) {
	var spans []sdktrace.ReadOnlySpan
	for _, s := range fixtureSpans(t) {
		if s != nil && s.Resource() != resPayment {
			spans = append(spans, s)
		}
	}
	want, got := exportBoth(t, spans)
	if !bytes.Equal(want, got) {
		t.Fatalf("requests differ byte for byte")
	}
	assertSameRequest(t, want, got)
}

// TestEquivalenceNilResource checks the rules for a nil resource: its
// spans share the ResourceSpans of the empty resource, which has a
// Resource field only when the first of them has a resource.
func TestEquivalenceNilResource(t *testing.T) {
	for _, first := range []*resource.Resource{nil, resource.Empty()} {
		second := resource.Empty()
		if first != nil {
			second = nil
		}
		spans := tracetest.SpanStubs{
			{Name: "a", Resource: first, InstrumentationScope: scopeHTTP},
			{Name: "b", Resource: second, InstrumentationScope: scopeGRPC},
			{Name: "c", Resource: resPayment},
		}.Snapshots()
		want, got := exportBoth(t, spans)
		assertSameRequest(t, want, got)
	}
}

// TestEquivalenceRandom compares the requests of many random spans, in
// random batches.
func TestEquivalenceRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	resources := []*resource.Resource{resCheckout, resCheckoutOther, resPayment, nil}
	scopes := []instrumentation.Scope{scopeHTTP, scopeGRPC, scopeSchemaOnly, scopeNameOnly, {}}
	var spans []sdktrace.ReadOnlySpan
	for range 600 {
		s := randomSpan(rng)
		s.Resource = resources[rng.IntN(len(resources))]
		s.InstrumentationScope = scopes[rng.IntN(len(scopes))]
		spans = append(spans, s.Snapshot())
	}
	srv := startServer(t, okHandler)
	conn := srv.dial(t)
	want, got := exportBothTo(t, srv, conn, spans)
	assertSameRequest(t, want, got)

	for len(spans) > 0 {
		n := min(len(spans), 1+rng.IntN(80))
		want, got := exportBothTo(t, srv, conn, spans[:n])
		assertSameRequest(t, want, got)
		spans = spans[n:]
	}
}

func randomSpan(rng *rand.Rand) tracetest.SpanStub {
	var tid trace.TraceID
	var sid, pid trace.SpanID
	for i := range tid {
		tid[i] = byte(rng.Uint32())
	}
	for i := range sid {
		sid[i] = byte(rng.Uint32())
		pid[i] = byte(rng.Uint32())
	}
	var ts trace.TraceState
	if rng.IntN(4) == 0 {
		ts, _ = ts.Insert("vendor", fmt.Sprintf("v%d", rng.IntN(1000)))
		if rng.IntN(2) == 0 {
			ts, _ = ts.Insert("other", "x")
		}
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: sid, TraceFlags: trace.TraceFlags(rng.IntN(256)), TraceState: ts, Remote: rng.IntN(2) == 0,
	})
	var parent trace.SpanContext
	switch rng.IntN(3) {
	case 1:
		parent = sc.WithSpanID(pid).WithRemote(false)
	case 2:
		parent = sc.WithSpanID(pid).WithRemote(true)
	}
	start := time.Unix(0, rng.Int64N(2e18))
	s := tracetest.SpanStub{
		Name:              randomString(rng, 40),
		SpanContext:       sc,
		Parent:            parent,
		SpanKind:          trace.SpanKind(rng.IntN(7)),
		StartTime:         start,
		EndTime:           start.Add(time.Duration(rng.Int64N(int64(time.Minute)))),
		Attributes:        randomAttributes(rng, rng.IntN(20), 2),
		Status:            sdktrace.Status{Code: codes.Code(rng.IntN(4)), Description: randomString(rng, 3)},
		DroppedAttributes: rng.IntN(3) - 1,
		DroppedEvents:     rng.IntN(3),
		DroppedLinks:      rng.IntN(3),
	}
	for range rng.IntN(4) {
		s.Events = append(s.Events, sdktrace.Event{
			Name:                  randomString(rng, 20),
			Time:                  start.Add(time.Duration(rng.Int64N(1e9))),
			Attributes:            randomAttributes(rng, rng.IntN(5), 1),
			DroppedAttributeCount: rng.IntN(2),
		})
	}
	for range rng.IntN(3) {
		var ltid trace.TraceID
		for i := range ltid {
			ltid[i] = byte(rng.Uint32())
		}
		s.Links = append(s.Links, sdktrace.Link{
			SpanContext:           sc.WithTraceID(ltid).WithRemote(rng.IntN(2) == 0).WithTraceFlags(trace.TraceFlags(rng.IntN(2))),
			Attributes:            randomAttributes(rng, rng.IntN(4), 1),
			DroppedAttributeCount: rng.IntN(2),
		})
	}
	return s
}

func randomString(rng *rand.Rand, maxLen int) string {
	n := rng.IntN(maxLen + 1)
	if rng.IntN(20) == 0 {
		n += 200 // lengths of two varint bytes
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + rng.IntN(26))
	}
	return string(b)
}

func randomAttributes(rng *rand.Rand, n, depth int) []attribute.KeyValue {
	kvs := make([]attribute.KeyValue, n)
	for i := range kvs {
		kvs[i] = attribute.KeyValue{Key: attribute.Key(randomString(rng, 12)), Value: randomValue(rng, depth)}
	}
	return kvs
}

func randomValue(rng *rand.Rand, depth int) attribute.Value {
	kinds := 11
	if depth == 0 {
		kinds = 9
	}
	switch rng.IntN(kinds) {
	case 0:
		return attribute.BoolValue(rng.IntN(2) == 0)
	case 1:
		return attribute.Int64Value(rng.Int64() - math.MaxInt64/2)
	case 2:
		return attribute.Float64Value(rng.NormFloat64() * 1e6)
	case 3:
		return attribute.StringValue(randomString(rng, 30))
	case 4:
		v := make([]bool, rng.IntN(5))
		for i := range v {
			v[i] = rng.IntN(2) == 0
		}
		return attribute.BoolSliceValue(v)
	case 5:
		v := make([]int64, rng.IntN(5))
		for i := range v {
			v[i] = rng.Int64N(1<<40) - 1<<39
		}
		return attribute.Int64SliceValue(v)
	case 6:
		v := make([]float64, rng.IntN(5))
		for i := range v {
			v[i] = rng.Float64()
		}
		return attribute.Float64SliceValue(v)
	case 7:
		v := make([]string, rng.IntN(5))
		for i := range v {
			v[i] = randomString(rng, 10)
		}
		return attribute.StringSliceValue(v)
	case 8:
		if rng.IntN(2) == 0 {
			return attribute.Value{}
		}
		return attribute.ByteSliceValue([]byte(randomString(rng, 10)))
	case 9:
		v := make([]attribute.Value, rng.IntN(4))
		for i := range v {
			v[i] = randomValue(rng, depth-1)
		}
		return attribute.SliceValue(v...)
	default:
		return attribute.MapValue(randomAttributes(rng, rng.IntN(4), depth-1)...)
	}
}

// shiftedSpan moves a span in time, as callers wrapping the SDK's spans
// do.
type shiftedSpan struct {
	sdktrace.ReadOnlySpan
	d time.Duration
}

func (s shiftedSpan) StartTime() time.Time { return s.ReadOnlySpan.StartTime().Add(s.d) }
func (s shiftedSpan) EndTime() time.Time   { return s.ReadOnlySpan.EndTime().Add(s.d) }

func TestWrappedSpans(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	base := tracetest.SpanStub{
		Name:        "wrapped",
		SpanContext: spanContext(1, 1, trace.FlagsSampled, trace.TraceState{}, false),
		StartTime:   start,
		EndTime:     start.Add(time.Second),
		Resource:    resCheckout,
	}.Snapshot()
	const d = 90 * time.Minute
	spans := []sdktrace.ReadOnlySpan{shiftedSpan{ReadOnlySpan: base, d: d}}

	want, got := exportBoth(t, spans)
	assertSameRequest(t, want, got)

	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(got, &req); err != nil {
		t.Fatal(err)
	}
	s := req.ResourceSpans[0].ScopeSpans[0].Spans[0]
	if got, want := s.StartTimeUnixNano, uint64(start.Add(d).UnixNano()); got != want {
		t.Errorf("start time %d, want the wrapper's %d", got, want)
	}
	if got, want := s.EndTimeUnixNano, uint64(start.Add(d+time.Second).UnixNano()); got != want {
		t.Errorf("end time %d, want the wrapper's %d", got, want)
	}
}

// TestEncodeAllocations checks that encoding spans allocates nothing once
// the buffers have grown.
func TestEncodeAllocations(t *testing.T) {
	spans := benchmarkSpans(512)
	enc := &encoder{index: make(map[groupKey]int32)}
	c := newBlockCache()
	var b []byte
	allocs := testing.AllocsPerRun(20, func() {
		enc.group(spans)
		b, _ = enc.encode(b, spans, c)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per encoding of %d spans, want 0", allocs, len(spans))
	}
}

func TestCloseMessage(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 300, 16383, 16384, 70000, 2_100_000} {
		for reserve := 1; reserve <= maxLenBytes; reserve++ {
			content := bytes.Repeat([]byte{0xab}, n)
			b, start := openMessage([]byte{0xff}, 3, reserve)
			b = append(b, content...)
			b = closeMessage(b, start, reserve)
			want := appendBytesField([]byte{0xff}, 3, content)
			if !bytes.Equal(b, want) {
				t.Errorf("n=%d reserve=%d: wrong encoding", n, reserve)
			}
		}
	}
}

// TestEquivalenceSDKSpans compares the requests of spans recorded by the
// SDK itself, dropped attributes, events and links included.
func TestEquivalenceSDKSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	limits := sdktrace.NewSpanLimits()
	limits.AttributeCountLimit = 5
	limits.EventCountLimit = 2
	limits.LinkCountLimit = 1
	limits.AttributePerEventCountLimit = 1
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(rec),
		sdktrace.WithResource(resCheckout),
		sdktrace.WithRawSpanLimits(limits),
	)
	ctx := context.Background()
	tracer := tp.Tracer("shop", trace.WithInstrumentationVersion("v1.2.3"),
		trace.WithSchemaURL(schema126), trace.WithInstrumentationAttributes(attribute.String("team", "cart")))
	other := tp.Tracer("other")

	remote := trace.ContextWithRemoteSpanContext(ctx, spanContext(1, 9, trace.FlagsSampled, mustTraceState(t, "a=b"), true))
	ctx, root := tracer.Start(remote, "GET /cart", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(allAttributes()...),
		trace.WithLinks(
			trace.Link{SpanContext: spanContext(3, 3, 0, trace.TraceState{}, true), Attributes: []attribute.KeyValue{attribute.Int("n", 1)}},
			trace.Link{SpanContext: spanContext(4, 4, 0, trace.TraceState{}, false)},
		))
	_, child := other.Start(ctx, "query", trace.WithSpanKind(trace.SpanKindClient))
	child.AddEvent("retry", trace.WithAttributes(attribute.Int("attempt", 2), attribute.Bool("dropped", true)))
	child.RecordError(fmt.Errorf("no rows"))
	child.AddEvent("third")
	child.SetStatus(codes.Error, "no rows")
	child.End()
	root.SetStatus(codes.Ok, "dropped by the SDK")
	root.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	want, got := exportBoth(t, rec.Ended())
	if !bytes.Equal(want, got) {
		t.Errorf("requests differ byte for byte")
	}
	assertSameRequest(t, want, got)
}
