package assert

import (
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// paymentRun is 40 requests through frontend → payment, one a second;
// payment's server span takes 400ms in [20s, 35s) and 10ms elsewhere, and
// payment errors on requests 30 and 31.
func paymentRun() Input {
	s := newSim(topo(svc("frontend", "payment"), svc("payment"))).spread("frontend", 40, 1)
	for i := range s.in.Backend {
		sp := &s.in.Backend[i]
		if sp.Service != "payment" || sp.Kind != record.KindServer {
			continue
		}
		sec := time.Duration(sp.Start - s.t0).Seconds()
		d := 10 * time.Millisecond
		if sec >= 20 && sec < 35 {
			d = 400 * time.Millisecond
		}
		sp.End = sp.Start + int64(d)
		if int(sec) == 30 || int(sec) == 31 {
			sp.Status = record.StatusError
			sp.Attrs = []record.Attr{{Key: "rpc.grpc.status_code", Value: "14"}}
		}
	}
	return s.in
}

func TestSpans(t *testing.T) {
	payment := `service == "payment" && kind == "server"`
	tests := []struct {
		name    string
		in      func() Input
		exp     topology.SpansExpect
		want    want
		observe string
	}{{
		name: "slow during the window: all",
		exp:  topology.SpansExpect{Where: payment, During: [2]time.Duration{20 * time.Second, 35 * time.Second}, Assert: `duration > duration("300ms")`, Count: "all", MinSelected: 1},
		want: want{status: StatusPass, stats: map[string]float64{"selected": 15, "matched": 15, "ratio": 1}},
	}, {
		name: "slow over the whole run: fails with evidence",
		exp:  topology.SpansExpect{Where: payment, Assert: `duration > duration("300ms")`, Count: "all", MinSelected: 1},
		want: want{status: StatusFail, findings: map[string]int{payment + ` | does not satisfy duration > duration("300ms")`: 25},
			stats: map[string]float64{"selected": 40, "matched": 15}},
	}, {
		name: "a share: at least 0.35 are slow",
		exp:  topology.SpansExpect{Where: payment, Assert: `duration > duration("300ms")`, Count: ">= 0.35"},
		want: want{status: StatusPass, stats: map[string]float64{"ratio": 0.375}},
	}, {
		name: "a share: at least 0.4 fails",
		exp:  topology.SpansExpect{Where: payment, Assert: `duration > duration("300ms")`, Count: ">= 0.4"},
		want: want{status: StatusFail, findings: map[string]int{payment + " | does not satisfy": 25}},
	}, {
		name: "none: no error spans outside the window",
		exp:  topology.SpansExpect{Where: `status == "error" && (start < duration("20s") || start >= duration("35s"))`, Assert: "true", Count: "none"},
		want: want{status: StatusPass, stats: map[string]float64{"selected": 0}},
	}, {
		name: "none: error spans found",
		exp:  topology.SpansExpect{Where: `status == "error"`, Count: "none"},
		want: want{status: StatusFail, findings: map[string]int{`status == "error" | span matches where`: 2}},
	}, {
		name: "attrs, and == N",
		exp:  topology.SpansExpect{Assert: `attrs["rpc.grpc.status_code"] == "14"`, Count: "== 2"},
		want: want{status: StatusPass, stats: map[string]float64{"selected": 120, "matched": 2}},
	}, {
		name: "<= N fails with the matching spans as evidence",
		exp:  topology.SpansExpect{Where: "root", Assert: `end - start < duration("1s")`, Count: "<= 3"},
		want: want{status: StatusFail, findings: map[string]int{"root | satisfies": 40}},
	}, {
		name:    "too few selected",
		exp:     topology.SpansExpect{Where: `service == "nobody"`, Count: "all", MinSelected: 1},
		want:    want{status: StatusFail},
		observe: "too few spans selected to decide (selected=0, need ≥ 1)",
	}, {
		name: "trace is filled when used",
		in: func() Input {
			in := paymentRun()
			in.Backend = in.Backend[:3]
			return in
		},
		exp:  topology.SpansExpect{Assert: `len(trace) == 32`},
		want: want{status: StatusPass, stats: map[string]float64{"selected": 3, "matched": 3}},
	}, {
		name: "a run-time error fails the check",
		exp:  topology.SpansExpect{Where: payment, Assert: `duration > duration(name)`},
		want: want{status: StatusFail, findings: map[string]int{payment + " | expression failed at run time": 40}},
	}, {
		name: "duplicates count once",
		in: func() Input {
			in := paymentRun()
			in.Backend = append(in.Backend, in.Backend[:10]...)
			return in
		},
		exp:  topology.SpansExpect{Count: "all"},
		want: want{status: StatusPass, stats: map[string]float64{"selected": 120, "spans": 120}},
	}, {
		name: "without read-back: not run",
		in: func() Input {
			in := paymentRun()
			in.ReadBack, in.NoReadBack = false, "spans exported elsewhere"
			return in
		},
		exp:  topology.SpansExpect{Where: payment},
		want: want{status: StatusNotRun},
	}, {
		name: "an expression that does not compile: not run",
		exp:  topology.SpansExpect{Where: "nope"},
		want: want{status: StatusNotRun},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := paymentRun
			if tt.in != nil {
				in = tt.in
			}
			v := Spans(in(), tt.exp)
			check(t, v, tt.want)
			checkStreamed(t, in(), []topology.Expect{{Kind: topology.ExpectSpans, Spans: tt.exp}})
			if !strings.Contains(v.Observed+v.Reason, tt.observe) {
				t.Errorf("observed %q, reason %q: want %q", v.Observed, v.Reason, tt.observe)
			}
		})
	}
}

func TestSpansEvidence(t *testing.T) {
	exp := topology.SpansExpect{Where: `service == "payment"`, Assert: `status != "error"`}
	checkStreamed(t, paymentRun(), []topology.Expect{{Kind: topology.ExpectSpans, Spans: exp}})
	v := Spans(paymentRun(), exp)
	if v.Status != StatusFail || len(v.Findings) != 1 {
		t.Fatalf("%s %+v", v.Status, v.Findings)
	}
	f := v.Findings[0]
	if f.Count != 2 || f.Of != 40 || len(f.Examples) != 2 {
		t.Fatalf("finding %+v", f)
	}
	for _, ex := range f.Examples {
		if !strings.Contains(ex, "trace ") || !strings.Contains(ex, `(payment "GET /")`) || !strings.Contains(ex, "duration 400ms, status error, start 3") {
			t.Errorf("example %q", ex)
		}
	}
}

func TestRunNewChecks(t *testing.T) {
	in := chain(3).in
	expects := []topology.Expect{
		{Kind: topology.ExpectSampling, Sampling: topology.SamplingExpect{Consistent: true}},
		{Kind: topology.ExpectSpans, Spans: topology.SpansExpect{Where: `service == "cart"`, Count: ">= 6", MinSelected: 1}},
		{Kind: topology.ExpectSampling},
	}
	vs := Run(in, expects)
	checkStreamed(t, in, expects)
	var got []string
	for _, v := range vs {
		got = append(got, v.Check+":"+string(v.Status))
	}
	if want := "sampling:pass spans:pass sampling:not-run"; strings.Join(got, " ") != want {
		t.Errorf("Run = %v, want %s", got, want)
	}
}
