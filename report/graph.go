package report

import (
	"fmt"
	"html"
	"strings"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// Edge colours of the topology graph.
const (
	edgeBroken    = "#c62828" // the propagation check found breaks on it
	edgeFine      = "#2e8540" // observed, no break
	edgeUnseen    = "#a0a6b0" // no hop crossed it
	edgeUnchecked = "#5a6b8c" // observed, but no propagation verdict
)

// graphEdge is one service-to-service edge of the drawing.
type graphEdge struct {
	from, to string
	topic    string // an asynchronous edge's topic; "" for calls
	routes   []string
	hops     int // hops the ledger recorded on it
	broken   int // breaks the propagation verdict found on it
	of       int
	colour   string
	label    string
}

type graphNode struct {
	name         string
	layer, order int
	x, y, w      float64 // centre x, top y, width
	entry        bool
	instrumented bool
	grpc         bool
}

const (
	nodeH    = 34.0
	layerGap = 96.0
	nodeGap  = 28.0
	graphPad = 24.0
)

// topologySVG draws the topology as layered inline SVG: entry services on
// top, every other service one layer below its deepest caller, each edge
// coloured by the propagation verdict.
func topologySVG(t *topology.Topology, hops []record.Hop, verdicts []assert.Verdict) string {
	return drawTopology(t, hops, verdicts, false)
}

// LiveTopologySVG draws t as the report does, in the same layout, before
// anything crossed it: every edge not yet seen, each edge's path and label
// marked with data-from, data-to and data-topic (and the classes edge and
// edge-label, the label empty) for a live page to colour and fill, and no
// legend: the page has its own.
func LiveTopologySVG(t *topology.Topology) string {
	return drawTopology(t, nil, nil, true)
}

// drawTopology draws t; live marks the edges for a live page.
func drawTopology(t *topology.Topology, hops []record.Hop, verdicts []assert.Verdict, live bool) string {
	nodes, byName := layoutNodes(t, hops)
	edges := graphEdges(t, hops, verdicts)
	if len(nodes) == 0 {
		return ""
	}
	width, height := 0.0, 0.0
	for _, n := range nodes {
		width = max(width, n.x+n.w/2+graphPad)
		height = max(height, n.y+nodeH+graphPad)
	}
	// Room on the right for edges that go back up or along a layer, and for
	// the legend below.
	async := t.HasAsync()
	legendY := height + 8
	if live {
		// The live page draws its own legend of the edges' states.
		width += 60
	} else {
		width = max(width+60, legendWidth(async))
		height += 40
	}

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="topology" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="topology %s">`+"\n",
		width, height, width, height, html.EscapeString(t.Name))
	b.WriteString(`<defs>`)
	for _, c := range []string{edgeBroken, edgeFine, edgeUnseen, edgeUnchecked} {
		fmt.Fprintf(&b, `<marker id="arrow-%s" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="%s"/></marker>`, c[1:], c)
	}
	b.WriteString("</defs>\n")
	b.WriteString(`<g font-family="'Liberation Sans',Arial,Helvetica,sans-serif" font-size="12">` + "\n")
	// Edges first, so nodes sit on top of them; labels last.
	var labels strings.Builder
	for _, e := range edges {
		if a, z := byName[e.from], byName[e.to]; a != nil && z != nil {
			drawEdge(&b, &labels, e, a, z, width, live)
		}
	}
	for _, n := range nodes {
		drawNode(&b, n)
	}
	b.WriteString(labels.String())
	if !live {
		drawGraphLegend(&b, legendY, async)
	}
	b.WriteString("</g>\n</svg>")
	return b.String()
}

// drawEdge draws an edge from a to z, with its hops and breaks in its
// title, and its label (the breaks) into labels. A live edge carries its
// ends and topic as data attributes and always has a label, empty.
func drawEdge(b, labels *strings.Builder, e *graphEdge, a, z *graphNode, width float64, live bool) {
	// A live label sits nearer the callee still: the labels of a fan-out
	// are there as far apart as the callees.
	at := 0.6
	if live {
		at = 0.82
	}
	d, lx, ly := edgePath(a, z, width, at)
	dash := ""
	switch {
	case e.topic != "":
		dash = ` stroke-dasharray="` + asyncDash + `"`
	case e.colour == edgeUnseen:
		dash = ` stroke-dasharray="5,4"`
	}
	sw := 1.6
	if e.colour == edgeBroken {
		sw = 2.8
	}
	title := fmt.Sprintf("%s -> %s (%s): %d hops", e.from, e.to, strings.Join(e.routes, ", "), e.hops)
	if e.topic != "" {
		title = fmt.Sprintf("%s -> %s through topic %s (%s): %d messages delivered", e.from, e.to, e.topic, strings.Join(e.routes, ", "), e.hops)
	}
	if e.broken > 0 {
		title += fmt.Sprintf(", %s broken", countOf(assert.Finding{Count: e.broken, Of: e.of}))
	}
	if live {
		data := fmt.Sprintf(` data-from="%s" data-to="%s" data-topic="%s"`,
			html.EscapeString(e.from), html.EscapeString(e.to), html.EscapeString(e.topic))
		fmt.Fprintf(b, `<path class="edge" d="%s" fill="none" stroke="%s" stroke-width="%.1f"%s%s marker-end="url(#arrow-%s)"><title>%s -> %s</title></path>`+"\n",
			d, e.colour, sw, dash, data, e.colour[1:], html.EscapeString(e.from), html.EscapeString(e.to))
		fmt.Fprintf(labels, `<g class="edge-label"%s transform="translate(%.1f,%.1f)"><rect x="0" y="-9" width="0" height="17" rx="3" fill="#fff" stroke="%s"/><text x="0" y="4" text-anchor="middle" font-size="11" fill="#222"></text></g>`+"\n",
			data, lx, ly, e.colour)
		return
	}
	fmt.Fprintf(b, `<path d="%s" fill="none" stroke="%s" stroke-width="%.1f"%s marker-end="url(#arrow-%s)"><title>%s</title></path>`+"\n",
		d, e.colour, sw, dash, e.colour[1:], html.EscapeString(title))
	if e.label != "" {
		w := textWidth(e.label, 11) + 10
		fmt.Fprintf(labels, `<rect x="%.1f" y="%.1f" width="%.1f" height="17" rx="3" fill="#fff" stroke="%s"/>`+
			`<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11" font-weight="bold" fill="%s">%s</text>`+"\n",
			lx-w/2, ly-9, w, e.colour, lx, ly+4, e.colour, html.EscapeString(e.label))
	}
}

