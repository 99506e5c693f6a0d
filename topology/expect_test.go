package topology

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr"
)

func TestParseSamplingScenario(t *testing.T) {
	s, err := LoadScenario("testdata/sampling.scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Backend{Type: BackendCollector, Config: "otel/collector.yaml"}); s.Backend.Type != want.Type || s.Backend.Config != want.Config {
		t.Errorf("backend %+v, want %+v", s.Backend, want)
	}
	want := []Expect{
		{Kind: ExpectSampling, Sampling: SamplingExpect{Service: "frontend", Ratio: 0.25, Confidence: 0.95, Method: SamplingExact, MinSamples: 100}},
		{Kind: ExpectSampling, Sampling: SamplingExpect{Service: "frontend", Confidence: 0.99, Method: SamplingWilson, MinSamples: 30}},
		{Kind: ExpectSampling, Sampling: SamplingExpect{Consistent: true, Confidence: 0.99, Method: SamplingWilson, MinSamples: 30}},
		{Kind: ExpectSampling, Sampling: SamplingExpect{Probability: true, Confidence: 0.99, Method: SamplingWilson, MinSamples: 30}},
		{Kind: ExpectTailSampling, TailSampling: TailSamplingExpect{KeepErrors: true, KeepSlowerThan: 500 * time.Millisecond, Probabilistic: 0.1, Confidence: 0.999}},
		{Kind: ExpectTailSampling, TailSampling: TailSamplingExpect{KeepErrors: true, Confidence: 0.99}},
		{Kind: ExpectSpans, Spans: SpansExpect{Where: `service == "payment" && kind == "server"`, During: [2]time.Duration{20 * time.Second, 35 * time.Second},
			Assert: `duration > duration("300ms")`, Count: "all", MinSelected: 1}},
		{Kind: ExpectSpans, Spans: SpansExpect{Where: `status == "error"`, Assert: "true", Count: "none", MinSelected: 0}},
		{Kind: ExpectSpans, Spans: SpansExpect{Assert: `attrs["http.response.status_code"] != "500"`, Count: ">= 0.9", MinSelected: 50}},
		{Kind: ExpectSpans, Spans: SpansExpect{Where: "root", Assert: "true", Count: "<= 3", MinSelected: 1}},
	}
	got := make([]Expect, len(s.Expect))
	for i, e := range s.Expect {
		e.Pos = Pos{}
		got[i] = e
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("expect\n%+v\nwant\n%+v", got, want)
	}
	s.fields = nil // as if built in Go
	if err := s.Validate(); err != nil {
		t.Errorf("without positions: Validate() = %v", err)
	}
}

func TestParseSpanCount(t *testing.T) {
	tests := []struct {
		in      string
		want    SpanCount
		str     string
		holds   [][2]int // matched, selected pairs that hold
		fails   [][2]int
		wantErr string
	}{
		{in: "all", want: SpanCount{Op: CountAtLeast, Share: 1}, str: "all", holds: [][2]int{{3, 3}, {0, 0}}, fails: [][2]int{{2, 3}}},
		{in: "", want: SpanCount{Op: CountAtLeast, Share: 1}, str: "all"},
		{in: "none", want: SpanCount{Op: CountExactly}, str: "none", holds: [][2]int{{0, 5}}, fails: [][2]int{{1, 5}}},
		{in: ">= 5", want: SpanCount{Op: CountAtLeast, N: 5}, str: ">= 5", holds: [][2]int{{5, 9}}, fails: [][2]int{{4, 9}}},
		{in: "<=2", want: SpanCount{Op: CountAtMost, N: 2}, str: "<= 2", holds: [][2]int{{2, 9}}, fails: [][2]int{{3, 9}}},
		{in: " == 0 ", want: SpanCount{Op: CountExactly}, str: "none"},
		{in: "== 7", want: SpanCount{Op: CountExactly, N: 7}, str: "== 7", holds: [][2]int{{7, 9}}, fails: [][2]int{{6, 9}}},
		{in: ">= 0.9", want: SpanCount{Op: CountAtLeast, Share: 0.9}, str: ">= 0.9", holds: [][2]int{{9, 10}, {90, 100}}, fails: [][2]int{{89, 100}}},
		{in: "<= 0.1", want: SpanCount{Op: CountAtMost, Share: 0.1}, str: "<= 0.1", holds: [][2]int{{1, 10}}, fails: [][2]int{{2, 10}}},
		{in: ">= 1.0", want: SpanCount{Op: CountAtLeast, Share: 1}, str: "all"},
		{in: "most", wantErr: `unknown count "most"`},
		{in: "> 3", wantErr: "unknown count"},
		{in: ">= -1", wantErr: "unknown count"},
		{in: ">= 0.0", wantErr: "greater than 0"},
		{in: "== 0.5", wantErr: "not =="},
	}
	for _, tt := range tests {
		got, err := ParseSpanCount(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseSpanCount(%q) error %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want || got.String() != tt.str {
			t.Errorf("ParseSpanCount(%q) = %+v (%s), %v; want %+v (%s)", tt.in, got, got, err, tt.want, tt.str)
		}
		for _, h := range tt.holds {
			if !got.Holds(h[0], h[1]) {
				t.Errorf("%s: %d of %d should hold", tt.in, h[0], h[1])
			}
		}
		for _, h := range tt.fails {
			if got.Holds(h[0], h[1]) {
				t.Errorf("%s: %d of %d should not hold", tt.in, h[0], h[1])
			}
		}
	}
}

func TestCompileSpanExpr(t *testing.T) {
	f := SpanFields{Service: "payment", Kind: "server", Status: "error", Duration: 400 * time.Millisecond,
		Start: 21 * time.Second, Attrs: map[string]string{"http.route": "/pay"}}
	tests := []struct {
		src     string
		want    bool
		wantErr string
	}{
		{src: `service == "payment" && kind == "server"`, want: true},
		{src: `duration > duration("300ms")`, want: true},
		{src: `duration > duration("1s")`, want: false},
		{src: `start >= duration("20s") && start < duration("35s")`, want: true},
		{src: `attrs["http.route"] == "/pay" && attrs["missing"] == ""`, want: true},
		{src: `status in ["error", "unset"] && !root`, want: true},
		{src: `service`, wantErr: "expected bool, but got string"},
		{src: `nope > 1`, wantErr: "unknown name nope (1:1)"},
		{src: `duration(service) > duration`, want: false, wantErr: ""},
		{src: `duration > duration(1)`, wantErr: "duration"},
		{src: `duration > duration("3x")`, wantErr: `unparsable duration "3x", want a number with a unit, like 300ms (1:21)`},
	}
	for _, tt := range tests {
		p, err := CompileSpanExpr(tt.src)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "\n") {
				t.Errorf("CompileSpanExpr(%q) error %v, want one line with %q", tt.src, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("CompileSpanExpr(%q): %v", tt.src, err)
			continue
		}
		out, err := expr.Run(p, f)
		if tt.src == `duration(service) > duration` {
			// An unparsable duration is a run-time error, not a panic.
			if err == nil {
				t.Errorf("%s: want a run-time error", tt.src)
			}
			continue
		}
		if err != nil || out != tt.want {
			t.Errorf("%s = %v, %v; want %v", tt.src, out, err, tt.want)
		}
	}
}
