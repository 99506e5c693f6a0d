package assert

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// Graces around a fault window within which an effect is still the fault's.
const (
	// postGrace covers requests in flight when the window closed and their
	// retries.
	postGrace = int64(2 * time.Second)
	// pipelinePre covers spans queued before a pipeline fault began (or
	// before an instance went down) and exported, or lost, during it.
	pipelinePre = int64(5 * time.Second)
)

// attribution names what explains a finding: attrNone, attrUnexplained, or
// a fault window numbered by first sight (see faultSet.label).
type attribution int32

const (
	attrNone        attribution = 0 // no fault was planted at all: Fault stays empty
	attrUnexplained attribution = 1 // faults were planted, none explains it
)

// Finding.Fault for an effect no fault explains.
const unexplainedLabel = "unexplained"

// effect is the class of a finding, which decides the fault kinds that may
// explain it.
type effect uint8

const (
	effectHopBreak  effect = iota // a hop from → to broke the trace (ledger or server parent)
	effectTree                    // a backend tree finding keyed by service svc (or edge from → to)
	effectLoss                    // a span of svc (instance inst) ended and never arrived
	effectDuplicate               // a span delivered more than once
)

// query is one effect to attribute.
type query struct {
	effect   effect
	svc      string // effectTree, effectLoss
	inst     string // effectLoss: span Instance
	from, to string // effectHopBreak; effectTree for edge subjects
}

// faultWin is one fault window with what attribution needs precomputed.
type faultWin struct {
	record.Fault
	kind topology.FaultKind
	inst string // "svc-N" when the fault targets one instance of Service
	// shiftLo, shiftHi widen a clock-skew window by how far the skew moved
	// the skewed service's timestamps.
	shiftLo, shiftHi int64
	attr             attribution
	// recovered is, for a fault that cuts an instance or an edge off
	// (cutsReach), when each caller instance first got a request through
	// to the target after the window closed (the ledger's first hop from
	// it that the callee received). Until then the caller's failures are
	// the fault's aftermath: its connections may still be in their
	// reconnect backoff. The aftermath ends at the latest when the next
	// window of a fault cutting the same target opens (nextCut; 0: none).
	recovered map[caller]int64
	nextCut   int64
}

// faultSet is the run's fault windows, sorted by start. A stream learns
// them as the run goes (see update): attributions number windows by first
// sight, so a finding keyed by one keeps its meaning while windows are
// added and an active window's end moves, and labels are rendered only
// when findings are listed.
type faultSet struct {
	wins     []faultWin // sorted by Start, Number, ID, then first sight
	pos      []int      // wins index, by attribution - attrUnexplained - 1
	index    map[winKey]attribution
	planned  []topology.Fault
	runStart int64
	top      *topology.Topology
	// adjacent are the topology's call edges, built on first use; called
	// the edges the ledger showed so far.
	adjacent map[edge]bool
	called   map[edge]bool
	// version counts the changes of the windows, so a tally that derived
	// something from them knows to derive it again.
	version int
	// final: every window is closed for good (the run ended, or a batch
	// judges a finished run), whatever its Open says.
	final bool
}

// newFaultSet returns the run's faults, or nil when none were planted or
// applied (attribution then stays empty).
func newFaultSet(in Input) *faultSet {
	if len(in.Faults) == 0 && len(in.Planned) == 0 {
		return nil
	}
	fs := newLiveFaultSet(in)
	fs.final = true
	fs.update(in.Faults)
	fs.observe(in.Hops)
	return fs
}

// newLiveFaultSet returns an empty fault set for the run whose static
// evidence is in, to be given its windows as they open (update).
func newLiveFaultSet(in Input) *faultSet {
	fs := &faultSet{
		index:    make(map[winKey]attribution),
		planned:  in.Planned,
		runStart: in.RunStart,
		top:      in.Topology,
		called:   make(map[edge]bool),
	}
	if fs.runStart == 0 {
		fs.runStart = earliest(in)
	}
	return fs
}

