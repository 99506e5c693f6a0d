package topology

import (
	"math"
	"testing"
)

func TestExpectedSpans(t *testing.T) {
	shop := loadShop(t)
	// A chain of depth 40 with fan-out 4 at each level (4^40 spans) overflows int.
	huge := &Topology{Name: "huge", Limits: defaultLimits()}
	for i := range 40 {
		s := defaultService(string(rune('a'+i%26))+string(rune('a'+i/26)), Pos{})
		r := defaultRoute("GET /", Pos{})
		s.Routes = []*Route{r}
		huge.Services = append(huge.Services, s)
	}
	for i := 0; i+1 < len(huge.Services); i++ {
		next := huge.Services[i+1].Name
		for range 4 {
			huge.Services[i].Routes[0].Calls = append(huge.Services[i].Routes[0].Calls,
				Step{Kind: StepCall, Call: &Call{Service: next, Route: "GET /"}})
		}
	}
	loop := &Topology{Services: []*Service{defaultService("a", Pos{})}}
	self := defaultRoute("GET /", Pos{})
	self.Calls = []Step{{Kind: StepCall, Call: &Call{Service: "a", Route: "GET /"}}}
	loop.Services[0].Routes = []*Route{self}

	tests := []struct {
		name           string
		topo           *Topology
		service, route string
		want           int
	}{
		// 1 server + cart (1+1) + payment (1+1) + shipping (1+1)
		// + legacy-proxy (client 1, no server span; its call to inventory
		// has no client span but inventory's server span: 1) = 9.
		{"checkout", shop, "frontend", "GET /checkout", 9},
		{"leaf", shop, "cart", "GET /cart", 1},
		{"no calls", shop, "frontend", "GET /health", 1},
		{"uninstrumented", shop, "legacy-proxy", "GET /stock", 1},
		{"undefined route", shop, "frontend", "GET /nope", 0},
		{"undefined service", shop, "nope", "GET /", 0},
		{"saturates", huge, "aa", "GET /", math.MaxInt},
		{"cycle ends", loop, "a", "GET /", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.topo.ExpectedSpans(tt.service, tt.route); got != tt.want {
				t.Errorf("ExpectedSpans(%q, %q) = %d, want %d", tt.service, tt.route, got, tt.want)
			}
		})
	}
}
