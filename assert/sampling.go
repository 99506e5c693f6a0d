package assert

import (
	"fmt"
	"strings"

	"github.com/tracerig/tracerig/topology"
)

// Sampling checks head sampling, in up to three parts, as the expectation
// asks: the observed root-sampling ratio of a service against the
// configured one (a binomial interval), the consistency of parent-based
// decisions along every trace the load started, and OpenTelemetry
// consistent probability sampling (tracestate ot=th) in the backend. The
// verdict fails when any part fails; parts that cannot run say why.
func Sampling(in Input, exp topology.SamplingExpect) Verdict {
	return Run(in, []topology.Expect{{Kind: topology.ExpectSampling, Sampling: exp}})[0]
}

// samplingPart is the outcome of one part of the sampling check.
type samplingPart struct {
	status   Status
	measured string
	observed string // or why it did not run
}

// samplingTally is the sampling check judged group by group. A group holds
// whole traces, so a trace's root decision, its services' votes, its
// partial spans and its orphan fragments are settled inside one group;
// across groups the tally keeps counters, per-service hop counts, the
// thresholds seen and findings.
type samplingTally struct {
	exp      topology.SamplingExpect
	top      *topology.Topology
	readBack bool
	notRun   string // why the backend parts do not run without read-back
	// roots and sampled count the service's root decisions, for the
	// ratio part.
	roots, sampled int
	cons           *consTally // nil unless exp.Consistent
	prob           *probTally // nil unless exp.Probability
	// found collects the findings; made on the first group, which brings
	// the fault set that names their attributions.
	found *findings
}

// newSamplingTally returns the sampling tally for a run with base's static
// evidence.
func newSamplingTally(exp topology.SamplingExpect, base *Input) *samplingTally {
	t := &samplingTally{exp: exp, top: base.Topology, readBack: base.ReadBack, notRun: noReadBack(*base)}
	if exp.Consistent {
		t.cons = newConsTally(base)
	}
	if exp.Probability {
		t.prob = &probTally{thresholds: make(map[string]int)}
	}
	return t
}

// add judges one group: its root decisions, its traces' consistency and,
// with read-back (idx not nil), its backend spans' thresholds.
func (t *samplingTally) add(in *Input, idx *spanIndex, faults *faultSet) {
	if t.found == nil {
		t.found = newFindings(faults)
	}
	if t.exp.Service != "" {
		t.addRoots(in)
	}
	if t.cons != nil {
		t.cons.add(in, idx, t.found, faults)
	}
	if t.prob != nil && idx != nil {
		t.prob.add(idx, t.found)
	}
}

// addRoots counts the service's root decisions in a group: the hops from
// the load generator into it that it received and started a span for.
func (t *samplingTally) addRoots(in *Input) {
	for i := range in.Hops {
		h := &in.Hops[i]
		if h.From != "" || h.To != t.exp.Service || !h.Received || !h.Server.IsValid() {
			continue
		}
		t.roots++
		if h.Server.Sampled {
			t.sampled++
		}
	}
}

// verdict combines the parts: it fails when any part fails; parts that
// cannot run say why.
func (t *samplingTally) verdict() Verdict {
	exp := t.exp
	v := Verdict{Check: string(topology.ExpectSampling), Subject: exp.Service, Stats: make(map[string]float64)}
	var parts []samplingPart
	var expected []string
	if exp.Service != "" {
		p, e := samplingRatio(t.top, exp, t.sampled, t.roots, v.Stats)
		parts, expected = append(parts, p), append(expected, e)
	}
	if t.cons != nil {
		parts = append(parts, t.cons.describe(t.readBack, t.notRun, v.Stats))
		expected = append(expected, "parent-based decisions hold along every trace: a sampled root's trace whole, an unsampled root's trace absent, services sharing a trace-ID ratio agreeing")
	}
	if t.prob != nil {
		parts = append(parts, t.prob.describe(t.readBack, t.notRun, v.Stats))
		expected = append(expected, "consistent probability sampling honoured: every span's randomness at least its threshold (ot=th), the root's threshold on every span of its trace")
	}
	if len(parts) == 0 {
		v.Status = StatusNotRun
		v.Measured = "head sampling"
		v.Reason = "nothing to check: set service (the ratio test), consistent or probability"
		return v
	}
	v.Expected = strings.Join(expected, "; ")
	v.Findings = t.findings()
	combineParts(&v, parts)
	return v
}

// findings lists the findings, those on hops out of the hops their service
// received.
func (t *samplingTally) findings() []Finding {
	if t.found == nil {
		return nil
	}
	list := t.found.list()
	if t.cons != nil {
		t.cons.hopShares(list)
	}
	return list
}