// earliest is the first time the records know, standing in for a missing
// RunStart.
func earliest(in Input) int64 {
	var t int64
	low := func(v int64) {
		if v != 0 && (t == 0 || v < t) {
			t = v
		}
	}
	for i := range in.Faults {
		low(in.Faults[i].Start)
	}
	if len(in.Hops) > 0 {
		low(in.Hops[0].SentAt)
	}
	return t
}

// instanceName is a service instance's service.instance.id.
func instanceName(svc string, n int) string { return svc + "-" + strconv.Itoa(n) }

// plan returns planned fault number n (1-based), or nil.
func (fs *faultSet) plan(n int) *topology.Fault {
	if fs == nil || n < 1 || n > len(fs.planned) {
		return nil
	}
	return &fs.planned[n-1]
}

// name is "fault #3" or "live fault 7".
func (fs *faultSet) name(f *record.Fault) string {
	if f.Number == 0 {
		return "live fault " + strconv.Itoa(f.ID)
	}
	return "fault #" + strconv.Itoa(f.Number)
}

// desc is the window's description, or one made from its kind and target.
func (fs *faultSet) desc(f *record.Fault) string {
	if f.Desc != "" {
		return f.Desc
	}
	s := f.Kind
	switch {
	case f.From != "" || f.To != "":
		s += " " + edgeName(f.From, f.To)
	case f.Service != "" && f.Instance >= 0:
		s += " " + instanceName(f.Service, f.Instance)
	case f.Service != "":
		s += " " + f.Service
	}
	return s
}

// window renders [start, end] relative to the run's start: "30s–45s".
func (fs *faultSet) window(start, end int64) string {
	return seconds(start-fs.runStart) + "–" + seconds(end-fs.runStart)
}

// seconds renders nanoseconds as seconds with at most one decimal: "30s",
// "12.5s".
func seconds(ns int64) string {
	s := math.Round(float64(ns)/1e8) / 10
	return strconv.FormatFloat(s, 'f', -1, 64) + "s"
}

// win returns the window attribution a names, or nil.
func (fs *faultSet) win(a attribution) *faultWin {
	i := int(a) - int(attrUnexplained) - 1
	if fs == nil || i < 0 || i >= len(fs.pos) {
		return nil
	}
	return &fs.wins[fs.pos[i]]
}

// faultOf returns the planted fault number, or the live fault ID, that a
// names; both zero when a names no window.
func (fs *faultSet) faultOf(a attribution) (number, live int) {
	w := fs.win(a)
	if w == nil {
		return 0, 0
	}
	if w.Number > 0 {
		return w.Number, 0
	}
	return 0, w.ID
}

// label returns Finding.Fault for a, as the windows stand now: "explained
// by fault #3 (strip-headers cart -> inventory, 30s–45s)", "unexplained",
// or empty when a names nothing or no fault was ever planted or applied.
func (fs *faultSet) label(a attribution) string {
	if fs == nil || a <= attrNone {
		return ""
	}
	if a == attrUnexplained {
		if fs.none() {
			return ""
		}
		return unexplainedLabel
	}
	w := fs.win(a)
	if w == nil {
		return ""
	}
	return "explained by " + fs.name(&w.Fault) + " (" + fs.desc(&w.Fault) + ", " + fs.window(w.Start, w.End) + ")"
}

// none reports whether the run has no fault at all: nothing planned and no
// window yet. A live stream's findings are then labelled as a run without
// faults labels them.
func (fs *faultSet) none() bool { return fs == nil || (len(fs.wins) == 0 && len(fs.planned) == 0) }

// explain attributes q at time t: to the first window that contains t,
// else to the first whose graces do, else unexplained. It allocates nothing.
func (fs *faultSet) explain(q query, t int64) attribution {
	return fs.explainExcept(q, t, 0)
}

