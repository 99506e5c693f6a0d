package simulator

import (
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc/metadata"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestHeaderFaults(t *testing.T) {
	fault := func(k topology.FaultKind, h topology.HeaderFault) topology.Fault {
		return topology.Fault{Kind: k, Headers: h}
	}
	tests := []struct {
		name  string
		f     topology.Fault
		check func(t *testing.T, h http.Header)
	}{
		{"strip all", fault(topology.FaultStripHeaders, topology.HeaderFault{}), func(t *testing.T, h http.Header) {
			if got := httpHeaderSet(h); got != 0 {
				t.Errorf("headers left: %v", got)
			}
		}},
		{"strip traceparent only", fault(topology.FaultStripHeaders, topology.HeaderFault{Strip: []string{"traceparent"}}), func(t *testing.T, h http.Header) {
			if got := httpHeaderSet(h); got != record.HeaderTracestate|record.HeaderBaggage|record.HeaderB3Multi {
				t.Errorf("headers left: %v", got)
			}
		}},
		{"strip x-b3 family", fault(topology.FaultStripHeaders, topology.HeaderFault{Strip: []string{"x-b3-traceid"}}), func(t *testing.T, h http.Header) {
			if h.Get("X-B3-Spanid") != "" || h.Get("X-B3-Traceid") != "" || h.Get("Traceparent") == "" {
				t.Errorf("headers: %v", h)
			}
		}},
		{"zero trace id", fault(topology.FaultCorruptTraceparent, topology.HeaderFault{Corrupt: topology.CorruptZeroTraceID}), unreadable("00-00000000000000000000000000000000-00f067aa0ba902b7-01")},
		{"zero parent id", fault(topology.FaultCorruptTraceparent, topology.HeaderFault{Corrupt: topology.CorruptZeroParentID}), unreadable("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")},
		{"bad version", fault(topology.FaultCorruptTraceparent, topology.HeaderFault{Corrupt: topology.CorruptVersion}), unreadable("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")},
		{"bad flags", fault(topology.FaultCorruptTraceparent, topology.HeaderFault{Corrupt: topology.CorruptFlags}), unreadable("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz")},
		{"wrong length", fault(topology.FaultCorruptTraceparent, topology.HeaderFault{Corrupt: topology.CorruptLength}), unreadable("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01")},
		{"upper case", fault(topology.FaultCorruptTraceparent, topology.HeaderFault{Corrupt: topology.CorruptUpperCase}), unreadable("00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01")},
		{"duplicate", fault(topology.FaultDuplicateHeader, topology.HeaderFault{}), func(t *testing.T, h http.Header) {
			v := h.Values("Traceparent")
			if len(v) != 2 || v[0] != tp || v[1] == tp || len(v[1]) != len(tp) {
				t.Errorf("traceparent values %q", v)
			}
		}},
		{"tracestate members", fault(topology.FaultTracestateOverflow, topology.HeaderFault{Members: 33}), func(t *testing.T, h http.Header) {
			if n := strings.Count(h.Get("Tracestate"), ",") + 1; n != 33 {
				t.Errorf("tracestate has %d members, want 33", n)
			}
		}},
		{"tracestate bytes", fault(topology.FaultTracestateOverflow, topology.HeaderFault{Members: 1, Bytes: 600}), func(t *testing.T, h http.Header) {
			if n := len(h.Get("Tracestate")); n < 600 {
				t.Errorf("tracestate is %d bytes, want 600 or more", n)
			}
		}},
		{"baggage entries", fault(topology.FaultBaggageOverflow, topology.HeaderFault{Entries: 200}), func(t *testing.T, h http.Header) {
			if n := strings.Count(h.Get("Baggage"), ",") + 1; n != 200 {
				t.Errorf("baggage has %d entries, want 200", n)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{
				"Traceparent":  {tp},
				"Tracestate":   {"vendor=x"},
				"Baggage":      {"user=1"},
				"X-B3-Traceid": {"4bf92f3577b34da6a3ce929d0e0e4736"},
				"X-B3-Spanid":  {"00f067aa0ba902b7"},
			}
			applyHeaderFault(h, tt.f, 42)
			tt.check(t, h)
		})
	}
}

// unreadable checks traceparent was rewritten to want and a W3C reader
// rejects it.
func unreadable(want string) func(t *testing.T, h http.Header) {
	return func(t *testing.T, h http.Header) {
		if got := h.Get("Traceparent"); got != want {
			t.Errorf("traceparent %q, want %q", got, want)
		}
		if c := extracted(propagation.TraceContext{}, propagation.HeaderCarrier(h)); c.IsValid() {
			t.Errorf("a W3C reader accepted the corrupted header as %+v", c)
		}
	}
}

func TestHeaderFaultsOnMetadata(t *testing.T) {
	md := metadata.Pairs("traceparent", tp, "baggage", "a=b")
	applyHeaderFault(mdHeaders(md), topology.Fault{Kind: topology.FaultStripHeaders}, 1)
	if len(md) != 0 {
		t.Errorf("metadata left: %v", md)
	}
	md = metadata.Pairs("traceparent", tp)
	applyHeaderFault(mdHeaders(md), topology.Fault{Kind: topology.FaultDuplicateHeader}, 1)
	if len(md.Get("traceparent")) != 2 {
		t.Errorf("metadata %v, want traceparent twice", md)
	}
}
