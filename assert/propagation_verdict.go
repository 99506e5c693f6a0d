package assert

import (
	"fmt"
	"strings"

	"github.com/tracerig/tracerig/topology"
)

// verdict says what the groups added so far amount to. It judges what waits
// for the whole run (external reactions, unobserved predicted edges) on a
// copy of the findings, so the tally stays as it was.
func (t *propTally) verdict() Verdict {
	if t.bound {
		t.bind(t.faults) // the windows may have changed since the last group
	}
	exp := t.exp
	out := t.found.clone()
	stats := t.stats()
	ext := t.judgeExternal(&out)
	stats["external_kept"] = float64(ext.byReaction[reactKept])
	stats["external_restarted"] = float64(ext.byReaction[reactRestarted])
	stats["external_malformed"] = float64(ext.byReaction[reactMalformed])
	stats["external_dropped"] = float64(ext.byReaction[reactDropped])
	stats["external_other_format"] = float64(ext.otherFormat())
	stats["external_connected"] = float64(ext.connected)
	stats["external_disconnected"] = float64(ext.disconnected)
	if t.readBack {
		t.unexpected(stats)
		t.predicted(&out, stats)
	}
	t.fillOf(&out)
	v := Verdict{
		Check:    string(topology.ExpectPropagation),
		Status:   StatusPass,
		Expected: "every hop continues its caller's trace; every trace one tree",
		Stats:    stats,
	}
	if t.readBack {
		v.Measured = fmt.Sprintf("trace context continuity over %d hops and %d traces", t.n.checked, t.n.traces)
	} else {
		v.Measured = fmt.Sprintf("trace context continuity over %d hops (ledger only: %s)", t.n.checked, t.noReadBack)
	}
	if !exp.Connected {
		v.Expected += " (not required: connected is false)"
	}
	n := out.breaks.total()
	stats["breaks"] = float64(n)
	v.Observed = observedBreaks(n, out.breaks)
	failing := 0
	plantedF := newFindings(t.faults)
	if len(out.order) > 0 {
		var planted, failingPlanted int
		v.Expected += "; " + t.expectedPlanted(&out)
		v.Observed += "; " + t.observedPlanted(&out, plantedF, stats, &planted, &failingPlanted)
		failing += failingPlanted
		if exp.Connected && n > planted {
			failing += n - planted
			v.Observed += fmt.Sprintf("; %d %s elsewhere", n-planted, plural(n-planted, "break", "breaks"))
		}
	} else if exp.Connected {
		failing = n
	}
	for k, f := range out.breaks.byKey {
		number, _ := t.faults.faultOf(k.fault)
		// Breaks the scenario plants (inside the named fault's windows,
		// when it names one) and breaks under connected: false fail
		// nothing.
		if p := out.planted[k.subject]; !exp.Connected ||
			(p != nil && (exp.DuringFault == 0 || number == exp.DuringFault)) {
			f.Status = FindingInfo
		}
	}
	v.Findings = merge(plantedF, out.breaks, out.info)
	stats["unexplained"] = countUnexplained(v.Findings)
	v.Observed += attributionSummary(t.faults, v.Findings)
	if k := out.info.total() - countConfirmed(out.info); k > 0 {
		v.Observed += fmt.Sprintf("; %d %s explained by other checks", k, plural(k, "finding", "findings"))
	}
	if failing > 0 {
		v.Status = StatusFail
	}
	return v
}

// stats returns the summed counters as the verdict's stats.
func (t *propTally) stats() map[string]float64 {
	c := &t.n
	external := 0
	for _, k := range t.ext.total {
		external += k
	}
	s := map[string]float64{
		"hops":                 float64(c.hops),
		"hops_checked":         float64(c.checked),
		"hops_upstream_broken": float64(c.upstream),
		"hop_breaks":           float64(c.hopBreaks),
		"edges_broken":         float64(len(t.broken)),
		"sampled_flag_lost":    float64(c.sampledLost),
		"tracestate_lost":      float64(c.stateLost),
		"baggage_lost":         float64(c.bagLost),
		"external_requests":    float64(external),
	}
	if t.readBack {
		s["server_parent_mismatches"] = float64(c.mismatches)
		s["traces"] = float64(c.traces)
		s["spans"] = float64(c.spans)
		s["extra_roots"] = float64(c.extraRoots)
		s["orphans"] = float64(c.orphans)
		s["orphans_parent_lost"] = float64(c.orphansLost)
		s["orphans_parent_unsampled"] = float64(c.orphansUnsampled)
	}
	return s
}

