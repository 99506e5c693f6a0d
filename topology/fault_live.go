package topology

import "go.yaml.in/yaml/v3"

// ParseFault decodes one fault, written as an item of a scenario's faults
// list (YAML or JSON), and validates it against t. It serves faults added
// while a run goes on: their window opens when they are added, so `at` may
// be left out and is ignored. All problems are returned at once, joined.
func ParseFault(file string, data []byte, t *Topology) (Fault, error) {
	d := newDecoder(file)
	root := d.parse(data)
	if root == nil {
		return Fault{}, joinSorted(d.errs)
	}
	if r := resolve(root); r.Kind == yaml.MappingNode && !hasKey(r, "at") {
		r.Content = append(r.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "at"},
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "0s"})
	}
	f := d.fault(root, "")
	c := &checker{fields: d.fields, skip: d.failed}
	c.fault(t, f, "")
	if errs := append(d.errs, c.errs...); len(errs) > 0 {
		return Fault{}, joinSorted(errs)
	}
	return f, nil
}

func hasKey(m *yaml.Node, key string) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return true
		}
	}
	return false
}
