package topology

import (
	"slices"
)

// sampling checks a sampling expectation: something to check, a defined
// service that the load drives and whose sampler gives the ratio when none
// is written, and the interval's parameters.
func (c *checker) sampling(s *Scenario, e Expect, path string) {
	x := e.Sampling
	p := func(key string) string { return field(path, key) }
	pos := c.at(path, e.Pos)
	if x.Service == "" && !x.Consistent && !x.Probability {
		if !c.anySkipped(p("service"), p("consistent"), p("probability")) {
			c.errorf(path, pos, "needs service (to test its sampling ratio), consistent: true or probability: true")
		}
	}
	if x.Service == "" {
		for _, k := range []string{"ratio", "confidence", "method", "min-samples"} {
			if c.has(p(k)) {
				c.errorf(p(k), pos, "is only valid with service: the ratio test is about one service's root decisions")
			}
		}
	} else if svc := c.topoService(s.Topology, x.Service, p("service"), pos); svc != nil {
		c.samplingService(s, svc, x, path, pos)
	}
	if x.Ratio < 0 || x.Ratio > 1 || x.Ratio == 0 && c.has(p("ratio")) {
		c.errorf(p("ratio"), pos, "must be greater than 0 and at most 1 (leave it out to use the service's sampler ratio), got %g", x.Ratio)
	}
	c.confidence(x.Confidence, p("confidence"), pos)
	if !slices.Contains(SamplingMethods, x.Method) && (x.Method != "" || c.has(p("method"))) {
		c.errorf(p("method"), pos, "unknown method %q (want wilson, the Wilson score interval, or exact, Clopper-Pearson)", x.Method)
	}
	if x.MinSamples < 0 || x.MinSamples == 0 && c.has(p("min-samples")) {
		c.errorf(p("min-samples"), pos, "must be at least 1, got %d", x.MinSamples)
	}
	if x.Probability && s.Topology != nil && s.Backend.Type != BackendCollector && !c.skipped("topology") {
		uses := slices.ContainsFunc(s.Topology.Services, func(svc *Service) bool {
			return svc.Sampler.Type == SamplerConsistentProbability
		})
		if !uses && len(c.topoSkip) == 0 {
			c.errorf(p("probability"), pos, "no service of topology %q uses the consistent_probability sampler, so no span carries a threshold to check", s.Topology.Name)
		}
	}
}

// samplingService checks the ratio test's service: the load drives it (its
// root decisions are those of load requests), and without ratio its
// sampler has one.
func (c *checker) samplingService(s *Scenario, svc *Service, x SamplingExpect, path string, pos Pos) {
	sp := c.at(field(path, "service"), pos)
	driven := slices.ContainsFunc(s.Load, func(l Load) bool {
		return slices.ContainsFunc(l.Targets, func(t Target) bool { return t.Service == svc.Name })
	})
	if !driven && len(s.Load) > 0 && !c.skipped("load") {
		c.errorf(field(path, "service"), sp, "service %q is not driven by the load: only the services the load calls make root sampling decisions", svc.Name)
	}
	if x.Ratio == 0 && !svc.Sampler.Type.usesRatio() && !skippedIn(c.topoSkip, field(servicePath(svc.Name), "sampler")) {
		c.errorf(field(path, "service"), sp, "service %q samples with %s, which has no ratio to test: write ratio, or give the service a ratio sampler", svc.Name, svc.Sampler.Type)
	}
}

// tailSampling checks a tail-sampling expectation: a collector to decide,
// at least one policy, and the policies' parameters.
func (c *checker) tailSampling(s *Scenario, e Expect, path string) {
	x := e.TailSampling
	p := func(key string) string { return field(path, key) }
	pos := c.at(path, e.Pos)
	if s.Backend.Type != BackendCollector && !c.skipped("backend") {
		c.errorf(path, pos, "is only valid with backend type collector (a collector's tail_sampling processor decides what is kept), got backend %s", s.Backend.Type)
	}
	if !x.KeepErrors && x.KeepSlowerThan == 0 && x.Probabilistic == 0 &&
		!c.anySkipped(p("keep-errors"), p("keep-slower-than"), p("probabilistic")) && !c.has(p("keep-slower-than")) && !c.has(p("probabilistic")) {
		c.errorf(path, pos, "needs keep-errors: true, keep-slower-than or probabilistic")
	}
	if x.KeepSlowerThan < 0 || x.KeepSlowerThan == 0 && c.has(p("keep-slower-than")) {
		c.errorf(p("keep-slower-than"), pos, "must be positive, got %s", x.KeepSlowerThan)
	}
	if x.Probabilistic < 0 || x.Probabilistic > 1 || x.Probabilistic == 0 && c.has(p("probabilistic")) {
		c.errorf(p("probabilistic"), pos, "must be greater than 0 and at most 1, got %g", x.Probabilistic)
	}
	c.confidence(x.Confidence, p("confidence"), pos)
}

// spans checks a spans expectation: its expressions compile to bool, its
// window is ordered, its count parses.
func (c *checker) spans(e Expect, path string) {
	x := e.Spans
	p := func(key string) string { return field(path, key) }
	pos := c.at(path, e.Pos)
	if x.Where != "" {
		c.spanExpr(x.Where, p("where"), pos)
	}
	if x.Assert == "" && c.has(p("assert")) {
		c.errorf(p("assert"), pos, "must not be empty (leave it out to assert true)")
	} else if x.Assert != "" {
		c.spanExpr(x.Assert, p("assert"), pos)
	}
	from, to := x.During[0], x.During[1]
	switch dp := p("during"); {
	case from < 0:
		c.errorf(dp, pos, "from must not be negative, got %s", from)
	case from == 0 && to == 0 && !c.has(dp):
	case from >= to:
		c.errorf(dp, pos, "from (%s) must be before to (%s)", from, to)
	}
	count, err := ParseSpanCount(x.Count)
	if x.Count == "" && c.has(p("count")) {
		c.errorf(p("count"), pos, "must not be empty (leave it out for all)")
	} else if err != nil {
		c.errorf(p("count"), pos, "%v", err)
	}
	switch {
	case x.MinSelected < 0:
		c.errorf(p("min-selected"), pos, "must not be negative, got %d", x.MinSelected)
	case err == nil && x.MinSelected > 0 && count.String() == "none" && (x.Assert == "true" || x.Assert == ""):
		c.errorf(p("min-selected"), pos, "count none without assert requires that no span matches where, so nothing can be selected; min-selected %d contradicts it", x.MinSelected)
	}
}

// spanExpr reports at path when src does not compile to a bool over
// SpanFields.
func (c *checker) spanExpr(src, path string, pos Pos) {
	if _, err := CompileSpanExpr(src); err != nil {
		c.errorf(path, pos, "does not compile: %v", err)
	}
}

// confidence reports a confidence level outside (0, 1). Zero where it was
// not written (a scenario built in Go) means the default.
func (c *checker) confidence(v float64, path string, pos Pos) {
	if v < 0 || v >= 1 || v == 0 && c.has(path) {
		c.errorf(path, pos, "must be between 0 and 1, exclusive (0.99 for 99%%), got %g", v)
	}
}
