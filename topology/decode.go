package topology

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tracerig/tracerig/internal/similar"
)

// decoder walks a yaml.Node tree by hand, so that every error carries the
// line, column and field path it is about. It collects errors rather than
// stopping at the first one, and remembers which paths failed to decode so
// that validation does not pile consequences on top of them.
type decoder struct {
	file   string
	errs   []error
	fields fieldPos
	failed []string
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, fields: fieldPos{}}
}

func (d *decoder) pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: d.file}
	}
	return Pos{File: d.file, Line: n.Line, Col: n.Column}
}

// errorf records an error that leaves the model at path usable.
func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, newError(d.pos(n), path, format, args...))
}

// fail records an error after which path holds only defaults.
func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	d.errorf(n, path, format, args...)
	d.failed = append(d.failed, path)
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse returns the root node of the first document in data, or nil after
// recording why there is none.
func (d *decoder) parse(data []byte) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := 1, strings.TrimPrefix(err.Error(), "yaml: ")
		if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		d.errs = append(d.errs, newError(Pos{File: d.file, Line: line, Col: 1}, "", "invalid yaml: %s", msg))
		return nil
	}
	if len(doc.Content) == 0 || isNull(resolve(doc.Content[0])) {
		d.errs = append(d.errs, newError(Pos{File: d.file, Line: 1, Col: 1}, "", "file is empty"))
		return nil
	}
	return resolve(doc.Content[0])
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "an unsupported node"
}

// pair is one key and value of a mapping.
type pair struct{ key, value *yaml.Node }

// fields is a decoded mapping whose keys are taken one by one; done reports
// those never taken as unknown.
type fields struct {
	d     *decoder
	node  *yaml.Node
	path  string
	pairs []pair
	used  map[string]bool
	known []string
}

// mapping checks that n is a mapping (null counts as empty) and returns its
// fields, with merge keys (<<) expanded and duplicate keys reported.
func (d *decoder) mapping(n *yaml.Node, path string) (*fields, bool) {
	n = resolve(n)
	m := &fields{d: d, node: n, path: path, used: map[string]bool{}}
	if isNull(n) {
		return m, true
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "must be a mapping, got %s", kindName(n))
		return nil, false
	}
	d.fields[path] = d.pos(n)
	m.pairs = d.pairs(n, path, 0)
	return m, true
}

func (d *decoder) pairs(n *yaml.Node, path string, depth int) []pair {
	var out, merged []pair
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case k.ShortTag() == "!!merge":
			merged = append(merged, d.merge(v, path, depth)...)
		case k.Kind != yaml.ScalarNode:
			d.errorf(k, path, "keys must be scalars, got %s", kindName(k))
		case seen[k.Value] != nil:
			d.errorf(k, field(path, k.Value), "duplicate field %q (first set on line %d)", k.Value, seen[k.Value].Line)
		default:
			seen[k.Value] = k
			out = append(out, pair{k, v})
		}
	}
	for _, p := range merged {
		if seen[p.key.Value] == nil {
			seen[p.key.Value] = p.key
			out = append(out, p)
		}
	}
	return out
}

func (d *decoder) merge(v *yaml.Node, path string, depth int) []pair {
	v = resolve(v)
	if depth > 10 {
		d.errorf(v, path, "merge keys nest too deeply")
		return nil
	}
	var out []pair
	switch v.Kind {
	case yaml.MappingNode:
		out = d.pairs(v, path, depth+1)
	case yaml.SequenceNode:
		for _, item := range v.Content {
			if item = resolve(item); item.Kind == yaml.MappingNode {
				out = append(out, d.pairs(item, path, depth+1)...)
			} else {
				d.errorf(item, path, "merge (<<) needs a mapping, got %s", kindName(item))
			}
		}
	default:
		d.errorf(v, path, "merge (<<) needs a mapping, got %s", kindName(v))
	}
	return out
}

// has reports whether key is present, without taking it.
func (m *fields) has(key string) bool {
	for _, p := range m.pairs {
		if p.key.Value == key {
			return true
		}
	}
	return false
}

// take returns the value of key (nil when absent) and marks it known.
func (m *fields) take(key string) *yaml.Node {
	m.known = append(m.known, key)
	for _, p := range m.pairs {
		if p.key.Value == key {
			m.used[key] = true
			return p.value
		}
	}
	return nil
}

