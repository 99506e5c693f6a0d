package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// described returns the names of the metrics the collectors describe.
func described(t *testing.T) []string {
	t.Helper()
	ch := make(chan *prometheus.Desc, 64)
	NewRunCollector(func() Run { return Run{} }).Describe(ch)
	NewBlast(1).Describe(ch)
	close(ch)
	fq := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	var out []string
	for d := range ch {
		m := fq.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("no name in %s", d)
		}
		out = append(out, m[1])
	}
	return out
}

// TestDocumented holds the README's Metrics section and the Grafana
// dashboard to the collectors: every metric listed with its type, none
// named that does not exist, rate() over counters only.
func TestDocumented(t *testing.T) {
	names := described(t)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "\n## Metrics\n")
	section, _, _ = strings.Cut(section, "\n## ")
	row := regexp.MustCompile("(?m)^\\| `(tracerig_[a-z_]+)` \\| (counter|gauge) \\|")
	listed := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		listed[m[1]] = m[2]
	}
	for _, n := range names {
		want := "gauge"
		if strings.HasSuffix(n, "_total") {
			want = "counter"
		}
		if listed[n] != want {
			t.Errorf("README's Metrics lists %s as %q, want a row saying %s", n, listed[n], want)
		}
	}
	for n := range listed {
		if !slices.Contains(names, n) {
			t.Errorf("README's Metrics lists %s, which no collector describes", n)
		}
	}

	raw, err := os.ReadFile("../../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil || dash.Title == "" || len(dash.Panels) == 0 {
		t.Fatalf("docs/grafana-dashboard.json is no dashboard: %v", err)
	}
	metric := regexp.MustCompile(`tracerig_[a-z_]+`)
	rated := regexp.MustCompile(`rate\((tracerig_[a-z_]+)`)
	used := map[string]bool{}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, n := range metric.FindAllString(tg.Expr, -1) {
				used[n] = true
				if !slices.Contains(names, n) {
					t.Errorf("the dashboard queries %s, which no collector describes: %s", n, tg.Expr)
				}
			}
			for _, m := range rated.FindAllStringSubmatch(tg.Expr, -1) {
				if !strings.HasSuffix(m[1], "_total") {
					t.Errorf("the dashboard takes rate() of the gauge %s", m[1])
				}
			}
		}
	}
	for _, n := range names {
		if !used[n] && n != "tracerig_fault_windows_total" {
			t.Errorf("the dashboard shows no panel of %s", n)
		}
	}
}
