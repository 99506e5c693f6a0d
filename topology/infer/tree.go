package infer

import (
	"cmp"
	"math"
	"slices"
)

// parallelShare is the share of the requests calling two callees in which
// they must overlap to be written in parallel.
const parallelShare = 0.5

// breakCycles leaves out every written call or publish that closes a
// cycle between routes: the topology takes none (a recursion in the
// traces, or a message that leads back to its own route).
func breakCycles(m *Model, targets func(c *Callee) []*Route) {
	const (
		unseen = iota
		onPath
		done
	)
	state := map[*Route]int{}
	var visit func(r *Route)
	visit = func(r *Route) {
		state[r] = onPath
		for _, c := range r.Callees {
			if !c.Written {
				continue
			}
			for _, t := range targets(c) {
				switch state[t] {
				case unseen:
					visit(t)
				case onPath:
					if c.Written {
						c.Written = false
						c.Why = "closes a cycle, which the topology does not take"
					}
				}
			}
		}
		state[r] = done
	}
	for _, s := range m.Services {
		for _, r := range s.Routes {
			if state[r] == unseen {
				visit(r)
			}
		}
	}
}

// steps orders a route's written callees by their mean position and puts
// neighbours that overlapped in most requests calling both in one
// parallel group.
func steps(r *Route, aggs map[uint64]*routeAgg) [][]*Callee {
	var written []*Callee
	for _, c := range r.Callees {
		if c.Written {
			written = append(written, c)
		}
	}
	slices.SortFunc(written, func(x, y *Callee) int {
		return cmp.Or(cmp.Compare(x.Order, y.Order), cmp.Compare(x.Service, y.Service), cmp.Compare(x.Route, y.Route),
			cmp.Compare(x.Topic, y.Topic))
	})
	ra := aggs[r.key]
	var out [][]*Callee
	for _, c := range written {
		if n := len(out); n > 0 && parallelWithAll(ra, out[n-1], c) {
			out[n-1] = append(out[n-1], c)
			continue
		}
		out = append(out, []*Callee{c})
	}
	return out
}

func parallelWithAll(ra *routeAgg, group []*Callee, c *Callee) bool {
	for _, g := range group {
		p := ra.pairs[[2]uint64{min(g.key, c.key), max(g.key, c.key)}]
		if p == nil || float64(p.overlap) <= parallelShare*float64(p.both) {
			return false
		}
	}
	return true
}

// maxSpans returns the most spans one request to any route is expected to
// produce, as the topology counts them: a server span, per written call a
// client span and the callee's own, and per written publish a producer
// span and the spans of each consume route of its topic; retries not
// counted.
func maxSpans(m *Model, targets func(c *Callee) []*Route) int {
	memo := map[*Route]int{}
	var count func(r *Route) int
	count = func(r *Route) int {
		if n, ok := memo[r]; ok {
			return n
		}
		n := 1
		for _, c := range r.Callees {
			ts := targets(c)
			if !c.Written || len(ts) == 0 {
				continue
			}
			each := 1
			for _, t := range ts {
				each = addSat(each, count(t))
			}
			n = addSat(n, mulSat(c.Times, each))
		}
		memo[r] = n
		return n
	}
	most := 0
	for _, s := range m.Services {
		for _, r := range s.Routes {
			most = max(most, count(r))
		}
	}
	return most
}

func addSat(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}

func mulSat(a, b int) int {
	if a != 0 && b > math.MaxInt/a {
		return math.MaxInt
	}
	return a * b
}