// rest returns the pairs not taken so far and marks them used.
func (m *fields) rest() []pair {
	var out []pair
	for _, p := range m.pairs {
		if !m.used[p.key.Value] {
			m.used[p.key.Value] = true
			out = append(out, p)
		}
	}
	return out
}

// done reports every key not taken as an unknown field.
func (m *fields) done() {
	for _, p := range m.rest() {
		m.d.errorf(p.key, m.path, "unknown field %q%s", p.key.Value, suggest(p.key.Value, m.known))
	}
}

// list checks that n is a list (null counts as empty) and returns its items.
func (d *decoder) list(n *yaml.Node, path string) ([]*yaml.Node, bool) {
	n = resolve(n)
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "must be a list, got %s", kindName(n))
		return nil, false
	}
	d.fields[path] = d.pos(n)
	items := make([]*yaml.Node, len(n.Content))
	for i, it := range n.Content {
		items[i] = resolve(it)
	}
	return items, true
}

// scalar returns n when it is a non-null scalar, recording its position.
func (d *decoder) scalar(n *yaml.Node, path string) (*yaml.Node, bool) {
	n = resolve(n)
	if isNull(n) {
		return nil, false
	}
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "must be a scalar, got %s", kindName(n))
		return nil, false
	}
	d.fields[path] = d.pos(n)
	return n, true
}

func (d *decoder) str(n *yaml.Node, path string, dst *string) bool {
	n, ok := d.scalar(n, path)
	if ok {
		*dst = n.Value
	}
	return ok
}

func (d *decoder) integer(n *yaml.Node, path string, dst *int) bool {
	n, ok := d.scalar(n, path)
	if !ok {
		return false
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 10, 0)
	if err != nil {
		d.fail(n, path, "must be an integer, got %q", n.Value)
		return false
	}
	*dst = int(v)
	return true
}

func (d *decoder) unsigned(n *yaml.Node, path string, dst *uint64) bool {
	n, ok := d.scalar(n, path)
	if !ok {
		return false
	}
	v, err := strconv.ParseUint(strings.ReplaceAll(n.Value, "_", ""), 10, 64)
	if err != nil {
		d.fail(n, path, "must be an unsigned integer, got %q", n.Value)
		return false
	}
	*dst = v
	return true
}

func (d *decoder) number(n *yaml.Node, path string, dst *float64) bool {
	n, ok := d.scalar(n, path)
	if !ok {
		return false
	}
	v, err := strconv.ParseFloat(n.Value, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		d.fail(n, path, "must be a number, got %q", n.Value)
		return false
	}
	*dst = v
	return true
}

func (d *decoder) boolean(n *yaml.Node, path string, dst *bool) bool {
	n, ok := d.scalar(n, path)
	if !ok {
		return false
	}
	switch strings.ToLower(n.Value) {
	case "true":
		*dst = true
	case "false":
		*dst = false
	default:
		d.fail(n, path, "must be true or false, got %q", n.Value)
		return false
	}
	return true
}

func (d *decoder) duration(n *yaml.Node, path string, dst *time.Duration) bool {
	n, ok := d.scalar(n, path)
	if !ok {
		return false
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		d.fail(n, path, "unparsable duration %q (want a number with a unit, like 250ms or 1.5s)", n.Value)
		return false
	}
	*dst = v
	return true
}

// required reports key as missing from the mapping at m.
func (m *fields) required(key, format string, args ...any) {
	msg := "is required"
	if format != "" {
		msg += " " + fmt.Sprintf(format, args...)
	}
	m.d.fail(m.node, field(m.path, key), "%s", msg)
}

// suggest returns ` (did you mean "x"?)` for the known name closest to
// name, or "" when none is close.
func suggest(name string, known []string) string {
	best := closest(name, known)
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// closest returns the known name closest to name, or "" when none is close.
func closest(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if dist := similar.Distance(name, k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	return best
}

// orList returns "a, b or c".
func orList[S ~string](names []S) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return string(names[0])
	}
	s := make([]string, len(names)-1)
	for i, n := range names[:len(names)-1] {
		s[i] = string(n)
	}
	return strings.Join(s, ", ") + " or " + string(names[len(names)-1])
}
