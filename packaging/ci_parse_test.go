package packaging

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseCIDoc(t *testing.T) {
	fence := "```"
	tests := []struct {
		name    string
		md      string
		want    []ciJob
		wantErr string
	}{
		{
			name: "github steps: run, upload, junit, other actions",
			md: "text\n" + fence + "yaml\nenv: {A: outer, B: outer}\njobs:\n  j:\n    env: {B: inner}\n    steps:\n" +
				"      - uses: actions/checkout@v5\n      - run: |\n          tracerig validate x\n          tracerig run x\n" +
				"      - uses: mikepenz/action-junit-report@v5\n        with: {report_paths: 'o/junit.xml, p/junit.xml'}\n" +
				"      - uses: actions/upload-artifact@v4\n        with:\n          path: |\n            o/report.html\n            o/*.json\n" + fence + "\n",
			want: []ciJob{{
				name:     "github j",
				env:      map[string]string{"A": "outer", "B": "inner"},
				commands: []string{"tracerig validate x\ntracerig run x\n"},
				keeps:    []string{"o/report.html", "o/*.json"},
				junit:    []string{"o/junit.xml", "p/junit.xml"},
				skipped:  []string{"actions/checkout@v5", "mikepenz/action-junit-report@v5", "actions/upload-artifact@v4"},
			}},
		},
		{
			name: "gitlab: keywords and templates are not jobs, junit as a list",
			md: fence + "yaml\nstages: [test]\nvariables: {A: g}\n.tpl:\n  script: [echo no]\nb:\n  variables: {B: j}\n" +
				"  before_script: [echo 1]\n  script: [echo 2]\n  artifacts:\n    paths: [o/report.html]\n    reports:\n      junit: [o/junit.xml]\n" +
				"a:\n  script: [echo a]\n  artifacts: {reports: {junit: a.xml}}\n" + fence + "\n" + fence + "sh\nnot: yaml: here\n" + fence + "\n",
			want: []ciJob{
				{name: "gitlab a", env: map[string]string{"A": "g"}, commands: []string{"echo a"}, junit: []string{"a.xml"}},
				{name: "gitlab b", env: map[string]string{"A": "g", "B": "j"}, commands: []string{"echo 1", "echo 2"},
					keeps: []string{"o/report.html"}, junit: []string{"o/junit.xml"}},
			},
		},
		{
			name:    "a step's env is refused, not ignored",
			md:      fence + "yaml\njobs:\n  j:\n    steps:\n      - name: s\n        run: echo\n        env: {A: b}\n" + fence + "\n",
			wantErr: `yaml block 1: job j, step "s": step env is not run by this test`,
		},
		{
			name:    "a block that is not YAML",
			md:      fence + "yaml\njobs: [\n" + fence + "\n",
			wantErr: "yaml block 1: yaml:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCIDoc([]byte(tt.md))
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one starting %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("jobs\n%#v\nwant\n%#v", got, tt.want)
			}
		})
	}
}

func TestReplaceInstall(t *testing.T) {
	in := "echo a\n  go install github.com/tracerig/tracerig/cmd/tracerig@v1.2.0\ngo install example.com/other@latest"
	want := "echo a\n:\ngo install example.com/other@latest"
	if got := replaceInstall(in); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
