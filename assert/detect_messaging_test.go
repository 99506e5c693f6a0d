package assert

import (
	"testing"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// TestTargetRouteSpans: a fault naming a consume route finds that route's
// consumer spans, named after the topic and told apart by group, and a
// fault naming any other route finds the spans named after it.
func TestTargetRouteSpans(t *testing.T) {
	topo := &topology.Topology{Services: []*topology.Service{{Name: "mailer", Routes: []*topology.Route{
		{Name: "send mail", Consume: &topology.Consume{Topic: "events", Group: "mailer"}},
		{Name: "archive", Consume: &topology.Consume{Topic: "events", Group: "archive"}},
		{Name: "POST /mail"},
	}}}}
	span := func(name, group string) *record.Span {
		s := &record.Span{Name: name, Service: "mailer", Kind: record.KindConsumer}
		if group != "" {
			s.Attrs = []record.Attr{{Key: consumerGroupKey, Value: group}}
		}
		return s
	}
	for _, tt := range []struct {
		name  string
		topo  *topology.Topology
		route string
		span  *record.Span
		want  bool
	}{
		{"consume route by its topic's span", topo, "send mail", span("process events", "mailer"), true},
		{"consume route, another group", topo, "send mail", span("process events", "archive"), false},
		{"the other group's route", topo, "archive", span("process events", "archive"), true},
		{"consume route, span without its group", topo, "send mail", span("process events", ""), true},
		{"consume route never names its span", topo, "send mail", span("send mail", "mailer"), false},
		{"request route by name", topo, "POST /mail", span("POST /mail", ""), true},
		{"request route, another span", topo, "POST /mail", span("process events", "mailer"), false},
		{"no route: every span", topo, "", span("process events", "archive"), true},
		{"no topology: by name", nil, "send mail", span("process events", "mailer"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rs := targetRouteSpans(tt.topo, topology.FaultTarget{Service: "mailer", Route: tt.route, Instance: -1})
			if got := rs.match(tt.span); got != tt.want {
				t.Errorf("route %q matches span %q (group %v): %v, want %v", tt.route, tt.span.Name, tt.span.Attrs, got, tt.want)
			}
		})
	}
}
