package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"golang.org/x/net/html"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/internal/durfmt"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

func TestLatencyPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tt := range []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"none", nil, 0.99, 0},
		{"one", ms(7), 0.5, 7 * time.Millisecond},
		{"one max", ms(7), 1, 7 * time.Millisecond},
		{"median of four is the second", ms(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
		{"median of five is the third", ms(1, 2, 3, 4, 5), 0.5, 3 * time.Millisecond},
		{"p99 of 100 is the 99th", hundred, 0.99, 99 * time.Millisecond},
		{"p99.5 of 100 is the 100th", hundred, 0.995, 100 * time.Millisecond},
		{"p50 of 100 is the 50th", hundred, 0.5, 50 * time.Millisecond},
		{"max", hundred, 1, 100 * time.Millisecond},
		{"q 0 is the minimum", hundred, 0, time.Millisecond},
		{"p99 of 3 is the largest", ms(1, 2, 9), 0.99, 9 * time.Millisecond},
	} {
		if got := LatencyPercentile(tt.sorted, tt.q); got != tt.want {
			t.Errorf("%s: LatencyPercentile(q %g) = %s, want %s", tt.name, tt.q, got, tt.want)
		}
	}
	// ⌈q·n⌉ must not be pushed up a rank by rounding: 0.07·100 is
	// 7.000000000000001 in floating point.
	if got := LatencyPercentile(hundred, 0.07); got != 7*time.Millisecond {
		t.Errorf("p7 of 100 = %s, want the 7th, 7ms", got)
	}
}

