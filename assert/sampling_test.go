package assert

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

func TestIntervals(t *testing.T) {
	// Hand-computed (and as R's binom.test / prop.test(correct=FALSE) give).
	tests := []struct {
		k, n       int
		conf       float64
		wLo, wHi   float64
		cpLo, cpHi float64
	}{
		{25, 100, 0.95, 0.1755, 0.3430, 0.1688, 0.3466},
		// k = 0 and k = n: Clopper-Pearson bounds are (α/2)^(1/n) forms,
		// Wilson's upper bound at k = 0 is z²/(n+z²).
		{0, 10, 0.95, 0, 3.8415 / 13.8415, 0, 1 - math.Pow(0.025, 0.1)},
		{10, 10, 0.95, 10 / 13.8415, 1, math.Pow(0.025, 0.1), 1},
	}
	for _, tt := range tests {
		lo, hi := wilson(tt.k, tt.n, tt.conf)
		if math.Abs(lo-tt.wLo) > 1e-4 || math.Abs(hi-tt.wHi) > 1e-4 {
			t.Errorf("wilson(%d, %d, %g) = [%.5f, %.5f], want [%.4f, %.4f]", tt.k, tt.n, tt.conf, lo, hi, tt.wLo, tt.wHi)
		}
		lo, hi = clopperPearson(tt.k, tt.n, tt.conf)
		if math.Abs(lo-tt.cpLo) > 1e-4 || math.Abs(hi-tt.cpHi) > 1e-4 {
			t.Errorf("clopperPearson(%d, %d, %g) = [%.5f, %.5f], want [%.4f, %.4f]", tt.k, tt.n, tt.conf, lo, hi, tt.cpLo, tt.cpHi)
		}
	}
	if z := normalQuantile(0.95); math.Abs(z-1.959964) > 1e-6 {
		t.Errorf("z(0.95) = %v", z)
	}
}

func TestBinomTest(t *testing.T) {
	tests := []struct {
		k, n int
		p    float64
		want float64 // R: binom.test(k, n, p)$p.value
	}{
		{7, 20, 0.5, 0.2632},
		{2, 20, 0.5, 0.0004025},
		{25, 100, 0.25, 1},
		{3, 10, 0.1, 0.07019},
		{0, 10, 0, 1},
		{1, 10, 0, 0},
		{10, 10, 1, 1},
	}
	for _, tt := range tests {
		got := binomTest(tt.k, tt.n, tt.p)
		if math.Abs(got-tt.want) > 1e-4*max(1, tt.want) && math.Abs(got-tt.want)/tt.want > 1e-3 {
			t.Errorf("binomTest(%d, %d, %g) = %.6g, want %.4g", tt.k, tt.n, tt.p, got, tt.want)
		}
	}
	// Large n in log space: far in the tail, small but not zero.
	if p := binomTest(1300, 4000, 0.25); !(p > 0 && p < 1e-20) {
		t.Errorf("binomTest(1300, 4000, 0.25) = %g", p)
	}
	if p := binomTest(250_000, 1_000_000, 0.25); p < 0.9 {
		t.Errorf("binomTest at the mean of n=1e6 = %g", p)
	}
}

// roots returns the ledger of n load requests into frontend, each sampled
// with probability p by a generator seeded with seed.
func roots(seed uint64, n int, p float64) Input {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	in := Input{Topology: topo(sampled(svc("frontend"), topology.SamplerParentBasedTraceIDRatio, 0.25))}
	for i := range n {
		var id record.TraceID
		binary.BigEndian.PutUint64(id[:8], rng.Uint64())
		binary.BigEndian.PutUint64(id[8:], uint64(i+1))
		in.Hops = append(in.Hops, record.Hop{ID: uint64(i + 1), Request: uint64(i + 1), To: "frontend", Route: route, Received: true,
			ServerSpan: true, Server: record.Context{Trace: id, Span: record.SpanID{1}, Sampled: rng.Float64() < p}})
	}
	return in
}

// sampled sets a service's sampler.
func sampled(s *topology.Service, typ topology.SamplerType, ratio float64) *topology.Service {
	s.Sampler = topology.Sampler{Type: typ, Ratio: ratio}
	return s
}

