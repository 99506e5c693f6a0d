package report

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// TestTopologySVGAsyncEdges: the topology picture draws an asynchronous
// edge dashed in its own pattern and labelled with its topic, which stays
// on the label when the edge is broken; a call is drawn solid.
func TestTopologySVGAsyncEdges(t *testing.T) {
	topo, err := topology.LoadTopology("testdata/graph/messaging.yaml")
	if err != nil {
		t.Fatal(err)
	}
	hops := []record.Hop{
		{From: "gateway", To: "api", Route: "POST /orders", Received: true},
		{From: "api", To: "billing", Route: "process orders", Received: true, Message: &record.Message{Topic: "orders", Group: "billing"}},
	}
	propagation := func(fs ...assert.Finding) []assert.Verdict {
		return []assert.Verdict{{Check: string(topology.ExpectPropagation), Status: assert.StatusPass, Findings: fs}}
	}
	for _, tt := range []struct {
		name     string
		verdicts []assert.Verdict
		label    string // the async edge's
		colour   string
	}{
		{"unchecked", nil, "topic orders", edgeUnchecked},
		{"fine", propagation(), "topic orders", edgeFine},
		{"broken", propagation(assert.Finding{Subject: "api -> billing", Count: 3, Of: 10}), "topic orders: 3 of 10 broken", edgeBroken},
		{"broken, no total", propagation(assert.Finding{Subject: "api -> billing", Count: 3}), "topic orders: 3 broken", edgeBroken},
	} {
		t.Run(tt.name, func(t *testing.T) {
			svg := topologySVG(topo, hops, tt.verdicts)
			async := edgeLine(t, svg, "api -&gt; billing through topic orders")
			if !strings.Contains(async, `stroke-dasharray="`+asyncDash+`"`) || !strings.Contains(async, `stroke="`+tt.colour+`"`) {
				t.Errorf("async edge %s, want it dashed %s in %s", async, asyncDash, tt.colour)
			}
			if call := edgeLine(t, svg, "gateway -&gt; api ("); strings.Contains(call, "stroke-dasharray") {
				t.Errorf("call edge %s, want it solid", call)
			}
			if !strings.Contains(svg, ">"+tt.label+"</text>") {
				t.Errorf("no label %q in\n%s", tt.label, svg)
			}
			if !strings.Contains(svg, asyncLegend) {
				t.Errorf("no legend entry %q for the async edge", asyncLegend)
			}
		})
	}
}

// edgeLine is the line of svg drawing the edge whose title starts with
// title.
func edgeLine(t *testing.T, svg, title string) string {
	t.Helper()
	for _, l := range strings.Split(svg, "\n") {
		if strings.HasPrefix(l, "<path ") && strings.Contains(l, "<title>"+title) {
			return l
		}
	}
	t.Fatalf("no edge titled %q in\n%s", title, svg)
	return ""
}

// TestLiveTopologySVG: the live picture places every service where the
// report's does, marks every edge's path and label with its ends and
// topic, draws every edge as not yet seen, and has no legend of its own.
func TestLiveTopologySVG(t *testing.T) {
	topo, err := topology.LoadTopology("testdata/graph/messaging.yaml")
	if err != nil {
		t.Fatal(err)
	}
	svg := LiveTopologySVG(topo)
	nodes := regexp.MustCompile(`<g><title>[^<]*</title><rect [^>]*>`)
	if got, want := nodes.FindAllString(svg, -1), nodes.FindAllString(topologySVG(topo, nil, nil), -1); len(got) == 0 || !slices.Equal(got, want) {
		t.Errorf("live nodes %q, want the report's %q", got, want)
	}
	for _, e := range topo.Edges() {
		data := `data-from="` + e.From + `" data-to="` + e.To + `" data-topic="` + e.Topic + `"`
		path := regexp.MustCompile(`<path class="edge" [^>]*` + regexp.QuoteMeta(data) + `[^>]*>`).FindString(svg)
		if path == "" {
			t.Errorf("no path marked %s", data)
			continue
		}
		if !strings.Contains(path, `stroke="`+edgeUnseen+`"`) {
			t.Errorf("%s: %s, want the unseen colour", data, path)
		}
		if e.Topic != "" && !strings.Contains(path, `stroke-dasharray="`+asyncDash+`"`) {
			t.Errorf("%s: %s, want the asynchronous dash", data, path)
		}
		if !strings.Contains(svg, `<g class="edge-label" `+data) {
			t.Errorf("no label marked %s", data)
		}
	}
	for _, l := range graphLegend {
		if strings.Contains(svg, l.s) {
			t.Errorf("the live picture has the report's legend (%q)", l.s)
		}
	}
}
