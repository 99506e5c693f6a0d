package scenarios

import (
	"context"
	"errors"

	"github.com/tracerig/tracerig/topology"
)

// nodePlan is what a run decides about its started services before any
// of them runs.
type nodePlan struct{}

// planNodes refuses a scenario that starts services of the user's, which
// this build cannot start yet.
func planNodes(sc *topology.Scenario, _ Options) (*nodePlan, error) {
	for _, s := range sc.Topology.Services {
		if s.IsLaunched() {
			return nil, &RuntimeError{errors.New("services started by tracerig (image:, command:) are not supported by this build")}
		}
	}
	return nil, nil
}

func (p *nodePlan) removeLogs() {}

type nodes struct{}

func startNodes(context.Context, *topology.Scenario, *nodePlan, started) (*nodes, error) {
	return nil, nil
}

func (n *nodes) stop(context.Context) error { return nil }