// combineParts words v from its parts' outcomes: it fails when one failed,
// passes when one ran, and says why the others did not run.
func combineParts(v *Verdict, parts []samplingPart) {
	var measured, observed, reasons []string
	ran, failed := 0, false
	for _, p := range parts {
		measured = append(measured, p.measured)
		switch p.status {
		case StatusNotRun:
			reasons = append(reasons, p.observed)
		case StatusFail:
			failed = true
			fallthrough
		default:
			ran++
			observed = append(observed, p.observed)
		}
	}
	v.Measured = strings.Join(measured, "; ")
	v.Observed = strings.Join(observed, "; ")
	switch {
	case failed:
		v.Status = StatusFail
	case ran > 0:
		v.Status = StatusPass
	default:
		v.Status = StatusNotRun
	}
	if len(reasons) > 0 {
		if v.Status == StatusNotRun {
			v.Reason = strings.Join(reasons, "; ")
		} else {
			v.Observed += "; not run: " + strings.Join(reasons, "; ")
		}
	}
}

// samplingRatio tests the service's root sampling ratio: k of its n root
// decisions were sampled. The expected ratio p (the expectation's, else
// the sampler's) must lie within the interval of k/n at the expectation's
// confidence: Wilson's score interval or the exact Clopper-Pearson one.
// The two-sided exact binomial p-value is reported alongside, for
// reference; it does not decide.
func samplingRatio(top *topology.Topology, exp topology.SamplingExpect, k, n int, stats map[string]float64) (samplingPart, string) {
	conf, method, minN := exp.Confidence, exp.Method, exp.MinSamples
	if conf <= 0 || conf >= 1 {
		conf = topology.DefaultConfidence
	}
	if method == "" {
		method = topology.SamplingWilson
	}
	if minN == 0 {
		minN = topology.DefaultMinSamples
	}
	p, from := expectedRatio(top, exp)
	methodName := "Wilson score interval"
	if method == topology.SamplingExact {
		methodName = "exact Clopper-Pearson interval"
	}
	expected := fmt.Sprintf("%s's root sampling ratio %g (%s) within the %s %s of the observed ratio", exp.Service, p, from, percent(conf), methodName)
	part := samplingPart{measured: fmt.Sprintf("%s's root sampling decisions (requests from the load it received): %s at %s confidence; pass iff the expected ratio lies within it; p-value of the two-sided exact binomial test for reference",
		exp.Service, methodName, percent(conf))}
	if p < 0 {
		part.status = StatusNotRun
		part.observed = from
		return part, expected
	}
	var lo, hi float64
	if method == topology.SamplingExact {
		lo, hi = clopperPearson(k, n, conf)
	} else {
		lo, hi = wilson(k, n, conf)
	}
	pv := binomTest(k, n, p)
	ratio := 0.0
	if n > 0 {
		ratio = float64(k) / float64(n)
	}
	stats["n"], stats["k"], stats["ratio"] = float64(n), float64(k), ratio
	stats["expected_ratio"] = p
	stats["lower"], stats["upper"], stats["p_value"], stats["confidence"] = lo, hi, pv, conf
	part.observed = fmt.Sprintf("%d of %d root decisions sampled: ratio %.4f, %s %s [%.4f, %.4f], p-value %.3g (method %s)",
		k, n, ratio, percent(conf), methodName, lo, hi, pv, method)
	switch {
	case n < minN:
		part.status = StatusFail
		part.observed = fmt.Sprintf("too few root decisions to decide (n=%d, need ≥ %d); %s", n, minN, part.observed)
	case p < lo || p > hi:
		part.status = StatusFail
		part.observed += fmt.Sprintf(": expected %g lies outside", p)
	default:
		part.status = StatusPass
	}
	return part, expected
}

// expectedRatio returns the ratio the service's root decisions should
// follow and where it comes from, or -1 and why there is none. Parent-based
// samplers decide roots by their root sampler: the ratio, or 1 or 0.
func expectedRatio(t *topology.Topology, exp topology.SamplingExpect) (float64, string) {
	if exp.Ratio > 0 {
		return exp.Ratio, "as expected"
	}
	if t == nil {
		return -1, "no topology to read " + exp.Service + "'s sampler from, and no ratio given"
	}
	s := t.Service(exp.Service)
	if s == nil {
		return -1, fmt.Sprintf("service %q is not in the topology", exp.Service)
	}
	switch s.Sampler.Type {
	case topology.SamplerAlwaysOn, topology.SamplerParentBasedAlwaysOn:
		return 1, "sampler " + string(s.Sampler.Type)
	case topology.SamplerAlwaysOff, topology.SamplerParentBasedAlwaysOff:
		return 0, "sampler " + string(s.Sampler.Type)
	}
	return s.Sampler.Ratio, fmt.Sprintf("sampler %s %g", s.Sampler.Type, s.Sampler.Ratio)
}

// fromName names a hop's caller, the load generator for "".
func fromName(from string) string {
	if from == "" {
		return "load"
	}
	return from
}
