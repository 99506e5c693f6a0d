package scenarios

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracerig/tracerig/topology"
)

// TestEveryFaultKind plants each fault kind in real traffic and requires the
// detect check to see its effect inside its window and not outside, with the
// other checks as each file states.
func TestEveryFaultKind(t *testing.T) {
	covered := map[topology.FaultKind]bool{}
	files, _ := filepath.Glob("testdata/faults/*.yaml")
	for _, file := range files {
		if strings.HasSuffix(file, "topology.yaml") {
			continue
		}
		sc := load(t, file)
		covered[sc.Faults[0].Kind] = true
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			rep, err := Run(t.Context(), sc, Options{OutDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			passAll(t, rep)
			if len(rep.Faults) != len(sc.Faults) {
				t.Errorf("fault windows %+v, want one per planted fault", rep.Faults)
			}
		})
	}
	for _, k := range topology.FaultKinds {
		if !covered[k] {
			t.Errorf("no test plants %s", k)
		}
	}
}
