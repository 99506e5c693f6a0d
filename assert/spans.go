package assert

import (
	"fmt"
	"time"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// Spans selects backend spans with the expectation's where expression
// (spans starting within During, when set) and counts those satisfying its
// assert expression; Count says how many must. Duplicates in the backend
// count once. It does not run without a backend read-back.
func Spans(in Input, exp topology.SpansExpect) Verdict {
	return Run(in, []topology.Expect{{Kind: topology.ExpectSpans, Spans: exp}})[0]
}

// spanExpr is one compiled expression and the fields it reads that cost
// something to fill.
type spanExpr struct {
	prog         *vm.Program
	trace, attrs bool
}

func compileSpanExpr(src string) (spanExpr, error) {
	p, err := topology.CompileSpanExpr(src)
	if err != nil {
		return spanExpr{}, err
	}
	x := spanExpr{prog: p}
	node := p.Node()
	ast.Walk(&node, identVisitor(func(name string) {
		x.trace = x.trace || name == "trace"
		x.attrs = x.attrs || name == "attrs"
	}))
	return x, nil
}

// identVisitor calls itself with the name of every identifier.
type identVisitor func(string)

func (f identVisitor) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok {
		f(id.Value)
	}
}

// spanOffender is evidence: a span that counts against the expectation.
type spanOffender struct {
	sp     *record.Span
	fields topology.SpanFields
}

