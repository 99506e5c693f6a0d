package live

import (
	"slices"

	"github.com/tracerig/tracerig/topology"
)

// TargetsOf returns what a fault can target in t: the services tracerig
// runs (not external ones), the edges out of them, and the brokers it
// runs.
func TargetsOf(t *topology.Topology) Targets {
	out := Targets{Services: []Service{}, Edges: []Edge{}, Brokers: []string{}}
	if t == nil {
		return out
	}
	for _, s := range t.Services {
		if s.IsExternal() {
			continue
		}
		svc := Service{Name: s.Name, Routes: []string{}, Instances: max(s.Instances, 1)}
		for _, r := range s.Routes {
			svc.Routes = append(svc.Routes, r.Name)
		}
		out.Services = append(out.Services, svc)
	}
	for _, e := range t.Edges() {
		if from := t.Service(e.From); from == nil || from.IsExternal() {
			continue
		}
		edge := Edge{From: e.From, To: e.To, Topic: e.Topic}
		if !slices.Contains(out.Edges, edge) {
			out.Edges = append(out.Edges, edge)
		}
	}
	for _, b := range t.Brokers {
		if b.IsEmbedded() {
			out.Brokers = append(out.Brokers, b.Name)
		}
	}
	return out
}
