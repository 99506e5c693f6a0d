package scenarios

import (
	"embed"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/tracerig/tracerig/topology"
)

// files holds the scenario library: the scenarios and the topologies they
// name, built into the binary so `tracerig run NAME` works anywhere.
//
//go:embed *.yaml topologies/*.yaml
var files embed.FS

// Entry is one scenario of the library.
type Entry struct {
	Name    string // the file name without .yaml
	File    string // path inside the library, e.g. "shop.yaml"
	Summary string // the first sentence of the description
}

// Library lists the scenarios of the library, by name.
func Library() ([]Entry, error) {
	names, err := fs.Glob(files, "*.yaml")
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, file := range names {
		sc, err := Open(strings.TrimSuffix(file, ".yaml"))
		if err != nil {
			return nil, err
		}
		out = append(out, Entry{Name: strings.TrimSuffix(file, ".yaml"), File: file, Summary: summary(sc.Description)})
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Open parses the library scenario called name.
func Open(name string) (*topology.Scenario, error) {
	file := name + ".yaml"
	data, err := files.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return topology.ParseScenario(file, data, func(p string) ([]byte, error) {
		return files.ReadFile(path.Clean(p))
	})
}

// summary returns the first sentence of a description, on one line.
func summary(desc string) string {
	s := strings.Join(strings.Fields(desc), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}
