package topology_test

import (
	"fmt"

	"github.com/tracerig/tracerig/topology"
)

// A topology parses and validates in one call: a valid one comes back with
// its services and the edges its calls make.
func ExampleParseTopology() {
	src := []byte(`name: tiny
services:
  web:
    routes:
      GET /order:
        latency: 1ms
        calls:
          - stock: GET /items
  stock:
    routes:
      GET /items:
        latency: 1ms
`)
	top, err := topology.ParseTopology("tiny.yaml", src)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range top.Edges() {
		fmt.Printf("%s -> %s\n", e.From, e.To)
	}
	fmt.Println("entry routes:", top.EntryRoutes())
	// Output:
	// web -> stock
	// entry routes: [web GET /order]
}

// Every problem of a file is reported in one pass, each located by
// file:line:col and the path of the field.
func ExampleErrorList() {
	src := []byte(`name: shop
services:
  frontend:
    protocol: soap
    routes:
      GET /checkout:
        latency: {p50: 20ms, p99: 5ms}
        calls:
          - carts: GET /cart
`)
	_, err := topology.ParseTopology("shop.yaml", src)
	for _, e := range topology.ErrorList(err) {
		fmt.Println(e)
	}
	// Output:
	// shop.yaml:4:15: services.frontend.protocol: unknown protocol "soap" (want http or grpc)
	// shop.yaml:7:35: services.frontend.routes["GET /checkout"].latency.p99: p99 (5ms) must not be less than p50 (20ms)
	// shop.yaml:9:13: services.frontend.routes["GET /checkout"].calls[0]: calls service "carts" which is not defined
}
