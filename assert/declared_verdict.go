package assert

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// declStats are the counts judgeDeclared adds to the predicted edges'.
type declStats struct {
	// loadEdges are the declared edges from the load into external
	// entries, which the topology's own edges do not hold.
	loadEdges int
	// exercised: edges whose caller took part in some trace; unobserved:
	// of those, the edges no trace confirmed.
	exercised, unobserved int
}

// judgeDeclared reports, into out, each declared edge of the user's
// services: confirmed in so many of the traces its caller took part in, or
// missing from the others (a break, attributed to the fault on the edge
// when one was active, with the traces as examples), or never exercised
// (its caller took part in none of the run's traces: no break of its own,
// the edges into the caller say why).
func (t *propTally) judgeDeclared(out *propFindings) declStats {
	var st declStats
	for _, e := range t.decl.sorted() {
		if e.from == loadCaller {
			st.loadEdges++
		}
		name := edgeName(e.from, e.to)
		seen := t.decl.seen[e]
		of := ofRef{kind: ofDeclared, e: e}
		if seen == 0 {
			msg := fmt.Sprintf("declared edge never exercised: no %s in the run's traces", callerWords(e.from))
			f := out.info.add(name, msg, attrNone, nil)
			f.Count = 0
			continue
		}
		st.exercised++
		ok := t.decl.confirmed(e)
		if ok == 0 {
			st.unobserved++
		}
		if ok > 0 {
			msg := fmt.Sprintf(declConfirmed+": a %s span is a child of a %s %s", e.to, e.from, parentWords(e.from))
			out.explainedN(name, msg, attrNone, ok, nil, of)
		}
		for _, k := range t.decl.keys(e) {
			b := t.decl.counts[k]
			msg := fmt.Sprintf("declared edge missing: %s took part in the trace, no %s span is a child of a %s %s",
				e.from, e.to, e.from, parentWords(e.from))
			if hint := t.formatHint(e); hint != "" {
				msg += "; " + hint
			}
			out.brokeN(name, msg, t.faults.treeEdge(e.from, e.to, b.at), k.inside, b.n, b.examples, of)
		}
	}
	return st
}

// formatHint explains a missing edge into a service of the user's that
// was seen sending the trace in a format its callees do not read: it most
// likely reads only that format too, not the one its caller sends.
func (t *propTally) formatHint(e edge) string {
	for _, k := range t.ext.keys() {
		if k.ext != e.to || !strings.HasPrefix(k.reaction, "sent the trace as ") {
			continue
		}
		sends := "traceparent" // the load's
		if s := t.model.static.svcs[e.from]; s != nil {
			sends = strings.Join((injected(s) & traceHeaders).Names(), " and ")
		}
		format, _, _ := strings.Cut(strings.TrimPrefix(k.reaction, "sent the trace as "), " only")
		from := e.from
		if from == loadCaller {
			from = "the load"
		}
		return fmt.Sprintf("%s sends the trace as %s only (seen at %s), so it likely reads only that format too, not the %s %s sends",
			e.to, format, k.to, sends, from)
	}
	return ""
}

// keys returns the missing keys of e, in a fixed order.
func (d *declTally) keys(e edge) []declKey {
	var ks []declKey
	for k := range d.counts {
		if k.e == e && !k.confirmed {
			ks = append(ks, k)
		}
	}
	slices.SortFunc(ks, func(a, b declKey) int {
		return cmp.Or(cmp.Compare(a.period, b.period), cmpBool(a.inside, b.inside))
	})
	return ks
}

// callerWords names the caller of an edge in a sentence.
func callerWords(from string) string {
	if from == loadCaller {
		return "request of the load"
	}
	return from + " span"
}

// parentWords names what the callee's span must be the child of.
func parentWords(from string) string {
	if from == loadCaller {
		return "request (the context it sent)"
	}
	return "span"
}

// declConfirmed starts the message of a confirmed declared edge.
const declConfirmed = "declared edge confirmed"

// countConfirmed counts the confirmations among fs, which are evidence, not
// findings another check explains.
func countConfirmed(fs *findings) int {
	n := 0
	for k, f := range fs.byKey {
		if strings.HasPrefix(k.message, declConfirmed) {
			n += f.Count
		}
	}
	return n
}
