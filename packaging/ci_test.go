package packaging

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// ciDoc is the page whose CI jobs TestCIDocJobs runs.
const ciDoc = repoRoot + "/docs/ci.md"

// installLine starts the command a job installs tracerig with. The test runs
// each job with a tracerig built from this checkout first on the PATH, so the
// command (which would fetch the published module) runs as ":" instead.
const installLine = "go install github.com/tracerig/tracerig/cmd/tracerig@"

// ciJob is one job of a CI configuration: its commands in order, the
// variables it sets, and the paths it keeps.
type ciJob struct {
	name     string
	env      map[string]string
	commands []string
	keeps    []string // artifact paths and globs, junit reports among them
	junit    []string
	skipped  []string // steps that need the CI's own runner
}

// TestCIDocJobs runs the jobs of docs/ci.md's YAML blocks as written, each
// in a new folder: every `run:` (GitHub Actions) and `script:` line
// (GitLab CI) with bash, as both run them (-e, pipefail), and CI=true. The
// rule for what cannot run here: a GitHub step that `uses:` an action is
// skipped (its `with:` paths are still checked), and the install of tracerig
// is replaced by a build of this checkout (installLine). After a job every
// path it keeps as an artifact or junit report must exist.
func TestCIDocJobs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs tracerig's quickstart once per job")
	}
	src, err := os.ReadFile(ciDoc)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := parseCIDoc(src)
	if err != nil {
		t.Fatalf("%s: %v", ciDoc, err)
	}
	var kinds []string
	for _, j := range jobs {
		kinds = append(kinds, strings.SplitN(j.name, " ", 2)[0])
	}
	for _, want := range []string{"github", "gitlab"} {
		if !slices.Contains(kinds, want) {
			t.Fatalf("%s: no %s job among %q", ciDoc, want, kinds)
		}
	}
	bin := buildTracerig(t)
	for _, j := range jobs {
		t.Run(j.name, func(t *testing.T) { runCIJob(t, j, bin) })
	}
}

func runCIJob(t *testing.T, j ciJob, bin string) {
	checkJobShape(t, j)
	dir := t.TempDir()
	env := append(os.Environ(), "CI=true", "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	for k, v := range j.env {
		env = append(env, k+"="+v)
	}
	t.Logf("skipped (the CI's own runner): %q", j.skipped)
	for _, c := range j.commands {
		t.Logf("$ %s", c)
		run(t, dir, env, "bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", replaceInstall(c))
	}
	for _, p := range append(slices.Clone(j.keeps), j.junit...) {
		matches, err := filepath.Glob(filepath.Join(dir, p))
		if err != nil || len(matches) == 0 {
			t.Errorf("the job keeps %s, which its commands did not write (%v)", p, err)
		}
	}
}

// checkJobShape fails a job that does not do what docs/ci.md promises:
// install tracerig, run a scenario, publish junit.xml, keep report.html.
func checkJobShape(t *testing.T, j ciJob) {
	t.Helper()
	all := strings.Join(j.commands, "\n")
	if !strings.Contains(all, installLine) {
		t.Errorf("no command installs tracerig (%s...)", installLine)
	}
	if !strings.Contains(all, "tracerig run ") {
		t.Errorf("no command runs a scenario")
	}
	if !slices.ContainsFunc(j.junit, func(p string) bool { return strings.HasSuffix(p, "junit.xml") }) {
		t.Errorf("junit.xml is not published (junit reports: %q)", j.junit)
	}
	if !slices.ContainsFunc(j.keeps, func(p string) bool { return strings.HasSuffix(p, "report.html") }) {
		t.Errorf("report.html is not kept (artifacts: %q)", j.keeps)
	}
}

// replaceInstall turns each line of script that installs tracerig into ":".
func replaceInstall(script string) string {
	lines := strings.Split(script, "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), installLine) {
			lines[i] = ":"
		}
	}
	return strings.Join(lines, "\n")
}

// yamlBlocks returns the bodies of the markdown's ```yaml fenced blocks.
func yamlBlocks(md []byte) []string {
	var blocks []string
	var cur *strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(md))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "```yaml":
			cur = new(strings.Builder)
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	return blocks
}

