package scenarios

import (
	"os"
	"strings"
	"testing"

	"github.com/tracerig/tracerig/topology"
)

// TestFilesWrittenRunAsTheLibrary: every library scenario written out with
// its topology files parses from disk to the same scenario, names the
// published schema, and is not overwritten without force.
func TestFilesWrittenRunAsTheLibrary(t *testing.T) {
	lib, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range lib {
		t.Run(e.Name, func(t *testing.T) {
			fs, err := Files(e.Name)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			paths, err := WriteFiles(dir, fs, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range paths {
				data, _ := os.ReadFile(p)
				if strings.Contains(string(data), "$schema=../") || !strings.Contains(string(data), "$schema=https://") {
					t.Errorf("%s does not name the published schema:\n%s", p, strings.SplitN(string(data), "\n", 2)[0])
				}
			}
			data, err := os.ReadFile(paths[0])
			if err != nil {
				t.Fatal(err)
			}
			got, err := topology.ParseScenario(paths[0], data, os.ReadFile)
			if err != nil {
				t.Fatalf("the written scenario does not parse: %v", err)
			}
			want, _ := Open(e.Name)
			if got.Name != want.Name || len(got.Topology.Services) != len(want.Topology.Services) || len(got.Expect) != len(want.Expect) {
				t.Errorf("written scenario differs from the library's: %s, %d services, %d expectations", got.Name, len(got.Topology.Services), len(got.Expect))
			}
			if _, err := WriteFiles(dir, fs, false); err == nil || !strings.Contains(err.Error(), "--force") {
				t.Errorf("second write without force: %v", err)
			}
			if _, err := WriteFiles(dir, fs, true); err != nil {
				t.Errorf("second write with force: %v", err)
			}
		})
	}
	if _, err := Files("nope"); err == nil || !strings.Contains(err.Error(), "tracerig list") {
		t.Errorf("Files(nope) = %v", err)
	}
}
