package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"

	"github.com/tracerig/tracerig/topology"
	"github.com/tracerig/tracerig/topology/schema"
)

// LibraryFile is one file of a library scenario as a user gets it to edit.
type LibraryFile struct {
	// Path is relative to the scenario's folder: "shop.yaml",
	// "topologies/shop.yaml".
	Path string
	Data []byte
}

// schemaComment is the yaml-language-server line naming a file's schema.
var schemaComment = regexp.MustCompile(`(?m)^# yaml-language-server: \$schema=\S*?([a-z]+\.schema\.json)$`)

// Files returns the library scenario name and the topology files it names,
// as they are in the library, except that the line naming each file's
// JSON Schema points at the published schema (schema.BaseURL), which an
// editor finds wherever the files are copied.
func Files(name string) ([]LibraryFile, error) {
	file := name + ".yaml"
	data, err := files.ReadFile(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no scenario %q in the library (tracerig list shows them)", name)
		}
		return nil, err
	}
	out := []LibraryFile{{Path: file, Data: published(data)}}
	_, err = topology.ParseScenario(file, data, func(p string) ([]byte, error) {
		p = path.Clean(p)
		b, err := files.ReadFile(p)
		if err == nil && !slices.ContainsFunc(out, func(f LibraryFile) bool { return f.Path == p }) {
			out = append(out, LibraryFile{Path: p, Data: published(b)})
		}
		return b, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// published points a file's schema line at the published schema.
func published(data []byte) []byte {
	return schemaComment.ReplaceAll(bytes.Clone(data), []byte("# yaml-language-server: $$schema="+schema.BaseURL+"$1"))
}

// WriteFiles writes files under dir (made if missing) and returns the
// paths written. It refuses, writing nothing, when one exists, unless
// force.
func WriteFiles(dir string, files []LibraryFile, force bool) ([]string, error) {
	paths := make([]string, len(files))
	var exist []string
	for i, f := range files {
		paths[i] = filepath.Join(dir, filepath.FromSlash(f.Path))
		if _, err := os.Stat(paths[i]); err == nil {
			exist = append(exist, paths[i])
		}
	}
	if len(exist) > 0 && !force {
		return nil, fmt.Errorf("%v already exist: --force overwrites them", exist)
	}
	for i, f := range files {
		if err := os.MkdirAll(filepath.Dir(paths[i]), 0o755); err != nil {
			return nil, fmt.Errorf("write %s: %w", paths[i], err)
		}
		if err := os.WriteFile(paths[i], f.Data, 0o644); err != nil {
			return nil, fmt.Errorf("write %s: %w", paths[i], err)
		}
	}
	return paths, nil
}
