package scenarios

import (
	"context"
	"fmt"
	"time"

	"github.com/tracerig/tracerig/report/metrics"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/simulator/control"
	"github.com/tracerig/tracerig/topology"
)

// serveControl serves the live fault API (package control) of rt on addr
// for the length of the load ("" serves nothing), calling ready with the
// address it listens on: on a listener of its own, or beside the metrics
// on theirs (shared, when not nil). The returned stop closes it and ends
// live faults' timers.
func serveControl(addr string, rt *simulator.Runtime, sc *topology.Scenario, ready func(string), shared *metrics.Server) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	srv := control.NewServer(rt, sc.Topology)
	if shared != nil {
		shared.Mount(srv)
		if ready != nil {
			ready(shared.Addr())
		}
		return func() {
			shared.Mount(nil)
			srv.Close(context.Background())
		}, nil
	}
	bound, err := srv.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("%w; pick another --control address", err)
	}
	if ready != nil {
		ready(bound)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Close(ctx)
	}, nil
}
