package infer

import (
	"strings"
	"testing"

	"github.com/tracerig/tracerig/internal/record"
)

// TestServerSpanNames: routes, protocols and statuses as the HTTP and
// RPC semantic conventions write them, before and after RPC's were made
// stable.
func TestServerSpanNames(t *testing.T) {
	tests := []struct {
		name       string
		span       record.Span
		route      string
		grpc, fail bool
		status     uint16
	}{
		{"http route", record.Span{Name: "GET", Attrs: attrs("http.request.method", "GET", "http.route", "/cart/{id}", "http.response.status_code", "200")},
			"GET /cart/{id}", false, false, 200},
		{"http name", record.Span{Name: "POST /orders", Attrs: attrs("http.status_code", "503")}, "POST /orders", false, true, 503},
		{"grpc before", record.Span{Name: "shop.Payment/Charge", Attrs: attrs("rpc.system", "grpc", "rpc.service", "shop.Payment", "rpc.method", "Charge", "rpc.grpc.status_code", "14")},
			"shop.Payment/Charge", true, true, 14},
		{"grpc stable", record.Span{Name: "shop.Payment/Charge", Attrs: attrs("rpc.system.name", "grpc", "rpc.method", "shop.Payment/Charge", "rpc.response.status_code", "UNAVAILABLE")},
			"shop.Payment/Charge", true, true, 14},
		{"grpc stable ok", record.Span{Name: "shop.Fraud/Score", Attrs: attrs("rpc.system.name", "grpc", "rpc.method", "shop.Fraud/Score", "rpc.response.status_code", "OK")},
			"shop.Fraud/Score", true, false, 0},
		{"grpc name only", record.Span{Name: "shop.Fraud/Score", Attrs: attrs("rpc.system.name", "grpc")}, "shop.Fraud/Score", true, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			grpc := isGRPC(&tt.span)
			status, flags := statusOf(&tt.span, 0)
			if got := routeName(&tt.span, grpc); got != tt.route || grpc != tt.grpc {
				t.Errorf("route %q (grpc %v), want %q (grpc %v)", got, grpc, tt.route, tt.grpc)
			}
			if status != tt.status || (flags&flagError != 0) != tt.fail {
				t.Errorf("status %d (failed %v), want %d (failed %v)", status, flags&flagError != 0, tt.status, tt.fail)
			}
		})
	}
}

func attrs(kv ...string) []record.Attr {
	var out []record.Attr
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, record.Attr{Key: kv[i], Value: kv[i+1]})
	}
	return out
}

// TestGRPCEntries: a gRPC entry route is listed in the scenario as not
// loaded (load drives HTTP routes); a source whose only entries are gRPC
// gives no scenario, and says why.
func TestGRPCEntries(t *testing.T) {
	grpcRoot := func(n byte) record.Span {
		return record.Span{Trace: record.TraceID{n, 1}, ID: record.SpanID{n, 1}, Start: int64(n) * 1e9, End: int64(n)*1e9 + 1e6,
			Service: "pay", Name: "shop.Pay/Charge", Kind: record.KindServer, Attrs: attrs("rpc.system.name", "grpc", "rpc.method", "shop.Pay/Charge")}
	}
	httpRoot := func(n byte) record.Span {
		return record.Span{Trace: record.TraceID{n, 2}, ID: record.SpanID{n, 2}, Start: int64(n) * 1e9, End: int64(n)*1e9 + 1e6,
			Service: "web", Name: "GET /", Kind: record.KindServer, Attrs: attrs("http.request.method", "GET", "http.route", "/")}
	}
	b := NewBuilder(Options{})
	for n := byte(1); n <= 4; n++ {
		g, h := grpcRoot(n), httpRoot(n)
		b.Add(&g)
		b.Add(&h)
	}
	res, err := b.Result()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res.Scenario), "# not loaded: pay shop.Pay/Charge, 4 root spans: a grpc entry route") {
		t.Errorf("the scenario does not list the gRPC entry:\n%s", res.Scenario)
	}
	only := NewBuilder(Options{})
	for n := byte(1); n <= 4; n++ {
		g := grpcRoot(n)
		only.Add(&g)
	}
	if _, err := only.Result(); err == nil || !strings.Contains(err.Error(), "no http entry route") {
		t.Errorf("err = %v, want one saying there is no http entry route", err)
	}
}
