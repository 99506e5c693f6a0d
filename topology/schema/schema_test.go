package schema

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite the schema files kept in the repository's schema folder")

// committed names the files kept in the repository and what writes them.
var committed = []struct {
	file string
	gen  func() []byte
}{
	{"topology.schema.json", Topology},
	{"scenario.schema.json", Scenario},
}

// TestCommittedFiles fails when a schema file kept in the repository is
// not what Topology or Scenario returns; -update rewrites them.
func TestCommittedFiles(t *testing.T) {
	for _, c := range committed {
		path := filepath.Join("..", "..", "schema", c.file)
		if *update {
			if err := os.WriteFile(path, c.gen(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, c.gen()) {
			t.Errorf("%s is not what the model generates: run go generate ./topology/schema", path)
		}
	}
}

// compiled returns the topology and scenario schemas, compiled.
func compiled(t *testing.T) (topo, scen *jsonschema.Schema) {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for _, x := range committed {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(x.gen()))
		if err != nil {
			t.Fatalf("%s: %v", x.file, err)
		}
		if err := c.AddResource(BaseURL+x.file, doc); err != nil {
			t.Fatal(err)
		}
	}
	topo, err := c.Compile(BaseURL + "topology.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	scen, err = c.Compile(BaseURL + "scenario.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return topo, scen
}

// instance reads YAML as the JSON value an editor checks.
func instance(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// isScenario says which schema a file of the repository is checked with.
func isScenario(file string) bool {
	return strings.Contains(filepath.Base(file), ".scenario.") || filepath.Dir(file) == filepath.Join("..", "..", "scenarios")
}

// goodFiles returns the library's scenarios and topologies and the valid
// test files of package topology.
func goodFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"../../scenarios/*.yaml", "../../scenarios/topologies/*.yaml", "../testdata/*.yaml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			if !strings.HasSuffix(f, ".bad.yaml") {
				files = append(files, f)
			}
		}
	}
	if len(files) < 10 {
		t.Fatalf("only %d good files found", len(files))
	}
	return files
}

// TestGoodFilesValidate validates every library scenario and topology and
// every valid test file against its schema.
func TestGoodFilesValidate(t *testing.T) {
	topo, scen := compiled(t)
	for _, file := range goodFiles(t) {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			s := topo
			if isScenario(file) {
				s = scen
			}
			if err := s.Validate(instance(t, data)); err != nil {
				t.Errorf("%s: %v", file, err)
			}
		})
	}
}

// badFiles says, for each invalid test file of package topology, whether
// its schema refuses it. Those it accepts are wrong in meaning rather than
// form: references to services, routes or faults that do not exist, cycles,
// ranges, settings that contradict each other, or what only the decoder
// can tell (the dist's fields, a misspelt call option beside a service).
var badFiles = map[string]bool{
	"backend-config.scenario.bad.yaml":          false, // config without type collector; probability without its sampler
	"backend-embedded-export.scenario.bad.yaml": false, // export settings with a backend other than otlp
	"backend-export.scenario.bad.yaml":          true,
	"backend-plaintext.scenario.bad.yaml":       false, // certificates with a plaintext endpoint
	"backend.scenario.bad.yaml":                 true,
	"collector.scenario.bad.yaml":               true,
	"cycle.bad.yaml":                            false, // a call cycle
	"duration.bad.yaml":                         true,
	"empty.bad.yaml":                            true,
	"expect.scenario.bad.yaml":                  true,
	"external.bad.yaml":                         true,
	"external.scenario.bad.yaml":                false, // an external service with runtime kubernetes or a fault on it
	"launch.bad.yaml":                           true,
	"kubernetes.scenario.bad.yaml":              false, // a collector backend or pipeline faults with runtime kubernetes
	"fanout.bad.yaml":                           false, // more spans per request than the limit
	"fault-refs.scenario.bad.yaml":              true,
	"fault-topology.scenario.bad.yaml":          true,
	"faults-list.scenario.bad.yaml":             true,
	"faults.scenario.bad.yaml":                  true,
	"inline.scenario.bad.yaml":                  true,
	"mix.scenario.bad.yaml":                     true,
	"negative-rate.scenario.bad.yaml":           true,
	"messaging.bad.yaml":                        true,
	"messaging-runtime.scenario.bad.yaml":       false, // a broker on the loopback with runtime containers
	"messaging-faults.scenario.bad.yaml":        true,
	"numbers.bad.yaml":                          false, // values out of range
	"options.bad.yaml":                          true,
	"pareto.bad.yaml":                           false, // a dist without one of its fields, values out of range
	"references.bad.yaml":                       false, // calls to services and routes not defined
	"syntax.bad.yaml":                           true,
	"topology-errors.scenario.bad.yaml":         false, // its errors are in the topology file it names
	"topology-ref.scenario.bad.yaml":            false, // a topology file that does not exist
	"unknown-field.bad.yaml":                    true,
	"wrong-kind.bad.yaml":                       true,
}

// TestBadFiles checks that the schema refuses the invalid test files whose
// fault it can express, and lists every invalid test file.
func TestBadFiles(t *testing.T) {
	topo, scen := compiled(t)
	files, err := filepath.Glob("../testdata/*.bad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		base := filepath.Base(file)
		t.Run(base, func(t *testing.T) {
			want, listed := badFiles[base]
			if !listed {
				t.Fatalf("%s is not in badFiles: say whether the schema refuses it", base)
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			s := topo
			if isScenario(file) {
				s = scen
			}
			var v any
			if yaml.Unmarshal(data, &v) != nil || v == nil {
				if !want {
					t.Errorf("%s is not YAML or empty, which no schema accepts: mark it refused", base)
				}
				return
			}
			err = s.Validate(instance(t, data))
			if got := err != nil; got != want {
				t.Errorf("%s: schema refuses it %v, want %v (%v)", base, got, want, err)
			}
		})
	}
}
