package topology

import (
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ParseScenario decodes a scenario from data, applies defaults and
// validates it together with its topology. The topology: field is either
// an inline topology mapping or a path relative to the directory of file,
// read through readFile (os.ReadFile when nil); errors in that file carry
// its name. All errors are returned at once, joined; ErrorList unwraps them.
func ParseScenario(file string, data []byte, readFile func(path string) ([]byte, error)) (*Scenario, error) {
	if readFile == nil {
		readFile = os.ReadFile
	}
	d := newDecoder(file)
	root := d.parse(data)
	if root == nil {
		return nil, joinSorted(d.errs)
	}
	s, topo := d.scenario(root, readFile)
	errs := append(d.errs, topo.errs...)
	if s != nil {
		errs = append(errs, s.check(d.failed, topo.failed)...)
	}
	if len(errs) > 0 {
		return nil, joinSorted(errs)
	}
	return s, nil
}

// LoadScenario reads and parses the scenario file at path; a topology it
// names is read relative to the scenario's directory.
func LoadScenario(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, readError(Pos{File: path}, "", "cannot read scenario", err)
	}
	return ParseScenario(path, data, os.ReadFile)
}

// scenario decodes the scenario at root. The returned decoder holds what
// decoding the topology reported, relative to the topology document.
func (d *decoder) scenario(root *yaml.Node, readFile func(string) ([]byte, error)) (*Scenario, *decoder) {
	topo := newDecoder(d.file)
	base := filepath.Base(d.file)
	s := &Scenario{
		File:    d.file,
		Name:    strings.TrimSuffix(base, filepath.Ext(base)),
		Runtime: RuntimeInProcess,
		Backend: Backend{Type: BackendEmbedded},
		Seed:    DefaultSeed,
		Settle:  DefaultSettle,
		Expect:  defaultExpect(),
		Pos:     d.pos(root),
		fields:  d.fields,
	}
	m, ok := d.mapping(root, "")
	if !ok {
		return nil, topo
	}
	d.str(m.take("name"), "name", &s.Name)
	d.str(m.take("description"), "description", &s.Description)
	if tn := m.take("topology"); tn != nil {
		topo = d.scenarioTopology(tn, s, readFile)
	}
	var runtime string
	if d.str(m.take("runtime"), "runtime", &runtime) {
		s.Runtime = Runtime(runtime)
	}
	d.backend(m.take("backend"), &s.Backend)
	d.unsigned(m.take("seed"), "seed", &s.Seed)
	d.duration(m.take("settle"), "settle", &s.Settle)
	s.Load = d.loads(m.take("load"))
	s.Faults = d.faults(m.take("faults"))
	if n := m.take("expect"); n != nil {
		s.Expect = d.expects(n)
	}
	m.done()
	return s, topo
}

// scenarioTopology decodes the topology: field, an inline mapping or a
// path to read. Errors of an inline topology get the topology. prefix.
func (d *decoder) scenarioTopology(n *yaml.Node, s *Scenario, readFile func(string) ([]byte, error)) *decoder {
	n = resolve(n)
	if n.Kind == yaml.MappingNode {
		topo := newDecoder(d.file)
		s.Topology = topo.topology(n)
		for _, err := range topo.errs {
			if e, ok := err.(*Error); ok {
				e.Path = prefixed("topology", e.Path)
			}
		}
		return topo
	}
	var ref string
	if n.Kind != yaml.ScalarNode {
		d.fail(n, "topology", "must be a file path or a topology mapping, got %s", kindName(n))
		return newDecoder(d.file)
	}
	d.str(n, "topology", &ref)
	path := ref
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(d.file), ref)
	}
	s.TopologyFile = path
	topo := newDecoder(path)
	data, err := readFile(path)
	if err != nil {
		e := readError(d.pos(n), "topology", "cannot read topology file "+path, err)
		d.errs = append(d.errs, e)
		d.failed = append(d.failed, "topology")
		return topo
	}
	s.Topology = topo.topology(topo.parse(data))
	if s.Topology == nil {
		d.failed = append(d.failed, "topology")
	}
	return topo
}
