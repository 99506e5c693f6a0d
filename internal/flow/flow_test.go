package flow

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// TestModuleFollowsTheFlow lists every package's imports with go list and
// fails on each import against the flow, naming the rule it breaks.
func TestModuleFollowsTheFlow(t *testing.T) {
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,TestImports,XTestImports", Module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			ImportPath                         string
			Imports, TestImports, XTestImports []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		// Tests may reach further up the flow (an end-to-end test of a
		// stage drives the whole run); only the code that ships is held
		// to it.
		imports[p.ImportPath] = p.Imports
	}
	if len(imports) < 10 {
		t.Fatalf("go list found %d packages: the module was not listed", len(imports))
	}
	for _, v := range Check(imports) {
		t.Error(v)
	}
}

func TestCheck(t *testing.T) {
	m := func(p string) string { return Module + "/" + p }
	tests := []struct {
		name    string
		from    string
		to      string
		wantBad bool
		rule    string
	}{
		{"stage imports an earlier one", "assert", "topology", false, ""},
		{"stage imports a later one", "topology", "assert", true, "topology may import only stages before it"},
		{"siblings", "assert", "fixtures", true, "assert may import only stages before it"},
		{"sub-package of a sibling", "fixtures/jaeger", "assert", true, "fixtures may import only"},
		{"within a stage", "simulator/containers", "simulator", false, ""},
		{"anyone imports the ledger", "report", "internal/record", false, ""},
		{"ledger is a leaf", "internal/record", "topology", true, "internal/record is a leaf"},
		{"helper imports a stage", "internal/w3c", "topology", true, "internal helpers import only each other"},
		{"helper imports a helper", "internal/hopfloor", "internal/usage", false, ""},
		{"stage imports a helper", "simulator", "internal/otlpexport", false, ""},
		{"nothing imports cmd", "scenarios", "cmd/tracerig", true, "scenarios may import only"},
		{"report before scenarios", "report", "scenarios", true, "report may import only"},
		{"test helper above the runner", "fixtures/tracerigtest", "scenarios", false, ""},
		{"unknown package", "newpkg", "topology", true, "belongs to no stage"},
		{"outside the module", "assert", "github.com/other/x", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to := tt.to
			if !strings.Contains(to, ".") {
				to = m(to)
			}
			got := Check(map[string][]string{m(tt.from): {to}})
			if bad := len(got) > 0; bad != tt.wantBad {
				t.Fatalf("Check(%s -> %s) = %v, want violation %v", tt.from, tt.to, got, tt.wantBad)
			}
			if tt.wantBad && !strings.Contains(got[0].Rule, tt.rule) {
				t.Errorf("rule %q does not say %q", got[0].Rule, tt.rule)
			}
		})
	}
}
