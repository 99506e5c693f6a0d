// Package flow enforces the direction in which data, and so imports, flow
// through tracerig's stages:
//
//	topology ← simulator ← fixtures, assert ← report ← scenarios ← cmd
//
// A stage may import the stages before it and never one after it (nor a
// sibling: fixtures and assert do not know each other). internal/record,
// the ledger's vocabulary, is a leaf every stage may import; the other
// internal packages are helpers any stage may import and that import only
// each other. Its test lists the module's imports with `go list` and names
// each import against the flow with the rule it breaks.
package flow

import "strings"

// Module is the module path every package of tracerig starts with.
const Module = "github.com/tracerig/tracerig"

// stage is one step of the flow; packages of one stage may import each
// other, and a stage may import only stages of a lower rank.
type stage struct {
	name string
	rank int
}

// stages maps a package path, relative to Module, to its stage: the
// longest prefix listed wins.
var stages = map[string]stage{
	"internal/record":       {"internal/record", 0},
	"internal":              {"internal", 0},
	"topology":              {"topology", 1},
	"simulator":             {"simulator", 2},
	"fixtures":              {"fixtures", 3},
	"assert":                {"assert", 3},
	"report":                {"report", 4},
	"scenarios":             {"scenarios", 5},
	"fixtures/tracerigtest": {"fixtures/tracerigtest", 6},
	"cmd":                   {"cmd", 7},
}

// Order is the flow as the error messages state it.
const Order = "internal/record ← topology ← simulator ← fixtures, assert ← report ← scenarios ← fixtures/tracerigtest ← cmd"

// stageOf returns the stage of a package path relative to Module.
func stageOf(rel string) (stage, bool) {
	best, ok := stage{}, false
	bestLen := -1
	for prefix, s := range stages {
		if (rel == prefix || strings.HasPrefix(rel, prefix+"/")) && len(prefix) > bestLen {
			best, ok, bestLen = s, true, len(prefix)
		}
	}
	return best, ok
}

// Violation is one import against the flow.
type Violation struct {
	From, To string // package paths relative to Module
	Rule     string
}

func (v Violation) String() string { return v.From + " imports " + v.To + ": " + v.Rule }

// Check returns the imports against the flow among imports, a map from
// each package of the module to the packages it imports (full paths;
// those outside the module are ignored).
func Check(imports map[string][]string) []Violation {
	var out []Violation
	for from, tos := range imports {
		rf, ok := strings.CutPrefix(from, Module+"/")
		if !ok {
			continue
		}
		sf, known := stageOf(rf)
		for _, to := range tos {
			rt, ok := strings.CutPrefix(to, Module+"/")
			if !ok {
				continue
			}
			if v, bad := rule(rf, sf, known, rt); bad {
				out = append(out, Violation{From: rf, To: rt, Rule: v})
			}
		}
	}
	return out
}

// rule says why the import of rt by rf (of stage sf) is against the flow.
func rule(rf string, sf stage, known bool, rt string) (string, bool) {
	if !known {
		return "the package belongs to no stage: add it to flow's stage table where it sits in " + Order, true
	}
	st, ok := stageOf(rt)
	switch {
	case !ok:
		return "the imported package belongs to no stage: add it to flow's stage table", true
	case st.name == "internal/record" && rf != "internal/record":
		return "", false
	case rf == "internal/record":
		return "internal/record is a leaf: it imports no package of the module", true
	case sf.name == "internal" && st.name != "internal":
		return "internal helpers import only each other and internal/record, never a stage (" + st.name + ")", true
	case st.name == "internal":
		return "", false
	case sf.name == st.name:
		return "", false
	case st.rank >= sf.rank:
		return "stage " + sf.name + " may import only stages before it in " + Order + ", and " + st.name + " is not", true
	}
	return "", false
}
