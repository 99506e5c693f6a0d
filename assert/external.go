package assert

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// extTally is what the propagation check keeps, across groups, of the
// requests external services made to simulated services. A request that
// dropped the trace headers starts a group of its own, apart from the
// requests that sent traces into its external service; whether it is a
// reaction at all, and which caller's edge a fault on it names, is known
// only from every group. So requests are counted by what decides their
// finding (external service, callee, reaction, fault period, what the
// backend showed), never one by one.
type extTally struct {
	// sent are the external services some group sent a trace into;
	// callers the simulated services that did, per external service,
	// sorted by name.
	sent    map[string]bool
	callers map[string][]string
	total   map[string]int // requests each external service made
	reqs    map[extKey]*extBucket
}

// extKey is what decides the finding about a request an external service
// made.
type extKey struct {
	ext, to, reaction string
	// period is the request's time as a timePeriods period: every time in
	// it gets the same attributions.
	period int
	// checked says the backend was read for a kept trace; connected and
	// complaint are what connectedThrough found.
	checked, connected bool
	complaint          string
}

// extBucket counts requests with one extKey.
type extBucket struct {
	n        int
	at       int64 // one of the requests' times, standing for the period
	examples []string
}

func newExtTally() extTally {
	return extTally{
		sent:    make(map[string]bool),
		callers: make(map[string][]string),
		total:   make(map[string]int),
		reqs:    make(map[extKey]*extBucket),
	}
}

// sentInto records that from ("" for the load generator) sent a trace into
// external service ext.
func (x *extTally) sentInto(ext, from string) {
	x.sent[ext] = true
	if from == "" {
		return
	}
	cs := x.callers[ext]
	if i, found := slices.BinarySearch(cs, from); !found {
		x.callers[ext] = slices.Insert(cs, i, from)
	}
}

// count counts one request at time t.
func (x *extTally) count(k extKey, t int64, example func() string) {
	countIn(x.reqs, k, t, example)
}

// countIn counts one occurrence at time t in m's bucket for k, made at
// the first, keeping up to maxExamples examples; example nil keeps none.
func countIn[K comparable](m map[K]*extBucket, k K, t int64, example func() string) {
	b := m[k]
	if b == nil {
		b = &extBucket{at: t}
		m[k] = b
	}
	b.n++
	if example != nil && len(b.examples) < maxExamples {
		b.examples = append(b.examples, example())
	}
}

// externalStats are the counts judgeExternal adds up.
type externalStats struct {
	byReaction              map[string]int
	connected, disconnected int
}

// judgeExternal reports, into out, how each external service treated the
// trace context sent to it, as seen by the simulated services it calls.
// An external service nothing was sent into starts its own traces: its
// requests are no reactions. A reaction during a header fault on an edge
// into the external service is that fault's, named by the edge the fault
// sits on (the callers tried in name order).
func (t *propTally) judgeExternal(out *propFindings) externalStats {
	st := externalStats{byReaction: make(map[string]int)}
	for _, k := range t.ext.keys() {
		b := t.ext.reqs[k]
		if !t.ext.sent[k.ext] {
			continue
		}
		st.byReaction[k.reaction] += b.n
		subject, attr := edgeName(k.ext, k.to), t.faults.hopBreak(k.ext, k.to, b.at)
		for _, from := range t.ext.callers[k.ext] {
			if a := t.faults.hopBreak(from, k.ext, b.at); a > attrUnexplained {
				subject, attr = edgeName(from, k.ext), a
				break
			}
		}
		msg := fmt.Sprintf("external service %s %s (seen at %s)", k.ext, k.reaction, k.to)
		of := ofRef{kind: ofExternal, name: k.ext}
		switch {
		case k.reaction != reactKept:
			out.brokeN(subject, msg, attr, out.duringWindow(at(b.at)), b.n, b.examples, of)
		case attr > attrUnexplained:
			out.explainedN(subject, msg+" despite the fault", attr, b.n, b.examples, of)
		case !k.checked:
		case k.connected:
			st.connected += b.n
		default:
			st.disconnected += b.n
			if k.complaint != "" {
				out.brokeN(edgeName(k.ext, k.to), k.complaint, t.faults.treeEdge(k.ext, k.to, b.at),
					out.duringWindow(at(b.at)), b.n, b.examples, ofRef{})
			}
		}
	}
	return st
}

// otherFormat counts the requests an external service sent the trace on
// in a format its callee does not read.
func (st externalStats) otherFormat() int {
	n := 0
	for r, c := range st.byReaction {
		if strings.HasPrefix(r, "sent the trace as ") {
			n += c
		}
	}
	return n
}

// keys returns the request keys in a fixed order, so that examples do not
// change from one verdict to the next.
func (x *extTally) keys() []extKey {
	ks := make([]extKey, 0, len(x.reqs))
	for k := range x.reqs {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b extKey) int {
		return cmp.Or(cmp.Compare(a.ext, b.ext), cmp.Compare(a.to, b.to), cmp.Compare(a.reaction, b.reaction),
			cmp.Compare(a.period, b.period), cmpBool(a.checked, b.checked), cmpBool(a.connected, b.connected),
			cmp.Compare(a.complaint, b.complaint))
	})
	return ks
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