// explainExcept is explain ignoring the windows of planned fault number
// skip (0: none).
func (fs *faultSet) explainExcept(q query, t int64, skip int) attribution {
	if fs == nil {
		return attrNone
	}
	graced := attrUnexplained
	for i := range fs.wins {
		w := &fs.wins[i]
		if (skip != 0 && w.Number == skip) || !fs.matches(w, &q) {
			continue
		}
		lo, hi := w.Start+w.shiftLo, w.End+w.shiftHi
		if t >= lo && t <= hi {
			return w.attr
		}
		if graced == attrUnexplained && t >= lo-preGrace(w.kind, q.effect) && t <= hi+postGrace {
			graced = w.attr
		}
	}
	return graced
}

// preGrace is how long before a window opens an effect may still be its:
// spans queued before a pipeline fault (or before an instance went down)
// are exported, or lost, during it.
func preGrace(k topology.FaultKind, e effect) int64 {
	switch k {
	case topology.FaultExporterOutage, topology.FaultSlowBackend:
		return pipelinePre
	case topology.FaultCrash, topology.FaultRestart:
		if e == effectLoss {
			return pipelinePre
		}
	}
	return 0
}

// isHeaderFault reports whether k tampers with headers on an edge.
func isHeaderFault(k topology.FaultKind) bool {
	switch k {
	case topology.FaultStripHeaders, topology.FaultCorruptTraceparent, topology.FaultDuplicateHeader,
		topology.FaultTracestateOverflow, topology.FaultBaggageOverflow:
		return true
	}
	return false
}

// matches reports whether window w's kind and target can explain q.
func (fs *faultSet) matches(w *faultWin, q *query) bool {
	switch q.effect {
	case effectHopBreak:
		switch {
		case isHeaderFault(w.kind), w.kind == topology.FaultPartition:
			return w.From == q.from && w.To == q.to
		case w.kind == topology.FaultPropagatorSwitch, w.kind == topology.FaultUninstrument:
			return w.Service == q.from || w.Service == q.to
		}
	case effectTree:
		if q.from != "" || q.to != "" {
			return fs.matchesTree(w, q.from) || fs.matchesTree(w, q.to)
		}
		return fs.matchesTree(w, q.svc)
	case effectLoss:
		switch w.kind {
		case topology.FaultExporterOutage, topology.FaultSlowBackend:
			return true
		case topology.FaultCrash, topology.FaultRestart, topology.FaultQueueOverflow:
			return w.Service == q.svc && (w.inst == "" || w.inst == q.inst)
		}
	case effectDuplicate:
		return w.kind == topology.FaultExporterOutage || w.kind == topology.FaultSlowBackend
	}
	return false
}

// matchesTree reports whether w can explain a tree finding keyed by svc.
func (fs *faultSet) matchesTree(w *faultWin, svc string) bool {
	switch {
	case w.kind == topology.FaultUninstrument, w.kind == topology.FaultPropagatorSwitch:
		return w.Service == svc || fs.adjacent2(w.Service, svc)
	case isHeaderFault(w.kind), w.kind == topology.FaultPartition:
		return w.From == svc || w.To == svc
	case w.kind == topology.FaultClockSkew:
		return w.Service == svc
	}
	return false
}

// adjacent2 reports whether a calls b or b calls a, in the topology or in
// the ledger's hops observed so far.
func (fs *faultSet) adjacent2(a, b string) bool {
	if fs.adjacent == nil {
		fs.adjacent = make(map[edge]bool)
		if fs.top != nil {
			for _, s := range fs.top.Services {
				for _, r := range s.Routes {
					fs.callEdges(s.Name, r.Calls)
				}
			}
		}
	}
	return fs.adjacent[edge{a, b}] || fs.adjacent[edge{b, a}] || fs.called[edge{a, b}] || fs.called[edge{b, a}]
}

// callEdges adds the direct calls of a call tree.
func (fs *faultSet) callEdges(from string, steps []topology.Step) {
	for i := range steps {
		if c := steps[i].Call; c != nil {
			fs.adjacent[edge{from, c.Service}] = true
		}
		fs.callEdges(from, steps[i].Steps)
	}
}