// fillOf sets each finding's Of from the totals of every group.
func (t *propTally) fillOf(out *propFindings) {
	for _, fs := range []*findings{out.breaks, out.info} {
		for k, f := range fs.byKey {
			r, ok := out.of[k]
			if !ok {
				continue
			}
			switch r.kind {
			case ofEdgeHops:
				f.Of = t.perEdge[r.e]
			case ofExternal:
				f.Of = t.ext.total[r.name]
			case ofTraces:
				f.Of = t.n.traces
			case ofService:
				f.Of = t.perSvc[r.name]
			case ofDeclared:
				f.Of = t.decl.seen[r.e]
			case ofPredicted:
				if ev := t.evidence[r.e]; ev != nil {
					f.Of = ev.hops
				}
			}
		}
	}
}

// duringName is "fault #2's windows (30s–45s)".
func (t *propTally) duringName(out *propFindings) string {
	return fmt.Sprintf("fault #%d's %s (%s)", t.exp.DuringFault, plural(len(out.during), "window", "windows"), t.faults.windowList(out.during))
}

// expectedPlanted words what exp.Broken requires.
func (t *propTally) expectedPlanted(out *propFindings) string {
	names := make([]string, len(out.order))
	for i, p := range out.order {
		names[i] = p.name
	}
	s := "planted breaks required on " + strings.Join(names, ", ")
	if t.exp.DuringFault > 0 {
		s += " within " + t.duringName(out) + " (a hop is within when the ledger shows it in flight in one;" +
			" a backend finding when its span starts in one or " + seconds(postGrace) + " after), and none outside them on those edges"
	} else {
		s += " (allowed there)"
	}
	if t.exp.Connected {
		s += "; no break on any other edge"
	}
	return s
}

// observedPlanted words what happened on the planted edges, adds the failing
// findings to plantedF, and returns the planted breaks and how many of them
// fail (outside the fault's windows) plus one per planted edge without a
// break.
func (t *propTally) observedPlanted(out *propFindings, plantedF *findings, stats map[string]float64, planted, failing *int) string {
	during := t.exp.DuringFault
	var parts []string
	missing, outside := 0, 0
	for _, p := range out.order {
		*planted += p.breaks
		required := p.breaks
		if during > 0 {
			required = p.inside
		}
		if required == 0 {
			missing++
			msg := "planted break on " + p.name + " was not observed"
			if during > 0 {
				msg += " within " + t.duringName(out)
			}
			f := plantedF.add(p.name, msg, attrNone, nil)
			f.Count, f.Of = 0, t.perEdge[p.e]
			parts = append(parts, msg)
		}
		if during == 0 {
			if p.breaks > 0 {
				parts = append(parts, fmt.Sprintf("%s broke %d %s (planted)", p.name, p.breaks, plural(p.breaks, "time", "times")))
			}
			continue
		}
		if p.breaks > 0 {
			parts = append(parts, fmt.Sprintf("%s broke %d %s: %d within fault #%d's windows, %d outside",
				p.name, p.breaks, plural(p.breaks, "time", "times"), p.inside, during, p.outside))
		}
		if p.outside > 0 {
			outside += p.outside
			f := plantedF.add(p.name, fmt.Sprintf("break on %s outside fault #%d's windows", p.name, during), attrNone, nil)
			f.Count, f.Of, f.Examples = p.outside, p.breaks, p.outsideEx
		}
	}
	*failing += missing + outside
	stats["planted_breaks"] = float64(*planted)
	stats["planted_edges_missing"] = float64(missing)
	stats["planted_breaks_outside"] = float64(outside)
	return strings.Join(parts, "; ")
}

// observedBreaks summarises the failing findings: "2 breaks on 1 edge
// (legacy-proxy -> inventory)".
func observedBreaks(n int, fs *findings) string {
	if n == 0 {
		return "no breaks"
	}
	list := fs.list()
	var names []string
	seen := make(map[string]bool)
	for _, f := range list {
		if !seen[f.Subject] {
			seen[f.Subject] = true
			names = append(names, f.Subject)
		}
	}
	where := strings.Join(names, ", ")
	if len(names) > 3 {
		where = strings.Join(names[:3], ", ") + ", …"
	}
	one, many := "edge", "edges"
	for _, s := range names {
		if !strings.Contains(s, " -> ") {
			one, many = "edge or service", "edges or services"
		}
	}
	return fmt.Sprintf("%d %s on %d %s (%s)", n, plural(n, "break", "breaks"),
		len(names), plural(len(names), one, many), where)
}

// plural picks the singular or plural form for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// noReadBack says why the backend was not read.
func noReadBack(in Input) string {
	if in.NoReadBack != "" {
		return in.NoReadBack
	}
	return "no backend read-back"
}
