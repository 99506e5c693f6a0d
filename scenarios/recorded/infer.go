package recorded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tracerig/tracerig/topology/infer"
)

// Scenario and topology file names an inferred pair is written under.
const (
	ScenarioFile = "scenario.yaml"
	TopologyFile = "topology.yaml"
)

// Infer reads every span of src into a Builder with opts and derives the
// topology and the scenario. An input without anything to infer from
// (no spans, no server spans, no entry route to load) is an *InputError.
func Infer(ctx context.Context, src Source, opts infer.Options) (*infer.Result, Stats, error) {
	opts.TopologyFile = TopologyFile
	b := infer.NewBuilder(opts)
	st, err := src.Read(ctx, b)
	if err != nil {
		return nil, st, err
	}
	if st.Spans == 0 {
		return nil, st, &InputError{fmt.Errorf("read %s: no spans", src)}
	}
	res, err := b.Result()
	if err != nil {
		return res, st, &InputError{fmt.Errorf("%s: %w", src, err)}
	}
	return res, st, nil
}

// Write writes res's topology and scenario into dir (made if missing) as
// TopologyFile and ScenarioFile. Both are written to temporary files
// first and renamed into place only when both were written whole, so a
// failure leaves no partial YAML.
func Write(dir string, res *infer.Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write inferred files: %w", err)
	}
	files := []struct {
		name string
		data []byte
	}{{TopologyFile, res.Topology}, {ScenarioFile, res.Scenario}}
	var temps []string
	defer func() {
		for _, t := range temps {
			os.Remove(t)
		}
	}()
	for _, f := range files {
		tmp, err := writeTemp(dir, f.name, f.data)
		if err != nil {
			return err
		}
		temps = append(temps, tmp)
	}
	var errs []error
	for i, f := range files {
		if err := os.Rename(temps[i], filepath.Join(dir, f.name)); err != nil {
			errs = append(errs, fmt.Errorf("write inferred files: %w", err))
		}
	}
	return errors.Join(errs...)
}

func writeTemp(dir, name string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", name, err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("write %s: %w", filepath.Join(dir, name), err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("write %s: %w", filepath.Join(dir, name), err)
	}
	return f.Name(), nil
}