// drawNode draws a service: entries shaded darker, uninstrumented ones
// grey and dashed, its protocol in its title.
func drawNode(b *strings.Builder, n *graphNode) {
	fill, stroke, dash := "#eef3fb", "#3b5b8c", ""
	if n.entry {
		fill = "#dde8f8"
	}
	if !n.instrumented {
		fill, stroke, dash = "#f7f7f7", "#78808c", ` stroke-dasharray="4,3"`
	}
	kind := "HTTP"
	if n.grpc {
		kind = "gRPC"
	}
	note := kind
	if !n.instrumented {
		note += ", uninstrumented"
	}
	fmt.Fprintf(b, `<g><title>%s (%s)</title><rect x="%.1f" y="%.1f" width="%.1f" height="%.0f" rx="6" fill="%s" stroke="%s" stroke-width="1.4"%s/>`+
		`<text x="%.1f" y="%.1f" text-anchor="middle" font-size="13">%s</text></g>`+"\n",
		html.EscapeString(n.name), note, n.x-n.w/2, n.y, n.w, nodeH, fill, stroke, dash,
		n.x, n.y+nodeH/2+4.5, html.EscapeString(n.name))
}

// drawGraphLegend draws the legend of the edge colours and node styles in a
// row at y.
func drawGraphLegend(b *strings.Builder, y float64, async bool) {
	x := graphPad
	for _, l := range graphLegend {
		dash := ""
		if l.c == edgeUnseen {
			dash = ` stroke-dasharray="5,4"`
		}
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2.4"%s/><text x="%.1f" y="%.1f" fill="#4a5263">%s</text>`+"\n",
			x, y+10, x+28, y+10, l.c, dash, x+34, y+14, l.s)
		x += 34 + textWidth(l.s, 12) + 24
	}
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="22" height="14" rx="3" fill="#f7f7f7" stroke="#78808c" stroke-dasharray="4,3"/><text x="%.1f" y="%.1f" fill="#4a5263">uninstrumented</text>`+"\n",
		x, y+3, x+28, y+14)
	if !async {
		return
	}
	x += 28 + textWidth("uninstrumented", 12) + 24
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#4a5263" stroke-width="2.4" stroke-dasharray="%s"/><text x="%.1f" y="%.1f" fill="#4a5263">%s</text>`+"\n",
		x, y+10, x+28, y+10, asyncDash, x+34, y+14, asyncLegend)
}

// asyncDash is the dash pattern of an asynchronous edge: a message
// through a broker, its topic on its label.
const (
	asyncDash   = "9,3,2,3"
	asyncLegend = "message through a topic"
)

// graphLegend explains the edge colours.
var graphLegend = []struct{ c, s string }{
	{edgeBroken, "broken (breaks of hops)"}, {edgeFine, "propagates"},
	{edgeUnseen, "not observed"}, {edgeUnchecked, "observed, not checked"},
}

