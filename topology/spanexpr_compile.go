package topology

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// CompileSpanExpr compiles a spans expectation's where or assert expression
// against SpanFields; its result must be a bool. The field duration shadows
// expr's builtin duration(), so calls to duration("300ms") are routed to a
// function of tracerig's own that parses the same way. The error, if any, is
// expr's message on one line, with the position in the expression.
func CompileSpanExpr(src string) (*vm.Program, error) {
	calls := &durationCalls{src: src}
	p, err := expr.Compile(src,
		expr.Env(SpanFields{}),
		expr.AsBool(),
		expr.Patch(calls),
		expr.Function(durationFunc, func(args ...any) (any, error) {
			s, _ := args[0].(string)
			return time.ParseDuration(s)
		}, new(func(string) time.Duration)),
	)
	if err != nil {
		msg, _, _ := strings.Cut(err.Error(), "\n")
		msg = strings.ReplaceAll(strings.ReplaceAll(msg, durationFunc, "duration"), "  (", " (")
		return nil, fmt.Errorf("%s", msg)
	}
	if calls.err != nil {
		return nil, calls.err
	}
	return p, nil
}

// durationFunc is the name calls to duration() are patched to; no
// expression can spell it.
const durationFunc = "duration()"

// durationCalls replaces duration("literal") with its value, so that no
// span pays for parsing it, and renames the callee of other duration(...)
// calls to durationFunc. The first unparsable literal is kept in err.
type durationCalls struct {
	src string
	err error
}

func (dc *durationCalls) Visit(node *ast.Node) {
	c, ok := (*node).(*ast.CallNode)
	if !ok {
		return
	}
	id, ok := c.Callee.(*ast.IdentifierNode)
	if !ok || id.Value != "duration" {
		return
	}
	if len(c.Arguments) == 1 {
		if lit, ok := c.Arguments[0].(*ast.StringNode); ok {
			d, err := time.ParseDuration(lit.Value)
			if err != nil {
				if dc.err == nil {
					e := (&file.Error{Location: lit.Location(),
						Message: fmt.Sprintf("unparsable duration %q, want a number with a unit, like 300ms", lit.Value)}).Bind(file.NewSource(dc.src))
					msg, _, _ := strings.Cut(e.Error(), "\n")
					dc.err = fmt.Errorf("%s", msg)
				}
			} else {
				ast.Patch(node, &ast.ConstantNode{Value: d})
				return
			}
		}
	}
	ast.Patch(&c.Callee, &ast.IdentifierNode{Value: durationFunc})
}

// CountOp is the comparison of a SpanCount.
type CountOp string

// Count comparisons.
const (
	CountAtLeast CountOp = ">="
	CountAtMost  CountOp = "<="
	CountExactly CountOp = "=="
)

// SpanCount is a spans expectation's Count, parsed: how many of the selected
// spans must satisfy the assertion.
type SpanCount struct {
	Op CountOp
	N  int // a number of spans, when Share is 0
	// Share, when positive, replaces N: a share of the selected spans, in
	// (0, 1].
	Share float64
}

// ParseSpanCount parses a Count: "all" or "" (>= 1.0 of the selected spans),
// "none" (== 0), ">= N", "<= N", "== N" with N a whole number, or
// ">= 0.9" and "<= 0.1", a share of the selected spans (written with a dot).
func ParseSpanCount(s string) (SpanCount, error) {
	t := strings.TrimSpace(s)
	switch t {
	case "all", "":
		return SpanCount{Op: CountAtLeast, Share: 1}, nil
	case "none":
		return SpanCount{Op: CountExactly}, nil
	}
	bad := fmt.Errorf("unknown count %q (want all, none, \">= N\", \"<= N\" or \"== N\" with N a whole number, or \">= 0.9\" or \"<= 0.1\", a share of the selected spans)", s)
	if len(t) < 2 {
		return SpanCount{}, bad
	}
	op := CountOp(t[:2])
	if op != CountAtLeast && op != CountAtMost && op != CountExactly {
		return SpanCount{}, bad
	}
	num := strings.TrimSpace(t[2:])
	if strings.Contains(num, ".") {
		v, err := strconv.ParseFloat(num, 64)
		switch {
		case err != nil || math.IsNaN(v):
			return SpanCount{}, bad
		case op == CountExactly:
			return SpanCount{}, fmt.Errorf("count %q: a share takes >= or <=, not ==", s)
		case v <= 0 || v > 1:
			return SpanCount{}, fmt.Errorf("count %q: a share must be greater than 0 and at most 1, got %g", s, v)
		}
		return SpanCount{Op: op, Share: v}, nil
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return SpanCount{}, bad
	}
	return SpanCount{Op: op, N: n}, nil
}

// String renders the count as it is written.
func (c SpanCount) String() string {
	switch {
	case c.Op == CountAtLeast && c.Share == 1:
		return "all"
	case c.Op == CountExactly && c.Share == 0 && c.N == 0:
		return "none"
	case c.Share > 0:
		// A share is written with a dot (1.0, not 1, which is a number of
		// spans) and without an exponent, which ParseSpanCount does not read.
		share := strconv.FormatFloat(c.Share, 'f', -1, 64)
		if !strings.Contains(share, ".") {
			share += ".0"
		}
		return fmt.Sprintf("%s %s", c.Op, share)
	}
	return fmt.Sprintf("%s %d", c.Op, c.N)
}

// Holds reports whether matched of selected spans satisfy the count.
func (c SpanCount) Holds(matched, selected int) bool {
	if c.Share > 0 {
		// Compare matched/selected with Share without rounding: matched ≥
		// Share·selected, with a hair of slack for Share's binary form.
		want := c.Share * float64(selected)
		const eps = 1e-9
		if c.Op == CountAtMost {
			return float64(matched) <= want+eps
		}
		return float64(matched) >= want-eps
	}
	switch c.Op {
	case CountAtMost:
		return matched <= c.N
	case CountExactly:
		return matched == c.N
	}
	return matched >= c.N
}
