package topology

import (
	"slices"
	"testing"
)

func TestParseExternal(t *testing.T) {
	topo, err := ParseTopology("ext.yaml", []byte(`name: ext
services:
  frontend:
    port: 18080
    routes:
      GET /shop:
        calls:
          - checkout: GET /reserve
  checkout:
    external: http://localhost:9000
    routes:
      GET /reserve:
      GET /direct: {}
    calls:
      - {service: inventory, route: GET /stock}
  inventory:
    routes:
      GET /stock:
`))
	if err != nil {
		t.Fatal(err)
	}
	c := topo.Service("checkout")
	if !c.IsExternal() || c.ExternalAddr() != "localhost:9000" || len(c.Routes) != 2 || len(c.Downstream) != 1 {
		t.Errorf("checkout: %+v", c)
	}
	if topo.Service("frontend").Port != 18080 || topo.Service("inventory").IsExternal() {
		t.Error("frontend's fixed port or inventory's kind")
	}
	want := []Edge{{"checkout", "inventory", "GET /stock", ""}, {"frontend", "checkout", "GET /reserve", ""}}
	if got := topo.Edges(); !slices.Equal(got, want) {
		t.Errorf("edges %v, want %v", got, want)
	}
	// An external entry route is a load target; inventory, called by the
	// external service, is not an entry.
	wantEntries := []RouteRef{{"frontend", "GET /shop"}, {"checkout", "GET /direct"}}
	if got := topo.EntryRoutes(); !slices.Equal(got, wantEntries) {
		t.Errorf("entry routes %v, want %v", got, wantEntries)
	}
}
