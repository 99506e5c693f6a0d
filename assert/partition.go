package assert

import (
	"github.com/tracerig/tracerig/internal/record"
)

// Group is a self-contained part of a run's evidence: whole load requests
// with every hop they caused, every trace those hops sent, received or
// served under (a broken propagation starts a new trace inside the same
// request), the spans that ended in those traces, and the backend's spans
// of them. No record of one group refers to a request or a trace of
// another, so the checks can judge groups one at a time and add up what
// they found.
type Group struct {
	Hops    []record.Hop
	Ended   []record.Ended
	Backend []record.Span
	// BackendLoss, when set, is a known cause of the group's spans the
	// backend lost, in place of the run's (Input.BackendLoss): a backend
	// read back as the run goes learns it group by group (a store that had
	// taken more traces than it keeps by the time the group was read).
	BackendLoss string
}

// Spans returns how many ledger spans the group holds.
func (g *Group) Spans() int { return len(g.Ended) }

// groupKey names a request or a trace in the partition's union-find.
type groupKey struct {
	request uint64
	trace   record.TraceID
}

// partition is a union-find over requests and traces.
type partition struct {
	ids    map[groupKey]int32
	parent []int32
}

func newPartition(n int) *partition {
	return &partition{ids: make(map[groupKey]int32, n)}
}

// node returns k's element, adding it on first sight.
func (p *partition) node(k groupKey) int32 {
	if i, ok := p.ids[k]; ok {
		return i
	}
	i := int32(len(p.parent))
	p.ids[k] = i
	p.parent = append(p.parent, i)
	return i
}

func (p *partition) find(i int32) int32 {
	for p.parent[i] != i {
		p.parent[i] = p.parent[p.parent[i]]
		i = p.parent[i]
	}
	return i
}

func (p *partition) union(a, b int32) {
	if ra, rb := p.find(a), p.find(b); ra != rb {
		p.parent[rb] = ra
	}
}

// hopNode links everything hop h names (its request and the traces of its
// contexts) and returns the element standing for them.
func (p *partition) hopNode(h *record.Hop) int32 {
	root := int32(-1)
	link := func(k groupKey) {
		n := p.node(k)
		if root < 0 {
			root = n
			return
		}
		p.union(root, n)
	}
	if h.Request != 0 {
		link(groupKey{request: h.Request})
	}
	for _, c := range [...]record.Context{h.Sent, h.Got, h.Server} {
		if c.Trace != (record.TraceID{}) {
			link(groupKey{trace: c.Trace})
		}
	}
	if root < 0 {
		// A hop naming no request and no trace stands alone.
		root = p.node(groupKey{request: ^uint64(0) - h.ID})
	}
	return root
}

// Partition splits a run's evidence into its groups: the connected parts of
// the graph in which a hop joins its request with the traces of its
// contexts and a span belongs to its trace. Groups come in the order their
// first record appears (hops, then ledger spans, then backend spans), and
// keep the records' order inside; a backend span of a trace the ledger
// never saw forms a group of its own trace. Judging the groups one at a
// time with a Stream gives the verdicts Run gives on the whole.
func Partition(in Input) []Group {
	p := newPartition(len(in.Hops) / 2)
	hopAt := make([]int32, len(in.Hops))
	for i := range in.Hops {
		hopAt[i] = p.hopNode(&in.Hops[i])
	}
	endAt := make([]int32, len(in.Ended))
	for i := range in.Ended {
		endAt[i] = p.node(groupKey{trace: in.Ended[i].Trace})
	}
	backAt := make([]int32, len(in.Backend))
	for i := range in.Backend {
		backAt[i] = p.node(groupKey{trace: in.Backend[i].Trace})
	}
	slot := make(map[int32]int, len(p.parent)/4+1)
	var out []Group
	group := func(n int32) *Group {
		r := p.find(n)
		g, ok := slot[r]
		if !ok {
			g = len(out)
			slot[r] = g
			out = append(out, Group{})
		}
		return &out[g]
	}
	for i := range in.Hops {
		g := group(hopAt[i])
		g.Hops = append(g.Hops, in.Hops[i])
	}
	for i := range in.Ended {
		g := group(endAt[i])
		g.Ended = append(g.Ended, in.Ended[i])
	}
	for i := range in.Backend {
		g := group(backAt[i])
		g.Backend = append(g.Backend, in.Backend[i])
	}
	return out
}
