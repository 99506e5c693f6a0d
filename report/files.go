package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// WriteFiles writes the report's files into dir, creating it: report.json,
// decisions.tsv, junit.xml and report.html.
func (r *Report) WriteFiles(dir string) error {
	if err := r.WriteJSON(filepath.Join(dir, "report.json")); err != nil {
		return err
	}
	if err := r.writeDecisions(filepath.Join(dir, "decisions.tsv")); err != nil {
		return err
	}
	if err := r.WriteJUnitFile(filepath.Join(dir, "junit.xml")); err != nil {
		return err
	}
	return r.WriteHTMLFile(filepath.Join(dir, "report.html"))
}

// writeDecisions writes the decision log to path: the one the run kept as
// it went, or one from its records.
func (r *Report) writeDecisions(path string) error {
	if ev := r.evidence(); ev.DecisionLog != nil {
		ev.DecisionLog.path = path
		return ev.DecisionLog.Close()
	}
	return r.WriteDecisions(path)
}

// WriteJSON writes the report to path, creating its folder.
func (r *Report) WriteJSON(path string) error {
	if err := os.MkdirAll(dirOf(path), 0o755); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func dirOf(path string) string {
	if i := strings.LastIndexByte(path, os.PathSeparator); i >= 0 {
		return path[:i]
	}
	return "."
}

// writeFile writes what write produces to path through a buffer, creating
// the path's folder.
func writeFile(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(dirOf(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
