package simulator

import (
	"context"
	"net/http"
	"strings"

	"go.opentelemetry.io/contrib/propagators/b3"
	"go.opentelemetry.io/contrib/propagators/jaeger"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// HopHeader is the harness header every simulated request carries: the hop
// ID and the load request it belongs to, as "hop-request" in hex. It is
// tracerig's own, so no header fault touches it.
const HopHeader = "Tracerig-Hop"

// hopMetadata is HopHeader as gRPC metadata keys are written.
const hopMetadata = "tracerig-hop"

// propagatorFor builds the composite propagator of a service.
func propagatorFor(names []topology.Propagator) propagation.TextMapPropagator {
	var ps []propagation.TextMapPropagator
	for _, n := range names {
		switch n {
		case topology.PropTraceContext:
			ps = append(ps, propagation.TraceContext{})
		case topology.PropBaggage:
			ps = append(ps, propagation.Baggage{})
		case topology.PropB3:
			ps = append(ps, b3.New(b3.WithInjectEncoding(b3.B3SingleHeader)))
		case topology.PropB3Multi:
			ps = append(ps, b3.New(b3.WithInjectEncoding(b3.B3MultipleHeader)))
		case topology.PropJaeger:
			ps = append(ps, jaeger.Jaeger{})
		}
	}
	return propagation.NewCompositeTextMapPropagator(ps...)
}

// anyFormat reads a trace context in any format tracerig knows; it stands in
// for the missing propagators of an uninstrumented service when the ledger
// records what such a hop received.
var anyFormat = propagation.NewCompositeTextMapPropagator(
	jaeger.Jaeger{}, b3.New(), propagation.TraceContext{},
)

// traceHeaders lists the header names (canonical HTTP form) that carry trace
// context or baggage, with the bit each sets in record.Header.
var traceHeaders = []struct {
	name string
	bit  record.Header
}{
	{"Traceparent", record.HeaderTraceparent},
	{"Tracestate", record.HeaderTracestate},
	{"Baggage", record.HeaderBaggage},
	{"B3", record.HeaderB3Single},
	{"X-B3-Traceid", record.HeaderB3Multi},
	{"X-B3-Spanid", record.HeaderB3Multi},
	{"X-B3-Sampled", record.HeaderB3Multi},
	{"X-B3-Parentspanid", record.HeaderB3Multi},
	{"X-B3-Flags", record.HeaderB3Multi},
	{"Uber-Trace-Id", record.HeaderUberTraceID},
}

// headerSet returns the trace headers present in h.
func headerSet(get func(string) string) record.Header {
	var set record.Header
	for _, th := range traceHeaders {
		if get(th.name) != "" {
			set |= th.bit
		}
	}
	return set
}

func httpHeaderSet(h http.Header) record.Header { return headerSet(h.Get) }

// copyTraceHeaders copies every trace header from src to dst, as a proxy
// that forwards them does.
func copyTraceHeaders(dst, src http.Header) {
	for _, th := range traceHeaders {
		if v, ok := src[th.name]; ok {
			dst[th.name] = v
		}
	}
}

// extracted returns the remote context p reads from carrier.
func extracted(p propagation.TextMapPropagator, carrier propagation.TextMapCarrier) record.Context {
	sc := trace.SpanContextFromContext(p.Extract(context.Background(), carrier))
	return contextOf(sc)
}

func contextOf(sc trace.SpanContext) record.Context {
	if !sc.IsValid() {
		return record.Context{}
	}
	return record.Context{Trace: record.TraceID(sc.TraceID()), Span: record.SpanID(sc.SpanID()), Sampled: sc.IsSampled()}
}

// parseHop reads the harness header value "hop-request".
func parseHop(v string) (hop, request uint64, ok bool) {
	h, r, found := strings.Cut(v, "-")
	if !found {
		return 0, 0, false
	}
	hop, err1 := parseHex(h)
	request, err2 := parseHex(r)
	return hop, request, err1 && err2
}

func formatHop(hop, request uint64) string {
	b := make([]byte, 0, 33)
	b = appendHex(b, hop)
	b = append(b, '-')
	return string(appendHex(b, request))
}

func appendHex(b []byte, v uint64) []byte {
	const digits = "0123456789abcdef"
	var buf [16]byte
	i := len(buf)
	for {
		i--
		buf[i] = digits[v&0xf]
		v >>= 4
		if v == 0 {
			break
		}
	}
	return append(b, buf[i:]...)
}

func parseHex(s string) (uint64, bool) {
	if s == "" || len(s) > 16 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}
