package assert

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// expectModel is what the checks expect of the services over the run's
// time: the scenario's topology outside the windows of the faults that
// change the model itself (topology.FaultKind.ChangesModel: uninstrument,
// propagator-mismatch), and inside them the topology with every such fault
// active at the time applied (topology.Topology.WithFault). So a service
// made uninstrumented for ten seconds is expected to emit no span, and its
// callers' spans to be the parents of its callees', for those ten seconds
// and at no other time.
type expectModel struct {
	static *modelView
	wins   []modelWin // sorted by start
	// maxEnd[i] is the latest end among wins[:i+1], so the windows that
	// overlap a time range are found without scanning them all.
	maxEnd []int64
	views  map[string]*modelView // by the active windows' fault identities
	union  map[edge]bool         // edges predicted at any time of the run
}

// modelWin is one window of a fault that changes the model.
type modelWin struct {
	start, end int64
	fault      topology.Fault
	id         string // the fault's identity: "#3" planned, "live 7" added live
}

// modelView is the topology as it stands while a set of faults is active.
type modelView struct {
	top  *topology.Topology
	svcs map[string]*topology.Service
	pred map[edge]bool
	// through are the edges that skip a service of the user's which
	// forwards the context without a span of its own (a caller of it to a
	// callee it declares): the service between, by edge.
	through map[edge]string
}

// newExpectModel builds the model of top under the windows of faults.
func newExpectModel(top *topology.Topology, faults []record.Fault) *expectModel {
	m := &expectModel{
		static: &modelView{top: top, svcs: services(top), pred: predictedEdges(top), through: throughExternal(top)},
		views:  make(map[string]*modelView),
	}
	for i := range faults {
		f := &faults[i]
		k := topology.FaultKind(f.Kind)
		if !k.ChangesModel() || top == nil {
			continue
		}
		tf := topology.Fault{Kind: k, Forward: f.Forward,
			Target: topology.FaultTarget{Service: f.Service, Instance: f.Instance}}
		for _, p := range f.Propagators {
			tf.Propagators = append(tf.Propagators, topology.Propagator(p))
		}
		id := "live " + strconv.Itoa(f.ID)
		if f.Number > 0 {
			id = "#" + strconv.Itoa(f.Number)
		}
		m.wins = append(m.wins, modelWin{start: f.Start, end: f.End, fault: tf, id: id})
	}
	slices.SortStableFunc(m.wins, func(a, b modelWin) int { return cmp.Compare(a.start, b.start) })
	m.maxEnd = make([]int64, len(m.wins))
	for i, w := range m.wins {
		m.maxEnd[i] = w.end
		if i > 0 {
			m.maxEnd[i] = max(m.maxEnd[i], m.maxEnd[i-1])
		}
	}
	// Every set of faults active together starts with one of their
	// windows: the union visits each such set once.
	m.union = make(map[edge]bool, len(m.static.pred))
	for e := range m.static.pred {
		m.union[e] = true
	}
	var buf [8]int
	for i := range m.wins {
		t := m.wins[i].start
		for e := range m.view(m.overlapping(buf[:0], t, t), -1).pred {
			m.union[e] = true
		}
	}
	return m
}

// overlapping appends to dst the indexes of the windows that overlap
// [lo, hi], in start order.
func (m *expectModel) overlapping(dst []int, lo, hi int64) []int {
	j, _ := slices.BinarySearchFunc(m.wins, hi, func(w modelWin, t int64) int {
		if w.start <= t {
			return -1
		}
		return 1
	})
	first := len(dst)
	for i := j - 1; i >= 0 && m.maxEnd[i] >= lo; i-- {
		if m.wins[i].end >= lo {
			dst = append(dst, i)
		}
	}
	slices.Reverse(dst[first:])
	return dst
}

// view returns the topology with the windows wins applied. With inst >= 0
// only the faults that reach that instance are applied (a fault on another
// instance of the service leaves this one as it was); with inst -1 every
// one is, and a fault on one instance also keeps the unfaulted instances'
// edges predicted.
func (m *expectModel) view(wins []int, inst int) *modelView {
	var key strings.Builder
	for _, i := range wins {
		key.WriteString(m.wins[i].id)
		key.WriteByte(',')
	}
	key.WriteString(strconv.Itoa(inst))
	if v, ok := m.views[key.String()]; ok {
		return v
	}
	top, whole := m.static.top, m.static.top
	partial := false
	for _, i := range wins {
		f := m.wins[i].fault
		if inst >= 0 && f.Target.Instance >= 0 && f.Target.Instance != inst {
			continue
		}
		top = top.WithFault(f)
		if f.Target.Instance < 0 {
			whole = whole.WithFault(f)
		} else {
			partial = true
		}
	}
	v := &modelView{top: top, svcs: services(top), pred: predictedEdges(top)}
	if partial && inst < 0 {
		for e := range predictedEdges(whole) {
			v.pred[e] = true
		}
	}
	m.views[key.String()] = v
	return v
}

// service returns what the model says service name (instance inst, -1 for
// any) is at time t.
func (m *expectModel) service(name string, inst int, t int64) *topology.Service {
	if len(m.wins) == 0 {
		return m.static.svcs[name]
	}
	var active [4]int
	wins := m.overlapping(active[:0], t, t)
	if len(wins) == 0 {
		return m.static.svcs[name]
	}
	return m.view(wins, inst).svcs[name]
}

// predicted reports whether the model predicts edge e at some time in
// [lo, hi]: the range within which a request crossed it, so a request in
// flight when a window opened or closed may follow the topology on either
// side of the change.
func (m *expectModel) predicted(e edge, lo, hi int64) bool {
	if lo > hi {
		lo, hi = hi, lo
	}
	if len(m.wins) == 0 {
		return m.static.pred[e]
	}
	var buf [8]int
	over := m.overlapping(buf[:0], lo, hi)
	if len(over) == 0 {
		return m.static.pred[e]
	}
	// The states the range passes through: the one at lo, and one after
	// each window boundary inside it.
	points := []int64{lo}
	for _, i := range over {
		w := &m.wins[i]
		if w.start > lo && w.start <= hi {
			points = append(points, w.start)
		}
		if w.end >= lo && w.end < hi {
			points = append(points, w.end+1)
		}
	}
	var act [8]int
	for _, t := range points {
		wins := act[:0]
		for _, i := range over {
			if w := &m.wins[i]; t >= w.start && t <= w.end {
				wins = append(wins, i)
			}
		}
		v := m.static
		if len(wins) > 0 {
			v = m.view(wins, -1)
		}
		if v.pred[e] {
			return true
		}
	}
	return false
}

// anyWindow reports whether a fault that changes the model was active at
// any time of the run.
func (m *expectModel) anyWindow() bool { return len(m.wins) > 0 }