// TestLatencyFiguresAgree builds one set of load results and requires the
// latency histogram's p99 mark, report.html's load table, the text
// summary, the load verdict (in junit.xml) and report.json to give the same
// p50 and p99, the nearest rank over every result.
func TestLatencyFiguresAgree(t *testing.T) {
	const target = "gateway GET /order"
	start := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	// 400 requests at 50/s, a long-tailed spread of latencies: vegeta's
	// t-digest interpolates its p99 between them.
	var (
		samples []LoadSample
		metrics vegeta.Metrics
		all     []time.Duration
	)
	for i := range 400 {
		u := (float64(i*7919%400) + 0.5) / 400
		lat := time.Duration(3e6*math.Exp(1.1*math.Sqrt(-2*math.Log(1-u)))) + time.Duration(i)*time.Microsecond
		code := uint16(200)
		if i%50 == 7 {
			code = 503
		}
		res := vegeta.Result{Attack: target, Seq: uint64(i), Code: code, Timestamp: start.Add(time.Duration(i) * 20 * time.Millisecond),
			Latency: lat, Method: "GET", URL: "http://127.0.0.1:1/order"}
		metrics.Add(&res)
		samples = append(samples, LoadSample{Load: target, Route: target, At: res.Timestamp.UnixNano(), Latency: lat, Code: code})
		all = append(all, lat)
	}
	metrics.Close()
	slices.Sort(all)
	want := latencySummary{P50: all[199], P99: all[395], Max: all[399]} // ranks ⌈0.5·400⌉, ⌈0.99·400⌉, 400
	t.Logf("nearest rank: p50 %s p99 %s max %s; vegeta's t-digest: p50 %s p99 %s", want.P50, want.P99, want.Max, metrics.Latencies.P50, metrics.Latencies.P99)

	ev := sampleEvidence(t)
	ev.Loads = []topology.Load{ev.Scenario.Load[0]}
	ev.Loads[0].Rate = topology.Rate{Freq: 100, Per: time.Second} // asked 100/s, achieved 50/s: the load verdict gives the latencies
	ev.LoadResults = []simulator.LoadResult{{Name: target, RequestedRate: 100, Metrics: metrics}}
	ev.Samples = samples
	rep := New(ev)
	expect := []topology.Expect{{Kind: topology.ExpectLoad, Load: topology.LoadExpect{Min: 0.97}}}
	rep.SetVerdicts(append(sampleVerdicts(), assert.Load(ev.Loads, rep.LoadOutcomes(), false, expect)))
	if l := rep.Load[0]; l.LatencyP50 != want.P50 || l.LatencyP99 != want.P99 || l.LatencyMax != want.Max {
		t.Fatalf("load report: p50 %s p99 %s max %s, want %s %s %s", l.LatencyP50, l.LatencyP99, l.LatencyMax, want.P50, want.P99, want.Max)
	}
	p50, p99 := durfmt.Human(want.P50).String(), durfmt.Human(want.P99).String()

	// report.json
	dir := t.TempDir()
	if err := rep.WriteJSON(filepath.Join(dir, "report.json")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Load []struct {
			P50 int64 `json:"latency_p50_ns"`
			P99 int64 `json:"latency_p99_ns"`
			Max int64 `json:"latency_max_ns"`
		} `json:"load"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if l := doc.Load[0]; time.Duration(l.P50) != want.P50 || time.Duration(l.P99) != want.P99 || time.Duration(l.Max) != want.Max {
		t.Errorf("report.json: p50 %d p99 %d max %d ns, want %d %d %d", l.P50, l.P99, l.Max, want.P50, want.P99, want.Max)
	}

	// The text summary, and the load verdict in it.
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if w := "p50 " + p50 + " p99 " + p99; !strings.Contains(text.String(), w) {
		t.Errorf("text summary lacks %q:\n%s", w, text.String())
	}

	// junit.xml: the load verdict's failure names the latencies.
	var junit bytes.Buffer
	if err := rep.WriteJUnit(&junit); err != nil {
		t.Fatal(err)
	}
	var suites junitSuites
	if err := xml.Unmarshal(junit.Bytes(), &suites); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range suites.Suites[0].Cases {
		if c.Name == "load" && c.Failure != nil {
			found = true
			if w := "p50 " + p50 + ", p99 " + p99; !strings.Contains(c.Failure.Message, w) {
				t.Errorf("junit load failure %q lacks %q", c.Failure.Message, w)
			}
		}
	}
	if !found {
		t.Errorf("junit.xml has no failed load case:\n%s", junit.String())
	}

	// report.html: the load table's cells and the histogram's marks.
	var page bytes.Buffer
	if err := rep.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	cells := loadTableCells(t, page.Bytes())
	if cells["p50"] != p50 || cells["p99"] != p99 || cells["max"] != durfmt.Human(want.Max).String() {
		t.Errorf("load table: p50 %q p99 %q max %q, want %q %q %q", cells["p50"], cells["p99"], cells["max"], p50, p99, durfmt.Human(want.Max))
	}
	marks := regexp.MustCompile(`>(p50|p99) ([^<]+)<`).FindAllStringSubmatch(page.String(), -1)
	got := map[string]string{}
	for _, m := range marks {
		got[m[1]] = strings.TrimSpace(html.UnescapeString(m[2]))
	}
	if got["p50"] != p50 || got["p99"] != p99 {
		t.Errorf("latency plot marks p50 %q p99 %q, want %q %q (marks found: %q)", got["p50"], got["p99"], p50, p99, marks)
	}
	if !strings.Contains(page.String(), "Latency of "+target) {
		t.Error("report.html has no latency plot for " + target)
	}
}

// loadTableCells reads the first row of report.html's load table, by
// column header.
func loadTableCells(t *testing.T, page []byte) map[string]string {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var text func(n *html.Node) string
	text = func(n *html.Node) string {
		if n.Type == html.TextNode {
			return n.Data
		}
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			b.WriteString(text(c))
		}
		return b.String()
	}
	var rows [][]string
	var walk func(n *html.Node) bool
	walk = func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == "table" {
			rows = nil
			var collect func(n *html.Node)
			collect = func(n *html.Node) {
				if n.Type == html.ElementNode && n.Data == "tr" {
					var row []string
					for c := n.FirstChild; c != nil; c = c.NextSibling {
						if c.Type == html.ElementNode && (c.Data == "td" || c.Data == "th") {
							row = append(row, strings.TrimSpace(text(c)))
						}
					}
					rows = append(rows, row)
					return
				}
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					collect(c)
				}
			}
			collect(n)
			if len(rows) > 1 && slices.Contains(rows[0], "p99") && slices.Contains(rows[0], "achieved") {
				return true
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if walk(c) {
				return true
			}
		}
		return false
	}
	if !walk(doc) {
		t.Fatal("report.html has no load table")
	}
	out := map[string]string{}
	for i, h := range rows[0] {
		if i < len(rows[1]) {
			out[h] = rows[1][i]
		}
	}
	return out
}
