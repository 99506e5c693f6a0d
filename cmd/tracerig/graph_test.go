package main

import (
	"strings"
	"testing"
)

// TestGraph prints testdata/tiny-topology.yaml and the scenario that names
// it; both print the same graph, compared with testdata/graph.*.golden.
func TestGraph(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		golden string
	}{
		{"dot", []string{"testdata/tiny-topology.yaml"}, "graph.dot.golden"},
		{"dot explicit", []string{"--format", "dot", "testdata/tiny-topology.yaml"}, "graph.dot.golden"},
		{"mermaid", []string{"--format", "mermaid", "testdata/tiny-topology.yaml"}, "graph.mermaid.golden"},
		{"scenario dot", []string{"testdata/tiny.yaml"}, "graph.dot.golden"},
		{"scenario mermaid", []string{"--format=mermaid", "testdata/tiny.yaml"}, "graph.mermaid.golden"},
		{"inline topology", []string{"testdata/broken.yaml"}, "graph.broken.dot.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, append([]string{"graph"}, tt.args...)...)
			r.wantCode(t, exitOK)
			checkGolden(t, tt.golden, []byte(r.stdout))
		})
	}
}

func TestGraphErrors(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr []string
	}{
		{"bad format", []string{"--format", "png", "testdata/tiny.yaml"}, []string{`--format must be dot or mermaid, got "png"`}},
		{"no file", nil, []string{"want exactly one file, got 0"}},
		{"two files", []string{"testdata/tiny.yaml", "testdata/broken.yaml"}, []string{"want exactly one file, got 2"}},
		{"missing file", []string{"testdata/missing.yaml"}, []string{"testdata/missing.yaml: cannot read: no such file or directory"}},
		{"bad topology", []string{"testdata/bad-topology.bad.yaml"}, []string{
			"9 problems:",
			`testdata/bad-topology.bad.yaml:6:15: services.frontend.protocol: unknown protocol "soap"`,
			`testdata/bad-topology.bad.yaml:19:18: services.cart.routes["GET /cart"].latency.value: unparsable duration "fast"`,
		}},
		{"bad scenario", []string{"testdata/bad-scenario.bad.yaml"}, []string{
			`testdata/bad-scenario.bad.yaml:10:17: backend.type: unknown backend "zipkin"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, append([]string{"graph"}, tt.args...)...)
			r.wantCode(t, exitUsage)
			if r.stdout != "" {
				t.Errorf("stdout not empty:\n%s", r.stdout)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
		})
	}
}
