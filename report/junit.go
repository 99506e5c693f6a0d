package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/internal/cmdline"
)

// The JUnit XML written to junit.xml, in the shape the Ant JUnit task made
// common and Jenkins, GitLab and GitHub test reporters read: one suite per
// run, one test case per check.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Time       string          `xml:"time,attr"`
		Timestamp  string          `xml:"timestamp,attr,omitempty"`
		Hostname   string          `xml:"hostname,attr,omitempty"`
		ID         int             `xml:"id,attr"`
		Package    string          `xml:"package,attr"`
		File       string          `xml:"file,attr,omitempty"`
		Properties []junitProperty `xml:"properties>property"`
		Cases      []junitCase     `xml:"testcase"`
		SystemOut  string          `xml:"system-out,omitempty"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Time      string        `xml:"time,attr"`
		Skipped   *junitMessage `xml:"skipped"`
		Error     *junitMessage `xml:"error"`
		Failure   *junitMessage `xml:"failure"`
		SystemOut string        `xml:"system-out,omitempty"`
	}
	junitMessage struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr,omitempty"`
		Text    string `xml:",chardata"`
	}
)

// junitTimestamp is the Ant format: local-free ISO 8601 without a zone,
// which the strictest schemas require (the time is UTC).
const junitTimestamp = "2006-01-02T15:04:05"

// WriteJUnit writes the report as JUnit XML: a <testsuites> holding one
// <testsuite> named after the scenario with one <testcase> per verdict
// ("check subject", class "tracerig.<scenario>"). A failed check is a
// <failure> whose message is what was observed and whose text holds the
// findings and their evidence; a check that did not run is <skipped> with
// the reason. An interrupted run, or one with runtime errors, adds a "run"
// test case in <error>. The checks are evaluated after the load, so test
// cases report a time of zero; the suite's time is the run's duration.
func (r *Report) WriteJUnit(w io.Writer) error {
	class := "tracerig." + r.Scenario
	suite := junitSuite{
		Name:       r.Scenario,
		Time:       seconds3(r.Duration.Seconds()),
		Package:    "tracerig",
		File:       r.File,
		Hostname:   hostname(),
		Properties: r.junitProperties(),
	}
	if !r.StartedAt.IsZero() {
		suite.Timestamp = r.StartedAt.UTC().Format(junitTimestamp)
	}
	for _, v := range r.Verdicts {
		name := strings.TrimSpace(v.Check + " " + v.Subject)
		tc := junitCase{Name: name, Classname: class, Time: "0.000"}
		switch v.Status {
		case assert.StatusFail:
			suite.Failures++
			tc.Failure = &junitMessage{Message: v.Observed, Type: "fail", Text: verdictText(v)}
		case assert.StatusNotRun:
			suite.Skipped++
			tc.Skipped = &junitMessage{Message: v.Reason}
		case assert.StatusPass:
			tc.SystemOut = verdictText(v)
		case assert.StatusWarn:
			// JUnit has no warnings: a passed case that says so.
			tc.SystemOut = "WARNING: " + verdictText(v)
		default:
			suite.Errors++
			tc.Error = &junitMessage{Message: "unknown status " + string(v.Status), Type: "status", Text: verdictText(v)}
		}
		suite.Cases = append(suite.Cases, tc)
	}
	if r.Interrupted || len(r.Errors) > 0 {
		var msg []string
		if r.Interrupted {
			msg = append(msg, "the run was interrupted; the checks ran on what had arrived")
		}
		msg = append(msg, r.Errors...)
		suite.Errors++
		suite.Cases = append(suite.Cases, junitCase{
			Name: "run", Classname: class, Time: seconds3(r.Duration.Seconds()),
			Error: &junitMessage{Message: msg[0], Type: "run", Text: strings.Join(msg, "\n")},
		})
	}
	suite.Tests = len(suite.Cases)
	var text bytes.Buffer
	if err := r.WriteText(&text); err == nil {
		suite.SystemOut = text.String()
	}
	doc := junitSuites{
		Name: "tracerig", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors,
		Time: suite.Time, Suites: []junitSuite{suite},
	}
	ew := &errWriter{w: w}
	ew.printf("%s", xml.Header)
	enc := xml.NewEncoder(ew)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("encode junit: %w", err)
	}
	ew.printf("\n")
	return ew.err
}

