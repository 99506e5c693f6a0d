package topology

import (
	"time"

	"go.yaml.in/yaml/v3"
)

// Defaults of the sampling, tail-sampling and spans checks.
const (
	DefaultConfidence  = 0.99
	DefaultMinSamples  = 30
	DefaultMinSelected = 1
	SamplingWilson     = "wilson"
	SamplingExact      = "exact"
)

// samplingExpect decodes sampling: {service, ratio, confidence, method,
// min-samples, consistent, probability}.
func (d *decoder) samplingExpect(v *yaml.Node, path string) SamplingExpect {
	s := SamplingExpect{Confidence: DefaultConfidence, Method: SamplingWilson, MinSamples: DefaultMinSamples}
	m, ok := d.mapping(v, path)
	if !ok {
		return s
	}
	d.str(m.take("service"), field(path, "service"), &s.Service)
	d.number(m.take("ratio"), field(path, "ratio"), &s.Ratio)
	d.number(m.take("confidence"), field(path, "confidence"), &s.Confidence)
	d.str(m.take("method"), field(path, "method"), &s.Method)
	d.integer(m.take("min-samples"), field(path, "min-samples"), &s.MinSamples)
	d.boolean(m.take("consistent"), field(path, "consistent"), &s.Consistent)
	d.boolean(m.take("probability"), field(path, "probability"), &s.Probability)
	m.done()
	return s
}

// tailSamplingExpect decodes tail-sampling: {keep-errors, keep-slower-than,
// probabilistic, confidence}.
func (d *decoder) tailSamplingExpect(v *yaml.Node, path string) TailSamplingExpect {
	t := TailSamplingExpect{Confidence: DefaultConfidence}
	m, ok := d.mapping(v, path)
	if !ok {
		return t
	}
	d.boolean(m.take("keep-errors"), field(path, "keep-errors"), &t.KeepErrors)
	d.duration(m.take("keep-slower-than"), field(path, "keep-slower-than"), &t.KeepSlowerThan)
	d.number(m.take("probabilistic"), field(path, "probabilistic"), &t.Probabilistic)
	d.number(m.take("confidence"), field(path, "confidence"), &t.Confidence)
	m.done()
	return t
}

// spansExpect decodes spans: {where, during, assert, count, min-selected}.
// Count defaults to all and assert to true; min-selected defaults to 1,
// except for count none without assert, which requires that no span
// matches where and so needs nothing selected.
func (d *decoder) spansExpect(v *yaml.Node, path string) SpansExpect {
	s := SpansExpect{Assert: "true", Count: "all", MinSelected: DefaultMinSelected}
	m, ok := d.mapping(v, path)
	if !ok {
		return s
	}
	d.str(m.take("where"), field(path, "where"), &s.Where)
	d.during(m.take("during"), field(path, "during"), &s.During)
	an := m.take("assert")
	d.str(an, field(path, "assert"), &s.Assert)
	if n, ok := d.scalar(m.take("count"), field(path, "count")); ok {
		s.Count = n.Value
	}
	if isNull(resolve(an)) && s.Count == "none" {
		s.MinSelected = 0
	}
	d.integer(m.take("min-selected"), field(path, "min-selected"), &s.MinSelected)
	m.done()
	return s
}

// during decodes [from, to], two durations into the load's timeline.
func (d *decoder) during(n *yaml.Node, path string, dst *[2]time.Duration) {
	n = resolve(n)
	if isNull(n) {
		return
	}
	const want = "must be two durations [from, to] into the load's timeline, like [20s, 35s]"
	switch {
	case n.Kind != yaml.SequenceNode:
		d.fail(n, path, "%s, got %s", want, kindName(n))
		return
	case len(n.Content) != 2:
		d.fail(n, path, "%s, got %s", want, plural(len(n.Content), "item"))
		return
	}
	d.fields[path] = d.pos(n)
	var w [2]time.Duration
	okFrom := d.duration(n.Content[0], index(path, 0), &w[0])
	okTo := d.duration(n.Content[1], index(path, 1), &w[1])
	if okFrom && okTo {
		*dst = w
	} else {
		d.failed = append(d.failed, path)
	}
}
