package schema

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tracerig/tracerig/topology"
)

// keyRE is what a key of tracerig's YAML looks like.
var keyRE = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// takers are the decoder's functions that take a key of a mapping, each
// with the key's literal among its arguments.
var takers = []string{"take", "required", "key", "has", "need", "rampEnd", "tls"}

// decoderKeys reads the decoder's source (package topology's decode.go and
// *_decode.go) and returns the literal keys it takes from a mapping, and
// every key-like string literal it holds.
func decoderKeys(t *testing.T) (taken, literals map[string]bool) {
	t.Helper()
	files, err := filepath.Glob("../*decode.go")
	if err != nil || len(files) < 5 {
		t.Fatalf("decoder source: %v (%d files)", err, len(files))
	}
	taken, literals = map[string]bool{}, map[string]bool{}
	fset := token.NewFileSet()
	for _, file := range files {
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if s, err := strconv.Unquote(n.Value); err == nil && n.Kind == token.STRING && keyRE.MatchString(s) {
					literals[s] = true
				}
			case *ast.CallExpr:
				if !slices.Contains(takers, callName(n.Fun)) {
					return true
				}
				for _, a := range n.Args {
					if lit, ok := a.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if s, _ := strconv.Unquote(lit.Value); keyRE.MatchString(s) {
							taken[s] = true
						}
					}
				}
			}
			return true
		})
	}
	return taken, literals
}

func callName(fun ast.Expr) string {
	switch f := fun.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		return f.Sel.Name
	}
	return ""
}

// schemaProperties returns every property name of the scenario schema,
// which holds the topology's definitions too.
func schemaProperties(t *testing.T) map[string]bool {
	t.Helper()
	var doc any
	if err := json.Unmarshal(Scenario(), &doc); err != nil {
		t.Fatal(err)
	}
	props := map[string]bool{}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if p, ok := v["properties"].(map[string]any); ok {
				for k := range p {
					props[k] = true
				}
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(doc)
	return props
}

// TestDecoderKeysAreProperties holds the schema's tables to the decoder:
// every key the decoder takes is a property of the schema, and every
// property is a key the decoder's source names or a value of the lists
// (fault kinds, checks) it decodes keys by.
func TestDecoderKeysAreProperties(t *testing.T) {
	taken, literals := decoderKeys(t)
	props := schemaProperties(t)
	for k := range taken {
		if !props[k] {
			t.Errorf("the decoder takes %q, which no schema property lists", k)
		}
	}
	for _, k := range topology.FaultKinds {
		literals[string(k)] = true
	}
	for _, k := range topology.ExpectKinds {
		literals[string(k)] = true
	}
	for k := range props {
		if !literals[k] {
			t.Errorf("the schema lists property %q, which the decoder never takes", k)
		}
	}
}

// TestKindsAreProperties checks that the fault item and the check list a
// property for every fault kind and every check topology defines.
func TestKindsAreProperties(t *testing.T) {
	faultProps := fault()["properties"].(node)
	for _, k := range topology.FaultKinds {
		if faultProps[string(k)] == nil {
			t.Errorf("fault kind %s is not a property of a fault", k)
		}
	}
	expectProps := expect()["properties"].(node)
	if len(expectProps) != len(topology.ExpectKinds) {
		t.Errorf("the check lists %d properties, topology %d checks", len(expectProps), len(topology.ExpectKinds))
	}
	for _, k := range topology.ExpectKinds {
		if expectProps[string(k)] == nil {
			t.Errorf("check %s is not a property of a check", k)
		}
	}
}

// probe is the key TestUnknownKeys adds.
const probe = "zz-probe"

// TestUnknownKeys adds a key to each mapping of every valid file in turn
// and checks that the schema refuses the file exactly when the decoder
// does: the schema's closed and open mappings are the decoder's.
func TestUnknownKeys(t *testing.T) {
	topo, scen := compiled(t)
	for _, file := range goodFiles(t) {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			scenario := isScenario(file)
			parse := func(data []byte) error {
				if scenario {
					_, err := topology.ParseScenario(file, data, nil)
					return err
				}
				_, err := topology.ParseTopology(file, data)
				return err
			}
			if err := parse(data); err != nil {
				t.Fatalf("the valid file does not parse: %v", err)
			}
			s := topo
			if scenario {
				s = scen
			}
			var doc yaml.Node
			if err := yaml.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			for _, m := range mappings(&doc) {
				m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: probe}, &yaml.Node{Kind: yaml.ScalarNode, Value: "1"})
				probed, err := yaml.Marshal(&doc)
				m.Content = m.Content[:len(m.Content)-2]
				if err != nil {
					t.Fatal(err)
				}
				decoderRefuses := parse(probed) != nil
				schemaRefuses := s.Validate(instance(t, probed)) != nil
				if decoderRefuses != schemaRefuses {
					t.Errorf("a key added to the mapping on line %d: decoder refuses %v, schema refuses %v", m.Line, decoderRefuses, schemaRefuses)
				}
			}
		})
	}
}