// TestSamplingRatioPower is the ratio test's false-alarm rate and power: at
// the configured ratio 0.25 with n = 4000 it passes for at least 19 of 20
// seeds (at 99% confidence about 0.2 false alarms are expected), and with
// the service really sampling 0.30, a margin of 0.05 (about 7 standard
// errors at n = 4000), it fails for every seed. Both methods.
func TestSamplingRatioPower(t *testing.T) {
	for _, method := range []string{topology.SamplingWilson, topology.SamplingExact} {
		exp := topology.SamplingExpect{Service: "frontend", Confidence: 0.99, Method: method, MinSamples: 30}
		passes, fails := 0, 0
		for seed := range uint64(20) {
			if v := Sampling(roots(seed, 4000, 0.25), exp); v.Status == StatusPass {
				passes++
			} else {
				t.Logf("%s seed %d at 0.25: %s", method, seed, v.Observed)
			}
			for _, p := range []float64{0.25, 0.30} {
				checkStreamed(t, roots(seed, 4000, p), []topology.Expect{{Kind: topology.ExpectSampling, Sampling: exp}})
			}
			if v := Sampling(roots(seed, 4000, 0.30), exp); v.Status == StatusFail {
				fails++
			} else {
				t.Errorf("%s seed %d at 0.30: %s %s", method, seed, v.Status, v.Observed)
			}
		}
		if passes < 19 {
			t.Errorf("%s: %d of 20 seeds pass at the configured ratio, want ≥ 19", method, passes)
		}
		if fails != 20 {
			t.Errorf("%s: %d of 20 seeds fail at 0.30, want 20", method, fails)
		}
	}
}

func TestSamplingRatio(t *testing.T) {
	exact := func(k, n int) Input { // exactly k of n sampled
		in := roots(1, n, 0)
		for i := range k {
			in.Hops[i].Server.Sampled = true
		}
		return in
	}
	tests := []struct {
		name    string
		in      Input
		exp     topology.SamplingExpect
		status  Status
		stats   map[string]float64
		observe string
	}{{
		name:   "the sampler's ratio, 25 of 100",
		in:     exact(25, 100),
		exp:    topology.SamplingExpect{Service: "frontend", Confidence: 0.95},
		status: StatusPass,
		stats:  map[string]float64{"n": 100, "k": 25, "ratio": 0.25, "expected_ratio": 0.25, "p_value": 1, "confidence": 0.95},
	}, {
		name:    "a stated ratio outside the interval",
		in:      exact(25, 100),
		exp:     topology.SamplingExpect{Service: "frontend", Ratio: 0.4, Confidence: 0.95},
		status:  StatusFail,
		observe: "expected 0.4 lies outside",
	}, {
		name:    "exact method, 0.17 is inside Clopper-Pearson [0.1688, 0.3466] but outside Wilson [0.1755, 0.3430]",
		in:      exact(25, 100),
		exp:     topology.SamplingExpect{Service: "frontend", Ratio: 0.17, Confidence: 0.95, Method: topology.SamplingExact},
		status:  StatusPass,
		observe: "method exact",
	}, {
		name:   "same with wilson fails",
		in:     exact(25, 100),
		exp:    topology.SamplingExpect{Service: "frontend", Ratio: 0.17, Confidence: 0.95, Method: topology.SamplingWilson},
		status: StatusFail,
	}, {
		name:    "too few samples",
		in:      exact(5, 20),
		exp:     topology.SamplingExpect{Service: "frontend", MinSamples: 30},
		status:  StatusFail,
		observe: "too few root decisions to decide (n=20, need ≥ 30)",
	}, {
		name: "always_on roots: ratio 1",
		in: func() Input {
			in := exact(50, 50)
			in.Topology = topo(svc("frontend"))
			in.Topology.Services[0].Sampler.Type = topology.SamplerParentBasedAlwaysOn
			return in
		}(),
		exp:    topology.SamplingExpect{Service: "frontend"},
		status: StatusPass,
		stats:  map[string]float64{"expected_ratio": 1, "upper": 1},
	}, {
		name: "hops that are not roots do not count",
		in: func() Input {
			in := exact(30, 40)
			in.Hops = append(in.Hops, record.Hop{From: "cart", To: "frontend", Received: true,
				Server: record.Context{Trace: record.TraceID{9}, Span: record.SpanID{9}, Sampled: true}},
				record.Hop{To: "frontend", Received: false})
			return in
		}(),
		exp:    topology.SamplingExpect{Service: "frontend", Ratio: 0.75},
		status: StatusPass,
		stats:  map[string]float64{"n": 40, "k": 30},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Sampling(tt.in, tt.exp)
			check(t, v, want{status: tt.status, stats: tt.stats})
			checkStreamed(t, tt.in, []topology.Expect{{Kind: topology.ExpectSampling, Sampling: tt.exp}})
			if !strings.Contains(v.Observed, tt.observe) {
				t.Errorf("observed %q, want %q", v.Observed, tt.observe)
			}
		})
	}
}
