package schema

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"

	"github.com/tracerig/tracerig/topology"
)

// Draft is the JSON Schema dialect of the schemas.
const Draft = "https://json-schema.org/draft/2020-12/schema"

// BaseURL is where the schemas are published: the schema folder of
// tracerig's repository.
const BaseURL = "https://raw.githubusercontent.com/tracerig/tracerig/main/schema/"

// node is one schema object.
type node = map[string]any

// Topology returns the JSON Schema of a topology file, indented, ending
// with a newline.
func Topology() []byte {
	root := topologyNode()
	root["$defs"] = topologyDefs()
	return document("topology.schema.json", "tracerig topology", root)
}

// Scenario returns the JSON Schema of a scenario file, indented, ending
// with a newline. It holds the topology's definitions too, for an inline
// topology.
func Scenario() []byte {
	defs := topologyDefs()
	defs["topology"] = topologyNode()
	for k, v := range scenarioDefs() {
		defs[k] = v
	}
	root := scenarioNode()
	root["$defs"] = defs
	return document("scenario.schema.json", "tracerig scenario", root)
}

func document(file, title string, root node) []byte {
	root["$schema"] = Draft
	root["$id"] = BaseURL + file
	root["title"] = title
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		panic("schema: encode: " + err.Error()) // only maps, strings, numbers and slices
	}
	return b.Bytes()
}

// object is a mapping that takes exactly props, some of them required.
func object(desc string, props node, required ...string) node {
	n := node{"type": "object", "description": desc, "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		n["required"] = required
	}
	return n
}

// orNull lets n be null too, which the decoder reads as an empty mapping.
func orNull(n node) node {
	n["type"] = []string{"object", "null"}
	return n
}

// mapOf is a mapping of any keys to values of schema value.
func mapOf(desc string, value node) node {
	return node{"type": "object", "description": desc, "additionalProperties": value}
}

func str(desc string) node { return node{"type": "string", "description": desc} }

// text is a scalar read as text: `version: 2` is the text "2".
func text(desc string) node {
	return node{"type": []string{"string", "number", "boolean"}, "description": desc}
}

func integer(desc string) node { return node{"type": "integer", "description": desc} }

func number(desc string) node { return node{"type": "number", "description": desc} }

func boolean(desc string) node { return node{"type": "boolean", "description": desc} }

func ref(def string) node { return node{"$ref": "#/$defs/" + def} }

func refDesc(def, desc string) node { return node{"$ref": "#/$defs/" + def, "description": desc} }

func listOf(desc string, items node) node {
	return node{"type": "array", "description": desc, "items": items}
}

// enum is a string that takes one of values.
func enum[S ~string](desc string, values []S) node {
	vs := make([]string, len(values))
	for i, v := range values {
		vs[i] = string(v)
	}
	return node{"type": "string", "description": desc, "enum": vs}
}

// durationRE is the grammar of time.ParseDuration.
const durationRE = `[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)`

// duration is a Go duration: a string like 250ms or 1h30m, or 0.
func duration(desc string) node {
	return node{
		"description": desc,
		"anyOf":       []node{{"type": "string", "pattern": "^" + durationRE + "$"}, {"const": 0}},
		"examples":    []string{"250ms", "1.5s", "1m"},
	}
}

// oneRate is the grammar of topology.ParseRate: N, N/s, N/100ms, N/1m.
func oneRate() node {
	unit := `(ns|us|µs|μs|ms|s|m|h|` + durationRE + `)`
	return node{
		"anyOf":    []node{{"type": "integer"}, {"type": "string", "pattern": `^\s*-?\d+\s*(/\s*` + unit + `)?\s*$`}},
		"examples": []string{"200/s", "50/100ms", "0"},
	}
}

// grpcCode is a gRPC status code: a number, or a name in any case with or
// without underscores, as topology.GRPCCodeByName reads it.
func grpcCode(desc string) node {
	names := append(topology.GRPCCodeNames(), "CANCELLED")
	alts := make([]string, len(names))
	for i, name := range names {
		var b strings.Builder
		for _, r := range strings.ReplaceAll(name, "_", "") {
			b.WriteString("[" + string(r) + strings.ToLower(string(r)) + "]_*")
		}
		alts[i] = b.String()
	}
	pattern := "^_*(" + strings.Join(alts, "|") + `|\d+)$`
	regexp.MustCompile(pattern)
	return node{
		"description": desc,
		"anyOf":       []node{{"type": "integer", "minimum": 0}, {"type": "string", "pattern": pattern}},
		"examples":    topology.GRPCCodeNames()[1:],
	}
}