// junitProperties are the suite's properties: how the run was made, its
// outcome and its fault windows.
func (r *Report) junitProperties() []junitProperty {
	props := []junitProperty{
		{"report_version", strconv.Itoa(r.Version)},
		{"topology", r.Topology},
		{"runtime", r.Runtime},
		{"seed", strconv.FormatUint(r.Seed, 10)},
		{"backend", strings.TrimSpace(r.Backend.Type + " " + r.Backend.Endpoint)},
		{"interrupted", strconv.FormatBool(r.Interrupted)},
		{"passed", strconv.FormatBool(r.Passed)},
	}
	if r.RunID != "" {
		props = append(props, junitProperty{"run_id", r.RunID})
	}
	if r.TracerigVersion != "" {
		props = append(props, junitProperty{"tracerig_version", r.TracerigVersion})
	}
	if len(r.CommandLine) > 0 {
		props = append(props, junitProperty{"command_line", cmdline.Join(r.CommandLine)})
	}
	for _, f := range r.Faults {
		props = append(props, junitProperty{"fault", faultLabel(f) + " " + r.Window(f)})
	}
	return props
}

// WriteJUnitFile writes the JUnit XML to path, creating its folder.
func (r *Report) WriteJUnitFile(path string) error {
	return writeFile(path, r.WriteJUnit)
}

// verdictText is a verdict in plain text: what was measured, expected and
// observed, then every finding with its fault attribution and examples.
func verdictText(v assert.Verdict) string {
	var b strings.Builder
	fmt.Fprintf(&b, "measured: %s\nexpected: %s\nobserved: %s\n", v.Measured, v.Expected, v.Observed)
	if len(v.Findings) > 0 {
		b.WriteString("findings:\n")
	}
	for _, f := range v.Findings {
		fmt.Fprintf(&b, "  %s: %s (%s)\n", f.Subject, f.Message, countOf(f))
		fmt.Fprintf(&b, "    %s\n", findingFields(f))
		if f.Fault != "" {
			fmt.Fprintf(&b, "    %s\n", f.Fault)
		}
		for _, ex := range f.Examples {
			fmt.Fprintf(&b, "    e.g. %s\n", ex)
		}
	}
	return b.String()
}

// findingFields renders a finding's status and structured fields as
// key=value pairs, the same names as in report.json, a value with a space
// quoted: "status=failing from=cart to=inventory fault_number=1".
func findingFields(f assert.Finding) string {
	kv := []string{"status=" + string(f.Status)}
	add := func(k, v string) {
		if strings.ContainsAny(v, " \"=") {
			v = strconv.Quote(v)
		}
		if v != "" {
			kv = append(kv, k+"="+v)
		}
	}
	add("service", f.Service)
	add("instance", f.Instance)
	add("route", f.Route)
	add("from", f.From)
	add("to", f.To)
	if f.FaultNumber > 0 {
		add("fault_number", strconv.Itoa(f.FaultNumber))
	}
	if f.LiveFault > 0 {
		add("live_fault", strconv.Itoa(f.LiveFault))
	}
	return strings.Join(kv, " ")
}

// countOf renders a finding's count: "3 of 120" or "3".
func countOf(f assert.Finding) string {
	if f.Of > 0 {
		return fmt.Sprintf("%d of %d", f.Count, f.Of)
	}
	return strconv.Itoa(f.Count)
}

// hostname names the machine the run ran on, for the suite's hostname.
func hostname() string {
	if h, err := os.Hostname(); err == nil && h != "" && !strings.ContainsAny(h, " \t\n") {
		return h
	}
	return "localhost"
}

func seconds3(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) }
