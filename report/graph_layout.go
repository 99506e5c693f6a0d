package report

import (
	"cmp"
	"slices"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// graphLayout is the topology graph as layoutNodes places it: the services,
// who calls whom, and the layers by call depth.
type graphLayout struct {
	nodes   []*graphNode // in the topology's order
	byName  map[string]*graphNode
	callees map[string][]string // each callee once, in the order of the edges
	callers map[string][]string
	layers  [][]*graphNode
}

// layoutNodes places the services in layers by call depth (the longest call
// path from an entry service) and orders each layer to cut crossings.
func layoutNodes(t *topology.Topology, hops []record.Hop) ([]*graphNode, map[string]*graphNode) {
	g := newGraphLayout(t, hops)
	g.assignLayers()
	g.orderLayers()
	g.place()
	return g.nodes, g.byName
}

// newGraphLayout collects the services, their calls, and the entry
// services: those with an entry route, and those the load called.
func newGraphLayout(t *topology.Topology, hops []record.Hop) *graphLayout {
	g := &graphLayout{byName: map[string]*graphNode{}, callees: map[string][]string{}, callers: map[string][]string{}}
	for _, s := range t.Services {
		n := &graphNode{name: s.Name, layer: -1, instrumented: s.Instrumented, grpc: s.Protocol == topology.ProtocolGRPC}
		g.nodes = append(g.nodes, n)
		g.byName[s.Name] = n
	}
	for _, e := range t.Edges() {
		if g.byName[e.To] == nil || slices.Contains(g.callees[e.From], e.To) {
			continue
		}
		g.callees[e.From] = append(g.callees[e.From], e.To)
		g.callers[e.To] = append(g.callers[e.To], e.From)
	}
	for _, r := range t.EntryRoutes() {
		if n := g.byName[r.Service]; n != nil {
			n.entry = true
		}
	}
	for i := range hops {
		if hops[i].From == "" {
			if n := g.byName[hops[i].To]; n != nil {
				n.entry = true
			}
		}
	}
	return g
}

// assignLayers puts every service in the layer of its longest call path
// from an entry service, a call back up a cycle ignored, and collects the
// layers.
func (g *graphLayout) assignLayers() {
	onPath := map[string]bool{}
	var visit func(name string, depth int)
	visit = func(name string, depth int) {
		n := g.byName[name]
		if n == nil || onPath[name] || n.layer >= depth {
			return
		}
		n.layer = depth
		onPath[name] = true
		for _, c := range g.callees[name] {
			visit(c, depth+1)
		}
		onPath[name] = false
	}
	for _, n := range g.nodes {
		if n.entry {
			visit(n.name, 0)
		}
	}
	// Services no entry reaches: from their own roots, then anything left.
	for _, n := range g.nodes {
		if n.layer < 0 && len(g.callers[n.name]) == 0 {
			visit(n.name, 0)
		}
	}
	for _, n := range g.nodes {
		if n.layer < 0 {
			visit(n.name, 0)
		}
	}
	nLayers := 0
	for _, n := range g.nodes {
		nLayers = max(nLayers, n.layer+1)
	}
	g.layers = make([][]*graphNode, nLayers)
	for _, n := range g.nodes {
		g.layers[n.layer] = append(g.layers[n.layer], n)
	}
}

// orderLayers orders every layer by the barycentre of its neighbours in the
// next layer, in sweeps down then up, to cut crossings.
func (g *graphLayout) orderLayers() {
	pos := func() {
		for _, l := range g.layers {
			for i, n := range l {
				n.order = i
			}
		}
	}
	pos()
	bary := func(l []*graphNode, nbrs map[string][]string, adjacent int) {
		key := map[*graphNode]float64{}
		for _, n := range l {
			sum, k := 0.0, 0
			for _, m := range nbrs[n.name] {
				if o := g.byName[m]; o != nil && o.layer == adjacent {
					sum += float64(o.order)
					k++
				}
			}
			if k == 0 {
				key[n] = float64(n.order)
			} else {
				key[n] = sum / float64(k)
			}
		}
		slices.SortStableFunc(l, func(a, b *graphNode) int { return cmp.Compare(key[a], key[b]) })
	}
	nLayers := len(g.layers)
	for range 4 {
		for i := 1; i < nLayers; i++ {
			bary(g.layers[i], g.callers, i-1)
			pos()
		}
		for i := nLayers - 2; i >= 0; i-- {
			bary(g.layers[i], g.callees, i+1)
			pos()
		}
	}
}

// place gives every service its coordinates and width: layers one below
// the other, each centred on the widest.
func (g *graphLayout) place() {
	rowW := make([]float64, len(g.layers))
	for i, l := range g.layers {
		for _, n := range l {
			n.w = max(96, textWidth(n.name, 13)+28)
			rowW[i] += n.w
		}
		rowW[i] += nodeGap * float64(max(len(l)-1, 0))
	}
	widest := 0.0
	for _, w := range rowW {
		widest = max(widest, w)
	}
	for i, l := range g.layers {
		x := graphPad + (widest-rowW[i])/2
		for _, n := range l {
			n.x = x + n.w/2
			n.y = graphPad + float64(i)*(nodeH+layerGap)
			x += n.w + nodeGap
		}
	}
}
