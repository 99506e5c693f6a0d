package assert

import (
	"maps"
	"testing"

	"github.com/tracerig/tracerig/topology"
)

func TestThroughExternal(t *testing.T) {
	topo, err := topology.ParseTopology("through.yaml", []byte(`name: through
services:
  frontend:
    routes:
      GET /shop:
        calls:
          - checkout: GET /reserve
          - search: GET /find
  admin:
    routes:
      GET /:
        calls:
          - checkout: GET /reserve
  checkout:
    external: http://127.0.0.1:9000
    routes:
      GET /reserve:
    calls:
      - {service: inventory, route: GET /stock}
      - {service: frontend, route: GET /shop}
  search:
    routes:
      GET /find:
  inventory:
    routes:
      GET /stock:
`))
	if err != nil {
		t.Fatal(err)
	}
	// checkout's own calls to frontend may be its own: not through it.
	want := map[edge]string{
		{"frontend", "inventory"}: "checkout",
		{"admin", "inventory"}:    "checkout",
		{"admin", "frontend"}:     "checkout",
	}
	if got := throughExternal(topo); !maps.Equal(got, want) {
		t.Errorf("throughExternal = %v, want %v", got, want)
	}
}