func spansCheck(in Input, exp topology.SpansExpect, idx *spanIndex) Verdict {
	assertSrc := exp.Assert
	if assertSrc == "" {
		assertSrc = "true"
	}
	subject := exp.Where
	if subject == "" {
		subject = "every span"
	}
	v := Verdict{Check: string(topology.ExpectSpans), Subject: subject}
	count, err := topology.ParseSpanCount(exp.Count)
	if err != nil {
		v.Status, v.Measured, v.Reason = StatusNotRun, "spans selected by where", err.Error()
		return v
	}
	v.Expected = fmt.Sprintf("%s of the selected spans satisfy %s", countPhrase(count), assertSrc)
	if exp.MinSelected > 0 {
		v.Expected += fmt.Sprintf(", with at least %d selected", exp.MinSelected)
	}
	from, to := exp.During[0], exp.During[1]
	window := from != 0 || to != 0
	v.Measured = "backend spans"
	if exp.Where != "" {
		v.Measured += " where " + exp.Where
	}
	if window {
		v.Measured += fmt.Sprintf(", starting in [%s, %s) of the load's timeline", from, to)
	}
	if idx == nil {
		v.Status, v.Reason = StatusNotRun, noReadBack(in)
		return v
	}
	var where spanExpr
	if exp.Where != "" {
		if where, err = compileSpanExpr(exp.Where); err != nil {
			v.Status, v.Reason = StatusNotRun, "where does not compile: "+err.Error()
			return v
		}
	}
	check, err := compileSpanExpr(assertSrc)
	if err != nil {
		v.Status, v.Reason = StatusNotRun, "assert does not compile: "+err.Error()
		return v
	}
	t0 := in.RunStart
	if t0 == 0 {
		t0 = earliest(in)
	}
	needTrace := where.trace || check.trace
	needAttrs := where.attrs || check.attrs
	// One SpanFields, one VM and one attribute map serve every span.
	var f topology.SpanFields
	var machine vm.VM
	if needAttrs {
		f.Attrs = make(map[string]string)
	}
	// Spans matching assert (for <= and ==) or not (for >=) count
	// against the expectation; a few of each are kept as evidence.
	var matchedEx, unmatchedEx []spanOffender
	var errEx []string
	selected, matched, errs := 0, 0, 0
	eval := func(x spanExpr) (bool, error) {
		out, err := machine.Run(x.prog, &f)
		b, _ := out.(bool)
		return b, err
	}
	for e := range int32(len(idx.ents)) {
		sp := idx.span(e)
		start := time.Duration(sp.Start - t0)
		if window && (start < from || start >= to) {
			continue
		}
		f.Service, f.Instance, f.Name = sp.Service, sp.Instance, sp.Name
		f.Kind, f.Status = sp.Kind.String(), sp.Status.String()
		f.Duration, f.Start, f.End = time.Duration(sp.End-sp.Start), start, time.Duration(sp.End-t0)
		f.Root = !sp.Parent.IsValid()
		if needTrace {
			f.Trace = sp.Trace.String()
		}
		if needAttrs {
			clear(f.Attrs)
			for _, a := range sp.Attrs {
				f.Attrs[a.Key] = a.Value
			}
		}
		if where.prog != nil {
			ok, err := eval(where)
			if err != nil {
				errs++
				if len(errEx) < maxExamples {
					errEx = append(errEx, fmt.Sprintf("where on %s: %v", spanName(sp), err))
				}
				continue
			}
			if !ok {
				continue
			}
		}
		selected++
		ok, err := eval(check)
		if err != nil {
			errs++
			if len(errEx) < maxExamples {
				errEx = append(errEx, fmt.Sprintf("assert on %s: %v", spanName(sp), err))
			}
			continue
		}
		if ok {
			matched++
			if len(matchedEx) < maxExamples {
				matchedEx = append(matchedEx, spanOffender{sp, f})
			}
		} else if len(unmatchedEx) < maxExamples {
			unmatchedEx = append(unmatchedEx, spanOffender{sp, f})
		}
	}
	ratio := 0.0
	if selected > 0 {
		ratio = float64(matched) / float64(selected)
	}
	v.Stats = map[string]float64{"selected": float64(selected), "matched": float64(matched), "ratio": ratio,
		"spans": float64(len(idx.ents)), "errors": float64(errs)}
	v.Observed = fmt.Sprintf("%d of %d selected spans satisfy %s (%s)", matched, selected, assertSrc, percent(ratio))
	if errs > 0 {
		v.Observed += fmt.Sprintf("; %d expression errors", errs)
		v.Findings = append(v.Findings, Finding{Subject: subject, Message: "expression failed at run time", Count: errs, Examples: errEx})
	}
	v.Status = StatusPass
	switch {
	case errs > 0:
		v.Status = StatusFail
	case selected < exp.MinSelected:
		v.Status = StatusFail
		v.Observed = fmt.Sprintf("too few spans selected to decide (selected=%d, need ≥ %d); %s", selected, exp.MinSelected, v.Observed)
	case !count.Holds(matched, selected):
		v.Status = StatusFail
		offenders, msg, n := unmatchedEx, "selected span does not satisfy "+assertSrc, selected-matched
		if count.Op != topology.CountAtLeast {
			offenders, msg, n = matchedEx, "selected span satisfies "+assertSrc, matched
		}
		if count.String() == "none" && assertSrc == "true" {
			msg = "span matches where"
		}
		fd := Finding{Subject: subject, Message: msg, Count: n, Of: selected}
		for _, o := range offenders {
			fd.Examples = append(fd.Examples, offenderText(o))
		}
		v.Findings = append(v.Findings, fd)
	}
	return v
}

// countPhrase words a count for Expected.
func countPhrase(c topology.SpanCount) string {
	switch s := c.String(); {
	case s == "all" || s == "none":
		return s
	case c.Share > 0 && c.Op == topology.CountAtLeast:
		return "at least " + percent(c.Share)
	case c.Share > 0:
		return "at most " + percent(c.Share)
	case c.Op == topology.CountAtLeast:
		return fmt.Sprintf("at least %d", c.N)
	case c.Op == topology.CountAtMost:
		return fmt.Sprintf("at most %d", c.N)
	}
	return fmt.Sprintf("exactly %d", c.N)
}

// spanName names a span for a message.
func spanName(sp *record.Span) string {
	return fmt.Sprintf("trace %s span %s (%s %q)", sp.Trace, sp.ID, sp.Service, sp.Name)
}

// offenderText is one span of evidence with the values expressions see most.
func offenderText(o spanOffender) string {
	return fmt.Sprintf("%s %s: duration %s, status %s, start %s", spanName(o.sp), o.fields.Kind,
		o.fields.Duration, o.fields.Status, o.fields.Start)
}