// parseCIDoc reads the jobs of every YAML block of md: a block with a
// top-level `jobs:` is a GitHub Actions workflow, any other a GitLab CI
// configuration.
func parseCIDoc(md []byte) ([]ciJob, error) {
	var jobs []ciJob
	for i, b := range yamlBlocks(md) {
		var top map[string]yaml.Node
		if err := yaml.Unmarshal([]byte(b), &top); err != nil {
			return nil, fmt.Errorf("yaml block %d: %w", i+1, err)
		}
		var js []ciJob
		var err error
		if _, ok := top["jobs"]; ok {
			js, err = githubJobs([]byte(b))
		} else {
			js, err = gitlabJobs([]byte(b))
		}
		if err != nil {
			return nil, fmt.Errorf("yaml block %d: %w", i+1, err)
		}
		jobs = append(jobs, js...)
	}
	return jobs, nil
}

// githubWorkflow is what the test reads of a GitHub Actions workflow.
type githubWorkflow struct {
	Env  map[string]string `yaml:"env"`
	Jobs map[string]struct {
		Env   map[string]string `yaml:"env"`
		Steps []struct {
			Name string            `yaml:"name"`
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			Env  map[string]string `yaml:"env"`
			With map[string]string `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func githubJobs(b []byte) ([]ciJob, error) {
	var w githubWorkflow
	if err := yaml.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("github workflow: %w", err)
	}
	var jobs []ciJob
	for name, gj := range w.Jobs {
		j := ciJob{name: "github " + name, env: merge(w.Env, gj.Env)}
		for _, s := range gj.Steps {
			switch {
			case s.Run != "":
				if len(s.Env) > 0 {
					return nil, fmt.Errorf("job %s, step %q: step env is not run by this test; set it on the job", name, s.Name)
				}
				j.commands = append(j.commands, s.Run)
			case strings.HasPrefix(s.Uses, "actions/upload-artifact@"):
				j.keeps = append(j.keeps, fields(s.With["path"], "\n")...)
				j.skipped = append(j.skipped, s.Uses)
			case strings.HasPrefix(s.Uses, "mikepenz/action-junit-report@"):
				j.junit = append(j.junit, fields(s.With["report_paths"], ",")...)
				j.skipped = append(j.skipped, s.Uses)
			default:
				j.skipped = append(j.skipped, s.Uses)
			}
		}
		jobs = append(jobs, j)
	}
	slices.SortFunc(jobs, func(a, b ciJob) int { return strings.Compare(a.name, b.name) })
	return jobs, nil
}

// gitlabJob is what the test reads of a GitLab CI job.
type gitlabJob struct {
	Variables    map[string]string `yaml:"variables"`
	BeforeScript []string          `yaml:"before_script"`
	Script       []string          `yaml:"script"`
	Artifacts    struct {
		Paths   []string `yaml:"paths"`
		Reports struct {
			JUnit pathList `yaml:"junit"`
		} `yaml:"reports"`
	} `yaml:"artifacts"`
}

// pathList is a path or a list of paths.
type pathList []string

// UnmarshalYAML reads a scalar or a sequence.
func (p *pathList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*p = pathList{n.Value}
		return nil
	}
	return n.Decode((*[]string)(p))
}

func gitlabJobs(b []byte) ([]ciJob, error) {
	var top map[string]yaml.Node
	if err := yaml.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("gitlab configuration: %w", err)
	}
	var global struct {
		Variables map[string]string `yaml:"variables"`
	}
	if err := yaml.Unmarshal(b, &global); err != nil {
		return nil, fmt.Errorf("gitlab configuration: %w", err)
	}
	var jobs []ciJob
	for name, n := range top {
		if n.Kind != yaml.MappingNode || strings.HasPrefix(name, ".") {
			continue // a keyword (stages, variables, default) or a template
		}
		var gj gitlabJob
		if err := n.Decode(&gj); err != nil {
			return nil, fmt.Errorf("gitlab job %s: %w", name, err)
		}
		if len(gj.Script) == 0 {
			continue
		}
		jobs = append(jobs, ciJob{
			name:     "gitlab " + name,
			env:      merge(global.Variables, gj.Variables),
			commands: append(slices.Clone(gj.BeforeScript), gj.Script...),
			keeps:    gj.Artifacts.Paths,
			junit:    gj.Artifacts.Reports.JUnit,
		})
	}
	slices.SortFunc(jobs, func(a, b ciJob) int { return strings.Compare(a.name, b.name) })
	return jobs, nil
}

// merge returns the variables of outer overridden by inner's.
func merge(outer, inner map[string]string) map[string]string {
	m := make(map[string]string, len(outer)+len(inner))
	for k, v := range outer {
		m[k] = v
	}
	for k, v := range inner {
		m[k] = v
	}
	return m
}

// fields splits a list of paths written one per line or separated by sep.
func fields(s, sep string) []string {
	var out []string
	for _, f := range strings.Split(s, sep) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