// legendWidth is the width the legend takes, as drawn by topologySVG.
func legendWidth(async bool) float64 {
	w := graphPad
	for _, l := range graphLegend {
		w += 34 + textWidth(l.s, 12) + 24
	}
	w += 28 + textWidth("uninstrumented", 12) + graphPad
	if async {
		w += 24 + 34 + textWidth(asyncLegend, 12)
	}
	return w
}

// edgePath returns an SVG path from a to z and a point for its label (at
// that fraction of a downward edge's curve). A downward edge leaves a's bottom for z's top; an edge along or up the
// layers loops around the right.
func edgePath(a, z *graphNode, width, at float64) (d string, lx, ly float64) {
	if z.layer > a.layer {
		x0, y0 := a.x, a.y+nodeH
		x1, y1 := z.x, z.y
		dy := (y1 - y0) / 2
		// The label sits where the curve is, nearer the callee, so labels
		// of edges fanning out of one caller do not overlap.
		lx, ly = bezier(at, x0, y0, x0, y0+dy, x1, y1-dy, x1, y1)
		return fmt.Sprintf("M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f", x0, y0, x0, y0+dy, x1, y1-dy, x1, y1), lx, ly
	}
	if a == z {
		x0, y0 := a.x+a.w/2, a.y+nodeH/3
		x1, y1 := a.x+a.w/2, a.y+2*nodeH/3
		return fmt.Sprintf("M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f", x0, y0, x0+40, y0-20, x1+40, y1+20, x1, y1), x0 + 38, a.y + nodeH/2
	}
	x0, y0 := a.x+a.w/2, a.y+nodeH/2
	x1, y1 := z.x+z.w/2, z.y+nodeH/2
	bulge := min(width-4, max(x0, x1)+50)
	lx, ly = bezier(0.5, x0, y0, bulge, y0, bulge, y1, x1, y1)
	return fmt.Sprintf("M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f", x0, y0, bulge, y0, bulge, y1, x1, y1), lx, ly
}

func bezier(t, x0, y0, x1, y1, x2, y2, x3, y3 float64) (float64, float64) {
	u := 1 - t
	a, b, c, d := u*u*u, 3*u*u*t, 3*u*t*t, t*t*t
	return a*x0 + b*x1 + c*x2 + d*x3, a*y0 + b*y1 + c*y2 + d*y3
}

// textWidth estimates the width of s in a sans font of the given size.
func textWidth(s string, size float64) float64 {
	return float64(len([]rune(s))) * size * 0.56
}

// graphEdges collects the service edges with their hop counts and colours
// them by the propagation verdict: red with the break count where its
// findings name the edge, green where hops crossed it, grey where none did.
func graphEdges(t *topology.Topology, hops []record.Hop, verdicts []assert.Verdict) []*graphEdge {
	type pair struct{ from, to, topic string }
	seen := map[pair]*graphEdge{}
	var out []*graphEdge
	for _, e := range t.Edges() {
		k := pair{e.From, e.To, e.Topic}
		ge := seen[k]
		if ge == nil {
			ge = &graphEdge{from: e.From, to: e.To, topic: e.Topic}
			seen[k] = ge
			out = append(out, ge)
		}
		ge.routes = append(ge.routes, e.Route)
	}
	for i := range hops {
		k := pair{hops[i].From, hops[i].To, ""}
		if m := hops[i].Message; m != nil {
			if !hops[i].Received {
				continue
			}
			k.topic = m.Topic
		}
		if ge := seen[k]; ge != nil {
			ge.hops++
		}
	}
	checked := false
	for _, v := range verdicts {
		if v.Check != string(topology.ExpectPropagation) || v.Status == assert.StatusNotRun {
			continue
		}
		checked = true
		for _, f := range v.Findings {
			from, to, ok := strings.Cut(f.Subject, " -> ")
			if !ok || f.Count == 0 {
				continue
			}
			for k, ge := range seen {
				if k.from == from && k.to == to {
					ge.broken += f.Count
					ge.of = max(ge.of, f.Of)
				}
			}
		}
	}
	for _, e := range out {
		switch {
		case e.broken > 0:
			e.colour = edgeBroken
			e.label = fmt.Sprintf("%d broken", e.broken)
			if e.of > 0 {
				e.label = fmt.Sprintf("%d of %d broken", e.broken, e.of)
			}
		case e.hops == 0:
			e.colour = edgeUnseen
		case checked:
			e.colour = edgeFine
		default:
			e.colour = edgeUnchecked
		}
		if e.topic != "" {
			// An asynchronous edge names its topic, broken or not.
			e.label = strings.TrimSuffix("topic "+e.topic+": "+e.label, ": ")
		}
	}
	return out
}