// mappings returns every mapping node under n, once each.
func mappings(n *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	seen := map[*yaml.Node]bool{}
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil || seen[n] {
			return
		}
		seen[n] = true
		if n.Kind == yaml.MappingNode {
			out = append(out, n)
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return out
}

// TestFaultAndCheckProperties gives each fault kind and each check every
// property the schema lists for it, and checks that the decoder takes them
// all and refuses one more.
func TestFaultAndCheckProperties(t *testing.T) {
	const topo = "topology: {name: t, services: {a: {routes: {GET /a: {}}}}}\n"
	items := map[string]node{}
	for key, def := range faultDefs() {
		kind := strings.TrimPrefix(key, "fault-")
		items["faults:\n  - at: 1s\n    "+kind+": "] = def.(node)
	}
	for kind, def := range expect()["properties"].(node) {
		items["expect:\n  - "+kind+": "] = def.(node)
	}
	for prefix, def := range items {
		params := map[string]any{}
		for k, v := range def["properties"].(node) {
			params[k] = sample(v.(node))
		}
		b, err := json.Marshal(params)
		if err != nil {
			t.Fatal(err)
		}
		for _, extra := range []bool{false, true} {
			body := string(b)
			if extra {
				body = strings.TrimSuffix(body, "}")
				if len(params) > 0 {
					body += ","
				}
				body += `"` + probe + `": 1}`
			}
			_, err := topology.ParseScenario("probe.yaml", []byte(topo+prefix+body+"\n"), nil)
			unknown := ""
			for _, e := range topology.ErrorList(err) {
				if strings.Contains(e.Msg, "unknown field") || strings.Contains(e.Msg, "does not apply") {
					unknown += e.Error() + "\n"
				}
			}
			switch {
			case !extra && unknown != "":
				t.Errorf("%s%s: the decoder refuses properties the schema lists:\n%s", prefix, body, unknown)
			case extra && !strings.Contains(unknown, probe):
				t.Errorf("%s%s: the decoder takes a key the schema does not list", prefix, body)
			}
		}
	}
}

// sample returns a value schema n accepts.
func sample(n node) any {
	switch {
	case n["examples"] != nil:
		return reflectFirst(n["examples"])
	case n["enum"] != nil:
		return reflectFirst(n["enum"])
	case n["$ref"] != nil:
		return "1ms" // latency, the one definition a parameter refers to
	}
	switch n["type"] {
	case "integer":
		return 1
	case "number":
		return 0.5
	case "boolean":
		return true
	case "array":
		if n["minItems"] == 2 {
			return []any{"1s", "2s"}
		}
		return []any{sample(n["items"].(node))}
	}
	return "x"
}

func reflectFirst(v any) any {
	switch v := v.(type) {
	case []string:
		return v[0]
	case []any:
		return v[0]
	}
	return v
}
