package report

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestJUnitShape(t *testing.T) {
	rep := sampleReport(t)
	var buf bytes.Buffer
	if err := rep.WriteJUnit(&buf); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("junit.xml does not parse: %v\n%s", err, buf.String())
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("%d test suites, want 1", len(doc.Suites))
	}
	s := doc.Suites[0]
	if s.Name != rep.Scenario || s.Tests != 4 || s.Failures != 1 || s.Skipped != 1 || s.Errors != 0 || s.Time != "6.500" {
		t.Errorf("suite %s: tests %d failures %d skipped %d errors %d time %s", s.Name, s.Tests, s.Failures, s.Skipped, s.Errors, s.Time)
	}
	if s.Timestamp != "2026-03-04T05:06:07" {
		t.Errorf("timestamp %q", s.Timestamp)
	}
	want := []string{"propagation", "completeness", "detect #1 strip-headers api -> store", "sampling gateway"}
	for i, c := range s.Cases {
		if c.Name != want[i] || c.Classname != "tracerig."+rep.Scenario || c.Time == "" {
			t.Errorf("case %d: %q class %q time %q", i, c.Name, c.Classname, c.Time)
		}
	}
	f := s.Cases[0].Failure
	if f == nil || f.Message != rep.Verdicts[0].Observed {
		t.Fatalf("failure %+v, want the observed text as message", f)
	}
	for _, w := range []string{"api -> store: traceparent missing (2 of 10)", "explained by fault #1", "e.g. request 3 hop 1f", "gateway -> api: new trace (1 of 10)", "unexplained"} {
		if !strings.Contains(f.Text, w) {
			t.Errorf("failure text lacks %q:\n%s", w, f.Text)
		}
	}
	if sk := s.Cases[2].Skipped; sk == nil || sk.Message != rep.Verdicts[2].Reason {
		t.Errorf("not-run check: skipped %+v", sk)
	}
	if s.Cases[1].Failure != nil || s.Cases[1].Skipped != nil || s.Cases[1].Error != nil {
		t.Errorf("passing check carries a result element: %+v", s.Cases[1])
	}

	// An interrupted run adds a "run" case in error.
	rep.Interrupted = true
	buf.Reset()
	if err := rep.WriteJUnit(&buf); err != nil {
		t.Fatal(err)
	}
	doc = junitSuites{}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	s = doc.Suites[0]
	last := s.Cases[len(s.Cases)-1]
	if s.Errors != 1 || s.Tests != 5 || last.Name != "run" || last.Error == nil || !strings.Contains(last.Error.Message, "interrupted") {
		t.Errorf("interrupted run: errors %d tests %d last case %+v", s.Errors, s.Tests, last)
	}
	validateJUnit(t, buf.Bytes())
}

// TestJUnitSchema validates junit.xml against the Jenkins/Ant JUnit schema
// in testdata/junit.xsd with xmllint: the sample's, and the goldens' of
// real runs.
func TestJUnitSchema(t *testing.T) {
	rep := sampleReport(t)
	var buf bytes.Buffer
	if err := rep.WriteJUnit(&buf); err != nil {
		t.Fatal(err)
	}
	validateJUnit(t, buf.Bytes())
	goldens, _ := filepath.Glob("testdata/golden/*/junit.xml")
	if len(goldens) == 0 {
		t.Fatal("no golden junit.xml")
	}
	for _, g := range goldens {
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		validateJUnit(t, b)
	}
}

// validateJUnit runs xmllint --schema testdata/junit.xsd over data.
func validateJUnit(t *testing.T, data []byte) {
	t.Helper()
	xmllint := requireTool(t, "libxml2-utils", "xmllint")
	xsd, err := filepath.Abs("testdata/junit.xsd")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "junit.xml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, xmllint, "--noout", "--nonet", "--schema", xsd, path).CombinedOutput()
	if err != nil {
		t.Fatalf("junit.xml does not validate against %s: %v\n%s\n%s", xsd, err, out, data)
	}
}
