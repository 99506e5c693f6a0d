package topology

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// edgeLabels returns, per edge, the lines labelling it: the route, then each
// distinct set of call options (timeout, retries) on that edge.
func (t *Topology) edgeLabels() map[Edge][]string {
	labels := map[Edge][]string{}
	for _, s := range t.Services {
		for _, r := range s.Routes {
			r.Walk(func(c *Call) {
				e := Edge{From: s.Name, To: c.Service, Route: c.Route}
				if labels[e] == nil {
					labels[e] = []string{c.Route}
				}
				if opt := callOptionsText(c); opt != "" && !contains(labels[e], opt) {
					labels[e] = append(labels[e], opt)
				}
			})
			async := func(topic, what string) {
				for _, c := range t.Consumers(topic) {
					e := Edge{From: s.Name, To: c.Service.Name, Route: c.Route.Name, Topic: topic}
					labels[e] = []string{what + topic, consumeText(c.Route.Consume)}
				}
			}
			r.WalkPublish(func(p *Publish) { async(p.Topic, "topic ") })
			if r.Consume != nil && r.Consume.DeadLetter != "" {
				async(r.Consume.DeadLetter, "dead letters to ")
			}
		}
	}
	return labels
}

// consumeText describes how a group consumes: its name, batch and mode.
func consumeText(c *Consume) string {
	s := "group " + c.Group
	if c.Batch > 1 {
		s += fmt.Sprintf(", batch %d", c.Batch)
	}
	return s + ", " + string(c.Mode)
}

func callOptionsText(c *Call) string {
	var parts []string
	if c.Timeout > 0 {
		parts = append(parts, "timeout "+c.Timeout.String())
	}
	if c.Retries > 0 {
		parts = append(parts, fmt.Sprintf("retries %d", c.Retries))
	}
	return strings.Join(parts, ", ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// nodeLabel returns the lines labelling a service's node.
func nodeLabel(s *Service) []string {
	return []string{s.Name, fmt.Sprintf("%s x%d", s.Protocol, s.Instances)}
}

// undefinedCallees returns services called but not defined, in edge order.
func (t *Topology) undefinedCallees(edges []Edge) []string {
	var out []string
	for _, e := range edges {
		if t.Service(e.To) == nil && !contains(out, e.To) {
			out = append(out, e.To)
		}
	}
	return out
}

// WriteDOT writes the topology as a Graphviz digraph: one node per service
// (name, protocol and instance count; dashed when not instrumented), one
// edge per call edge labelled with the route and any timeout or retries,
// and one dashed edge per asynchronous edge labelled with its topic and
// consumer group.
func (t *Topology) WriteDOT(w io.Writer) error {
	bw := bufio.NewWriter(w)
	q := func(lines ...string) string {
		esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
		for i, l := range lines {
			lines[i] = esc.Replace(l)
		}
		return `"` + strings.Join(lines, `\n`) + `"`
	}
	fmt.Fprintf(bw, "digraph %s {\n", q(t.Name))
	fmt.Fprintf(bw, "  rankdir=LR;\n  node [shape=box];\n")
	for _, s := range t.Services {
		style := ""
		if !s.Instrumented {
			style = ", style=dashed"
		}
		fmt.Fprintf(bw, "  %s [label=%s%s];\n", q(s.Name), q(nodeLabel(s)...), style)
	}
	edges := t.Edges()
	for _, name := range t.undefinedCallees(edges) {
		fmt.Fprintf(bw, "  %s [label=%s, color=red];\n", q(name), q(name, "undefined"))
	}
	labels := t.edgeLabels()
	for _, e := range edges {
		style := ""
		if e.IsAsync() {
			style = ", style=dashed"
		}
		fmt.Fprintf(bw, "  %s -> %s [label=%s%s];\n", q(e.From), q(e.To), q(labels[e]...), style)
	}
	fmt.Fprintf(bw, "}\n")
	return bw.Flush()
}

// WriteMermaid writes the topology as a Mermaid flowchart (LR), the same
// picture as WriteDOT.
func (t *Topology) WriteMermaid(w io.Writer) error {
	bw := bufio.NewWriter(w)
	esc := strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;")
	q := func(lines ...string) string {
		for i, l := range lines {
			lines[i] = esc.Replace(l)
		}
		return `"` + strings.Join(lines, "<br/>") + `"`
	}
	ids := map[string]string{}
	id := func(name string) string {
		if ids[name] == "" {
			ids[name] = fmt.Sprintf("n%d", len(ids))
		}
		return ids[name]
	}
	fmt.Fprintf(bw, "flowchart LR\n")
	var dashed []string
	for _, s := range t.Services {
		fmt.Fprintf(bw, "  %s[%s]\n", id(s.Name), q(nodeLabel(s)...))
		if !s.Instrumented {
			dashed = append(dashed, id(s.Name))
		}
	}
	edges := t.Edges()
	var undefined []string
	for _, name := range t.undefinedCallees(edges) {
		fmt.Fprintf(bw, "  %s[%s]\n", id(name), q(name, "undefined"))
		undefined = append(undefined, id(name))
	}
	labels := t.edgeLabels()
	for _, e := range edges {
		arrow := "-->"
		if e.IsAsync() {
			arrow = "-.->"
		}
		fmt.Fprintf(bw, "  %s %s|%s| %s\n", id(e.From), arrow, q(labels[e]...), id(e.To))
	}
	if len(dashed) > 0 {
		fmt.Fprintf(bw, "  classDef uninstrumented stroke-dasharray: 5 5\n")
		fmt.Fprintf(bw, "  class %s uninstrumented\n", strings.Join(dashed, ","))
	}
	if len(undefined) > 0 {
		fmt.Fprintf(bw, "  classDef undefined stroke: red\n")
		fmt.Fprintf(bw, "  class %s undefined\n", strings.Join(undefined, ","))
	}
	return bw.Flush()
}