// hopBreak attributes a break on the physical edge from → to.
func (fs *faultSet) hopBreak(from, to string, t int64) attribution {
	if fs == nil {
		return attrNone
	}
	return fs.explain(query{effect: effectHopBreak, from: from, to: to}, t)
}

// hopBreakIn attributes a break on a hop across from → to to the first
// window the hop was in flight in, by the ledger's times: no grace, since
// a fault that acts on a hop does so while it is in flight.
func (fs *faultSet) hopBreakIn(from, to string, t when) attribution {
	if fs == nil {
		return attrNone
	}
	if !t.exact {
		return fs.hopBreak(from, to, t.lo)
	}
	q := query{effect: effectHopBreak, from: from, to: to}
	for i := range fs.wins {
		if w := &fs.wins[i]; fs.matches(w, &q) && t.lo <= w.End && t.hi >= w.Start {
			return w.attr
		}
	}
	return attrUnexplained
}

// tree attributes a backend tree finding keyed by service svc.
func (fs *faultSet) tree(svc string, t int64) attribution {
	if fs == nil {
		return attrNone
	}
	return fs.explain(query{effect: effectTree, svc: svc}, t)
}

// treeEdge attributes a backend tree finding on the edge from → to.
func (fs *faultSet) treeEdge(from, to string, t int64) attribution {
	if fs == nil {
		return attrNone
	}
	return fs.explain(query{effect: effectTree, from: from, to: to}, t)
}

// loss attributes a span of svc (instance inst) that ended at t and never
// arrived.
func (fs *faultSet) loss(svc, inst string, t int64) attribution {
	if fs == nil {
		return attrNone
	}
	return fs.explain(query{effect: effectLoss, svc: svc, inst: inst}, t)
}

// duplicate attributes a span that ended at t and arrived more than once.
func (fs *faultSet) duplicate(t int64) attribution {
	if fs == nil {
		return attrNone
	}
	return fs.explain(query{effect: effectDuplicate}, t)
}

// unexplained is attrUnexplained when faults were planted, else attrNone.
func (fs *faultSet) unexplained() attribution {
	if fs == nil {
		return attrNone
	}
	return attrUnexplained
}

// numbered returns the windows of planned fault n, in order.
func (fs *faultSet) numbered(n int) []faultWin {
	if fs == nil {
		return nil
	}
	var out []faultWin
	for _, w := range fs.wins {
		if w.Number == n {
			out = append(out, w)
		}
	}
	return out
}

// windowList renders windows for a message: "30s–45s, 90s–105s", at most
// four then the count.
func (fs *faultSet) windowList(ws []faultWin) string {
	if len(ws) == 0 {
		return "no window recorded"
	}
	var parts []string
	for i, w := range ws {
		if i == 4 {
			parts = append(parts, fmt.Sprintf("… (%d windows)", len(ws)))
			break
		}
		parts = append(parts, fs.window(w.Start, w.End))
	}
	return strings.Join(parts, ", ")
}

// countUnexplained sums the counts of findings no fault explains.
func countUnexplained(fs []Finding) float64 {
	n := 0
	for _, f := range fs {
		if f.Fault == unexplainedLabel {
			n += f.Count
		}
	}
	return float64(n)
}

// attributionSummary says how many findings planted faults explain: "; 5
// explained by planted faults, 2 unexplained". Empty without faults.
func attributionSummary(fs *faultSet, list []Finding) string {
	if fs.none() {
		return ""
	}
	explained, unexplained := 0, 0
	for _, f := range list {
		switch {
		case f.Fault == unexplainedLabel:
			unexplained += f.Count
		case f.Fault != "":
			explained += f.Count
		}
	}
	if explained+unexplained == 0 {
		return ""
	}
	return fmt.Sprintf("; %d explained by planted faults, %d unexplained", explained, unexplained)
}
