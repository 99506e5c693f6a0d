package infer

import (
	"errors"
	"fmt"
	"path"

	"github.com/tracerig/tracerig/topology"
)

// Result is what a Builder derived.
type Result struct {
	Topology []byte // topology YAML
	Scenario []byte // scenario YAML naming the topology by Options.TopologyFile
	Model    *Model
	Unused   Summary
}

// Result finishes every pending trace and derives the topology and the
// scenario. Both are checked with the topology package's parsers before
// they are returned. The Builder may take more spans after it.
func (b *Builder) Result() (*Result, error) {
	for _, id := range b.order {
		b.FlushTrace(id)
	}
	b.order = b.order[:0]
	b.unused.Spans, b.unused.Traces = b.spans, b.traces
	b.unused.Peers = map[string]int64{}
	for id, n := range b.agg.peers {
		b.unused.Peers[b.names.str(id)] = n
	}
	res := &Result{Unused: b.unused}
	if len(b.agg.routes) == 0 {
		return res, errors.New("infer topology: no server spans to infer routes from")
	}
	res.Model = b.model()
	res.Topology = b.topologyYAML(res.Model)
	var err error
	if res.Scenario, err = b.scenarioYAML(res.Model); err != nil {
		return res, fmt.Errorf("infer scenario: %w", err)
	}
	if err := b.check(res); err != nil {
		return res, err
	}
	return res, nil
}

// check parses what was written as the CLI's users will.
func (b *Builder) check(res *Result) error {
	if _, err := topology.ParseTopology(b.opts.TopologyFile, res.Topology); err != nil {
		return fmt.Errorf("check inferred topology: %w", err)
	}
	read := func(p string) ([]byte, error) {
		if path.Base(p) == path.Base(b.opts.TopologyFile) {
			return res.Topology, nil
		}
		return nil, fmt.Errorf("read %s: not the inferred topology", p)
	}
	if _, err := topology.ParseScenario("scenario.yaml", res.Scenario, read); err != nil {
		return fmt.Errorf("check inferred scenario: %w", err)
	}
	return nil
}
