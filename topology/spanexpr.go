package topology

import "time"

// SpanFields is what a spans expectation's expressions see of one span
// (expr-lang syntax): for instance
// `service == "payment" && kind == "server" && duration > duration("300ms")`.
type SpanFields struct {
	Service  string            `expr:"service"`  // resource service.name
	Instance string            `expr:"instance"` // resource service.instance.id
	Name     string            `expr:"name"`
	Kind     string            `expr:"kind"`   // server, client, internal, producer, consumer
	Status   string            `expr:"status"` // unset, ok, error
	Duration time.Duration     `expr:"duration"`
	Start    time.Duration     `expr:"start"` // since the load began
	End      time.Duration     `expr:"end"`   // since the load began
	Trace    string            `expr:"trace"` // trace ID, hex
	Root     bool              `expr:"root"`  // no parent
	Attrs    map[string]string `expr:"attrs"` // attributes, values as strings
}
