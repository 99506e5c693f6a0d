package assert

import (
	"fmt"
	"slices"
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

// spansTally is the spans check judged group by group: each backend span
// is judged on its own, so across groups it keeps the counts and a few
// examples of each kind, already worded. Duplicates of a span are in its
// trace's group, so they are folded there.
type spansTally struct {
	exp       topology.SpansExpect
	assertSrc string // the assert expression, "true" without one
	subject   string
	count     topology.SpanCount
	countErr  error         // the count does not parse
	notRun    string        // why it does not run: no read-back, an expression that does not compile
	from, to  time.Duration // the window of span starts, when window
	window    bool
	where     spanExpr // nil prog without a where
	check     spanExpr
	// t0 is the origin of the load's timeline: the run's start, else (a
	// run without one, made by hand) the earliest time the first group
	// judged knows, which is the run's own when the run is one group.
	t0    int64
	hasT0 bool

	// One SpanFields, one VM and one attribute map serve every span.
	f       topology.SpanFields
	machine vm.VM

	selected, matched, errs int
	spans                   int // distinct backend spans
	// Spans matching assert (for <= and ==) or not (for >=) count
	// against the expectation; a few of each are kept as evidence.
	matchedEx, unmatchedEx []string
	errEx                  []string
}

// newSpansTally returns the spans tally for a run with base's static
// evidence; it compiles the expressions once for the whole run.
func newSpansTally(exp topology.SpansExpect, base *Input) *spansTally {
	c := &spansTally{exp: exp, assertSrc: exp.Assert, subject: exp.Where, t0: base.RunStart, hasT0: base.RunStart != 0}
	if c.assertSrc == "" {
		c.assertSrc = "true"
	}
	if c.subject == "" {
		c.subject = "every span"
	}
	c.from, c.to = exp.During[0], exp.During[1]
	c.window = c.from != 0 || c.to != 0
	c.count, c.countErr = topology.ParseSpanCount(exp.Count)
	switch {
	case c.countErr != nil:
	case !base.ReadBack:
		c.notRun = noReadBack(*base)
	default:
		c.notRun = c.compile()
	}
	return c
}

// add judges the backend spans of one group, each once.
func (c *spansTally) add(in *Input, idx *spanIndex, _ *faultSet) {
	if idx == nil || c.countErr != nil || c.notRun != "" {
		return
	}
	if !c.hasT0 {
		c.t0, c.hasT0 = earliest(*in), true
	}
	for e := range int32(len(idx.ents)) {
		c.span(idx.span(e))
	}
	c.spans += len(idx.ents)
}

// verdict decides and words the result.
func (c *spansTally) verdict() Verdict {
	v := Verdict{Check: string(topology.ExpectSpans), Subject: c.subject}
	if c.countErr != nil {
		v.Status, v.Measured, v.Reason = StatusNotRun, "spans selected by where", c.countErr.Error()
		return v
	}
	v.Expected, v.Measured = c.expected(), c.measured()
	if c.notRun != "" {
		v.Status, v.Reason = StatusNotRun, c.notRun
		return v
	}
	return c.judge(v)
}

// expected renders the expectation.
func (c *spansTally) expected() string {
	s := fmt.Sprintf("%s of the selected spans satisfy %s", countPhrase(c.count), c.assertSrc)
	if c.exp.MinSelected > 0 {
		s += fmt.Sprintf(", with at least %d selected", c.exp.MinSelected)
	}
	return s
}

// measured says which spans are selected.
func (c *spansTally) measured() string {
	s := "backend spans"
	if c.exp.Where != "" {
		s += " where " + c.exp.Where
	}
	if c.window {
		s += fmt.Sprintf(", starting in [%s, %s) of the load's timeline", c.from, c.to)
	}
	return s
}

// compile compiles the where and assert expressions; it returns why the
// check cannot run when one does not compile.
func (c *spansTally) compile() (reason string) {
	var err error
	if c.exp.Where != "" {
		if c.where, err = compileSpanExpr(c.exp.Where); err != nil {
			return "where does not compile: " + err.Error()
		}
	}
	if c.check, err = compileSpanExpr(c.assertSrc); err != nil {
		return "assert does not compile: " + err.Error()
	}
	if c.where.attrs || c.check.attrs {
		c.f.Attrs = make(map[string]string)
	}
	return ""
}

// span selects sp with where and counts it with assert.
func (c *spansTally) span(sp *record.Span) {
	start := time.Duration(sp.Start - c.t0)
	if c.window && (start < c.from || start >= c.to) {
		return
	}
	c.fill(sp, start)
	if c.where.prog != nil {
		ok, err := c.eval(c.where)
		if err != nil {
			c.failed("where", sp, err)
			return
		}
		if !ok {
			return
		}
	}
	c.selected++
	ok, err := c.eval(c.check)
	if err != nil {
		c.failed("assert", sp, err)
		return
	}
	if ok {
		c.matched++
		if len(c.matchedEx) < maxExamples {
			c.matchedEx = append(c.matchedEx, offenderText(sp, &c.f))
		}
	} else if len(c.unmatchedEx) < maxExamples {
		c.unmatchedEx = append(c.unmatchedEx, offenderText(sp, &c.f))
	}
}

// fill sets the fields the expressions see to those of sp, which started
// start into the load's timeline; the trace ID and attributes only when an
// expression reads them.
func (c *spansTally) fill(sp *record.Span, start time.Duration) {
	f := &c.f
	f.Service, f.Instance, f.Name = sp.Service, sp.Instance, sp.Name
	f.Kind, f.Status = sp.Kind.String(), sp.Status.String()
	f.Duration, f.Start, f.End = time.Duration(sp.End-sp.Start), start, time.Duration(sp.End-c.t0)
	f.Root = !sp.Parent.IsValid()
	if c.where.trace || c.check.trace {
		f.Trace = sp.Trace.String()
	}
	if f.Attrs != nil {
		clear(f.Attrs)
		for _, a := range sp.Attrs {
			f.Attrs[a.Key] = a.Value
		}
	}
}

// eval runs x on the current fields; a result that is not a boolean is
// false.
func (c *spansTally) eval(x spanExpr) (bool, error) {
	out, err := c.machine.Run(x.prog, &c.f)
	b, _ := out.(bool)
	return b, err
}

// failed counts an expression (which) that failed on sp.
func (c *spansTally) failed(which string, sp *record.Span, err error) {
	c.errs++
	if len(c.errEx) < maxExamples {
		c.errEx = append(c.errEx, fmt.Sprintf("%s on %s: %v", which, spanName(sp), err))
	}
}

// judge decides on the counts and words the result into v.
func (c *spansTally) judge(v Verdict) Verdict {
	ratio := 0.0
	if c.selected > 0 {
		ratio = float64(c.matched) / float64(c.selected)
	}
	v.Stats = map[string]float64{"selected": float64(c.selected), "matched": float64(c.matched), "ratio": ratio,
		"spans": float64(c.spans), "errors": float64(c.errs)}
	v.Observed = fmt.Sprintf("%d of %d selected spans satisfy %s (%s)", c.matched, c.selected, c.assertSrc, percent(ratio))
	if c.errs > 0 {
		v.Observed += fmt.Sprintf("; %d expression errors", c.errs)
		v.Findings = append(v.Findings, Finding{Subject: c.subject, Message: "expression failed at run time", Count: c.errs, Examples: slices.Clone(c.errEx)})
	}
	v.Status = StatusPass
	switch {
	case c.errs > 0:
		v.Status = StatusFail
	case c.selected < c.exp.MinSelected:
		v.Status = StatusFail
		v.Observed = fmt.Sprintf("too few spans selected to decide (selected=%d, need ≥ %d); %s", c.selected, c.exp.MinSelected, v.Observed)
	case !c.count.Holds(c.matched, c.selected):
		v.Status = StatusFail
		v.Findings = append(v.Findings, c.offenders())
	}
	return v
}

// offenders is the finding of the spans that count against the
// expectation.
func (c *spansTally) offenders() Finding {
	offenders, msg, n := c.unmatchedEx, "selected span does not satisfy "+c.assertSrc, c.selected-c.matched
	if c.count.Op != topology.CountAtLeast {
		offenders, msg, n = c.matchedEx, "selected span satisfies "+c.assertSrc, c.matched
	}
	if c.count.String() == "none" && c.assertSrc == "true" {
		msg = "span matches where"
	}
	return Finding{Subject: c.subject, Message: msg, Count: n, Of: c.selected, Examples: slices.Clone(offenders)}
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

// offenderText is one span of evidence with the values expressions see
// most, f being what they saw of it.
func offenderText(sp *record.Span, f *topology.SpanFields) string {
	return fmt.Sprintf("%s %s: duration %s, status %s, start %s", spanName(sp), f.Kind, f.Duration, f.Status, f.Start)
}
