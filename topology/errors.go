package topology

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// Error is one problem in a topology or scenario, located in its file.
type Error struct {
	Pos  Pos
	Path string // field path, like services.frontend.routes["GET /a"].latency
	Msg  string // lowercase, no trailing period
	Err  error  // underlying cause, if any (an I/O error, say)
}

// Error returns "file:line:col: path: message", leaving out what is unknown.
func (e *Error) Error() string {
	s := e.Msg
	if e.Path != "" {
		s = e.Path + ": " + s
	}
	if p := e.Pos.String(); p != "" {
		s = p + ": " + s
	}
	return s
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// String returns "file:line:col", leaving out what is unknown.
func (p Pos) String() string {
	s := p.File
	if p.Line > 0 {
		if s != "" {
			s += ":"
		}
		s += strconv.Itoa(p.Line)
		if p.Col > 0 {
			s += ":" + strconv.Itoa(p.Col)
		}
	}
	return s
}

// ErrorList returns every *Error inside err (a single one or a tree of joined
// errors), sorted by file, line and column. Other errors are left out.
func ErrorList(err error) []*Error {
	var out []*Error
	var walk func(error)
	walk = func(e error) {
		switch x := e.(type) {
		case nil:
		case *Error:
			out = append(out, x)
		case interface{ Unwrap() []error }:
			for _, inner := range x.Unwrap() {
				walk(inner)
			}
		default:
			walk(errors.Unwrap(e))
		}
	}
	walk(err)
	slices.SortStableFunc(out, comparePos)
	return out
}

func comparePos(a, b *Error) int {
	return cmp.Or(
		cmp.Compare(a.Pos.File, b.Pos.File),
		cmp.Compare(a.Pos.Line, b.Pos.Line),
		cmp.Compare(a.Pos.Col, b.Pos.Col),
	)
}

// joinSorted joins errs sorted by position, or returns nil when there are none.
func joinSorted(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	sorted := slices.Clone(errs)
	slices.SortStableFunc(sorted, func(a, b error) int {
		ea, oka := a.(*Error)
		eb, okb := b.(*Error)
		switch {
		case oka && okb:
			return comparePos(ea, eb)
		case oka:
			return -1
		case okb:
			return 1
		}
		return 0
	})
	return errors.Join(sorted...)
}

// newError returns an *Error with a formatted message.
func newError(pos Pos, path, format string, args ...any) *Error {
	return &Error{Pos: pos, Path: path, Msg: fmt.Sprintf(format, args...)}
}

// MarshalJSON writes the problem for machines: {"file", "line", "column",
// "path", "message"}, leaving out what is unknown.
func (e *Error) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(struct {
		File    string `json:"file,omitempty"`
		Line    int    `json:"line,omitempty"`
		Column  int    `json:"column,omitempty"`
		Path    string `json:"path,omitempty"`
		Message string `json:"message"`
	}{e.Pos.File, e.Pos.Line, e.Pos.Col, e.Path, e.Msg})
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), err
}
