package report

import (
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
