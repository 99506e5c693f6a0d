package live

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tracerig/tracerig/topology"
)

// loadScenario loads a scenario of the library by name.
func loadScenario(t *testing.T, name string) *topology.Scenario {
	t.Helper()
	sc, err := topology.LoadScenario("../../scenarios/" + name + ".yaml")
	if err != nil {
		t.Fatalf("load scenario %s: %v", name, err)
	}
	return sc
}

// pageBody builds the fault body the page sends for k with its form as
// it starts (every parameter at its first value) and the first target
// of tg that fits; ok is false when tg has none. It follows body() in
// faults.js.
func pageBody(k Kind, tg Targets, forDur string) (map[string]any, bool) {
	params := map[string]any{}
	switch k.Target {
	case TargetRoute, TargetService, TargetInstance:
		if len(tg.Services) == 0 {
			return nil, false
		}
		params["service"] = tg.Services[0].Name
	case TargetEdge, TargetAsyncEdge:
		i := slices.IndexFunc(tg.Edges, func(e Edge) bool { return k.Target == TargetEdge || e.Topic != "" })
		if i < 0 {
			return nil, false
		}
		params["from"], params["to"] = tg.Edges[i].From, tg.Edges[i].To
	case TargetBroker:
		if len(tg.Brokers) == 0 {
			return nil, false
		}
		params["broker"] = tg.Brokers[0]
	}
	for _, p := range k.Params {
		if p.Value == "" || !p.Required && p.Value == p.Default {
			continue
		}
		switch p.Input {
		case "number":
			n, _ := strconv.ParseFloat(p.Value, 64)
			params[p.Name] = n
		case "bool":
			params[p.Name] = p.Value == "true"
		case "list":
			params[p.Name] = strings.Split(p.Value, ",")
		default:
			params[p.Name] = p.Value
		}
	}
	body := map[string]any{k.Kind: params}
	if forDur != "" {
		body["for"] = forDur
	}
	return body, true
}

func TestCatalogHasEveryKind(t *testing.T) {
	cat := Catalog()
	var got []string
	for _, k := range cat {
		got = append(got, k.Kind)
		if k.Target == "" || k.Params == nil {
			t.Errorf("kind %s: target %q, params %v", k.Kind, k.Target, k.Params)
		}
		for _, p := range k.Params {
			if (p.Input == "select" || p.Input == "list") && len(p.Options) == 0 {
				t.Errorf("kind %s: %s has no options", k.Kind, p.Name)
			}
		}
	}
	want := names(topology.FaultKinds)
	if !slices.Equal(got, want) {
		t.Errorf("catalog kinds %v, want %v", got, want)
	}
}

// TestCatalogBodiesParse requires every body the page sends with its
// defaults to be a fault topology.ParseFault accepts, and to decode to the
// defaults the catalog claims.
func TestCatalogBodiesParse(t *testing.T) {
	shop, orders := loadScenario(t, "shop").Topology, loadScenario(t, "order-events").Topology
	topos := map[string]*topology.Topology{"shop": shop, "order-events": orders}
	tests := []struct {
		kind, scenario string
		skip           string // why the kind cannot be tried on that scenario
	}{
		{"latency", "shop", ""}, {"errors", "shop", ""}, {"timeout", "shop", ""},
		{"strip-headers", "shop", ""}, {"corrupt-traceparent", "shop", ""}, {"duplicate-header", "shop", ""},
		{"tracestate-overflow", "shop", ""}, {"baggage-overflow", "shop", ""}, {"propagator-mismatch", "shop", ""},
		{"uninstrument", "shop", ""}, {"clock-skew", "shop", ""}, {"exporter-outage", "shop", ""},
		{"slow-backend", "shop", ""}, {"queue-overflow", "shop", ""}, {"crash", "shop", ""},
		{"restart", "shop", ""}, {"pause", "shop", ""}, {"partition", "shop", ""},
		{"broker-outage", "order-events", ""}, {"poison", "order-events", ""},
		{"broker-outage", "shop", "shop has no broker"},
		{"poison", "shop", "shop has no asynchronous edge"},
	}
	tried := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.scenario, func(t *testing.T) {
			topo := topos[tt.scenario]
			k := catalogKind(topology.FaultKind(tt.kind))
			body, ok := pageBody(k, TargetsOf(topo), "10s")
			if tt.skip != "" {
				if ok {
					t.Fatalf("skipped for %q, but the topology has a target", tt.skip)
				}
				t.Skip(tt.skip)
			}
			if !ok {
				t.Fatalf("no %s target in %s", k.Target, tt.scenario)
			}
			data, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			f, err := topology.ParseFault("page", data, topo)
			if err != nil {
				t.Fatalf("%s: %v", data, err)
			}
			if string(f.Kind) != tt.kind || f.Window.For.String() != "10s" {
				t.Errorf("%s parsed as %+v", data, f)
			}
			tried[tt.kind] = true
		})
	}
	for _, k := range topology.FaultKinds {
		if !tried[string(k)] {
			t.Errorf("kind %s was not tried on any scenario", k)
		}
	}
}

// TestCatalogDefaults requires each optional parameter's default to be
// what ParseFault applies when it is left out: a body that sends it at its
// default parses to the same fault as one that leaves it out.
func TestCatalogDefaults(t *testing.T) {
	shop := loadScenario(t, "shop").Topology
	tg := TargetsOf(shop)
	for _, k := range Catalog() {
		base, ok := pageBody(k, tg, "")
		if !ok {
			continue
		}
		for _, p := range k.Params {
			if p.Required || p.Default == "" {
				continue
			}
			t.Run(k.Kind+"/"+p.Name, func(t *testing.T) {
				with := map[string]any{}
				for key, v := range base[k.Kind].(map[string]any) {
					with[key] = v
				}
				switch p.Input {
				case "number":
					with[p.Name], _ = strconv.Atoi(p.Default)
				case "bool":
					with[p.Name] = p.Default == "true"
				case "list":
					with[p.Name] = strings.Split(p.Default, ",")
				default:
					with[p.Name] = p.Default
				}
				if p.Name == "status" && tg.Services[0].Name != "" {
					if s := shop.Service(tg.Services[0].Name); s.Protocol == topology.ProtocolGRPC {
						t.Skip("the first service is grpc")
					}
				}
				if p.Name == "code" {
					t.Skip("code is for grpc services; the first service of shop is http")
				}
				a, _ := json.Marshal(base)
				b, _ := json.Marshal(map[string]any{k.Kind: with})
				fa, errA := topology.ParseFault("page", a, shop)
				fb, errB := topology.ParseFault("page", b, shop)
				if errA != nil || errB != nil {
					t.Fatalf("parse: %v; %v", errA, errB)
				}
				ja, _ := json.Marshal(fa)
				jb, _ := json.Marshal(fb)
				if string(ja) != string(jb) {
					t.Errorf("left out: %s\nat its default: %s", ja, jb)
				}
			})
		}
	}
}

func TestTargetsOf(t *testing.T) {
	tg := TargetsOf(loadScenario(t, "order-events").Topology)
	if len(tg.Services) == 0 || len(tg.Brokers) != 1 || !slices.ContainsFunc(tg.Edges, func(e Edge) bool { return e.Topic != "" }) {
		t.Errorf("targets %+v", tg)
	}
	for _, s := range tg.Services {
		if s.Instances < 1 {
			t.Errorf("service %s: %d instances", s.Name, s.Instances)
		}
	}
}
