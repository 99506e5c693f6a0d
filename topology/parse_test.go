package topology

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// clearPositions zeroes every Pos and the field positions in v, so that
// decoded models compare against literals.
func clearPositions(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			clearPositions(v.Elem())
		}
	case reflect.Slice:
		for i := range v.Len() {
			clearPositions(v.Index(i))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Field(i)
			switch {
			case !f.CanSet():
			case f.Type() == reflect.TypeFor[Pos]():
				f.Set(reflect.Zero(f.Type()))
			default:
				clearPositions(f)
			}
		}
	}
}

func stripTopology(t *Topology) *Topology {
	if t != nil {
		t.fields = nil
		clearPositions(reflect.ValueOf(t))
	}
	return t
}

func stripScenario(s *Scenario) *Scenario {
	s.fields = nil
	stripTopology(s.Topology)
	clearPositions(reflect.ValueOf(s))
	return s
}

func shopWant() *Topology {
	defaults := func(name string) *Service {
		s := defaultService(name, Pos{})
		s.Sampler.Pos = Pos{}
		return s
	}
	route := func(name string) *Route { return defaultRoute(name, Pos{}) }

	frontend := defaults("frontend")
	frontend.Instances = 2
	frontend.Version = "1.4.0"
	frontend.Sampler = Sampler{Type: SamplerParentBasedTraceIDRatio, Ratio: 0.25}
	checkout := route("GET /checkout")
	checkout.Latency = Latency{Dist: DistLognormal, P50: 20 * time.Millisecond, P99: 120 * time.Millisecond}
	checkout.Errors = Errors{Rate: 0.01, HTTPStatus: 503, GRPCCode: DefaultGRPCCode}
	checkout.Calls = []Step{
		{Kind: StepCall, Call: &Call{Service: "cart", Route: "GET /cart", Backoff: DefaultBackoff}},
		{Kind: StepParallel, Steps: []Step{
			{Kind: StepCall, Call: &Call{Service: "payment", Route: "shop.Payment/Charge",
				Timeout: 200 * time.Millisecond, Retries: 2, Backoff: 20 * time.Millisecond}},
			{Kind: StepCall, Call: &Call{Service: "shipping", Route: "POST /quote", Backoff: DefaultBackoff}},
		}},
		{Kind: StepSequence, Steps: []Step{
			{Kind: StepCall, Call: &Call{Service: "legacy-proxy", Route: "GET /stock", Backoff: DefaultBackoff}},
		}},
	}
	frontend.Routes = []*Route{checkout, route("GET /health")}

	cart := defaults("cart")
	cart.Propagators = []Propagator{PropTraceContext, PropBaggage, PropB3}
	cart.Sampler = Sampler{Type: SamplerAlwaysOn}
	cartRoute := route("GET /cart")
	cartRoute.Latency.Value = 5 * time.Millisecond
	cart.Routes = []*Route{cartRoute}

	payment := defaults("payment")
	payment.Protocol = ProtocolGRPC
	charge := route("shop.Payment/Charge")
	charge.Latency = Latency{Dist: DistNormal, Mean: 30 * time.Millisecond, StdDev: 5 * time.Millisecond}
	charge.Errors = Errors{Rate: 0.05, HTTPStatus: DefaultHTTPStatus, GRPCCode: 14}
	payment.Routes = []*Route{charge}

	shipping := defaults("shipping")
	quote := route("POST /quote")
	quote.Latency = Latency{Dist: DistUniform, Min: 5 * time.Millisecond, Max: 10 * time.Millisecond}
	shipping.Routes = []*Route{quote}

	proxy := defaults("legacy-proxy")
	proxy.Instrumented = false
	proxy.ForwardHeaders = false
	stock := route("GET /stock")
	stock.Calls = []Step{{Kind: StepCall, Call: &Call{Service: "inventory", Route: "inventory.Stock/Get", Backoff: DefaultBackoff}}}
	proxy.Routes = []*Route{stock}

	inventory := defaults("inventory")
	inventory.Protocol = ProtocolGRPC
	inventory.Propagators = []Propagator{PropJaeger}
	get := route("inventory.Stock/Get")
	get.Latency.Value = 2 * time.Millisecond
	get.Errors = Errors{Rate: 0.001, HTTPStatus: DefaultHTTPStatus, GRPCCode: 4}
	inventory.Routes = []*Route{get}

	t := &Topology{
		Name:     "shop",
		Limits:   defaultLimits(),
		Services: []*Service{frontend, cart, payment, shipping, proxy, inventory},
	}
	return stripTopology(t)
}

func TestParseTopology(t *testing.T) {
	tests := []struct {
		file string
		want *Topology
	}{
		{"testdata/shop.yaml", shopWant()},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := LoadTopology(tt.file)
			if err != nil {
				t.Fatalf("LoadTopology: %v", err)
			}
			if got := stripTopology(got); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", dump(got), dump(tt.want))
			}
		})
	}
}

func inlineWant() *Scenario {
	api := defaultService("api", Pos{})
	a := defaultRoute("GET /a", Pos{})
	a.Latency = Latency{Dist: DistLognormal, P50: time.Millisecond, P99: 4 * time.Millisecond}
	a.Calls = []Step{{Kind: StepCall, Call: &Call{Service: "db", Route: "db.Store/Get", Timeout: 50 * time.Millisecond, Backoff: DefaultBackoff}}}
	api.Routes = []*Route{a}
	db := defaultService("db", Pos{})
	db.Protocol = ProtocolGRPC
	get := defaultRoute("db.Store/Get", Pos{})
	get.Errors.GRPCCode = 4
	db.Routes = []*Route{get}
	load := func(r Rate, d time.Duration, requests, workers int) Load {
		return Load{Targets: []Target{{Service: "api", Route: "GET /a", Weight: 1}}, Rate: r, Duration: d, Requests: requests, Workers: workers}
	}
	return stripScenario(&Scenario{
		File:     "testdata/inline.scenario.yaml",
		Name:     "inline-ramp",
		Topology: &Topology{Name: "tiny", Limits: Limits{MaxSpansPerRequest: 50}, Services: []*Service{api, db}},
		Runtime:  RuntimeInProcess,
		Backend:  Backend{Type: BackendOTLP, Endpoint: "127.0.0.1:4317"},
		Seed:     DefaultSeed,
		Settle:   5 * time.Second,
		Load: []Load{
			// 5/100ms and 600/1m have different periods: both per second.
			load(Rate{Freq: 50, Per: time.Second, Ramp: true, To: 10}, 30*time.Second, 0, 4),
			load(Rate{Freq: 0, Per: time.Second}, 0, 1000, DefaultWorkers),
			load(Rate{Freq: 50, Per: time.Second, Ramp: true, To: 500}, 10*time.Second, 0, DefaultWorkers),
		},
		Expect: []Expect{
			{Kind: ExpectPropagation, Propagation: PropagationExpect{Connected: false}},
			{Kind: ExpectCompleteness, Completeness: CompletenessExpect{Min: 0.999, Within: 10 * time.Second}},
			{Kind: ExpectCompleteness, Completeness: CompletenessExpect{Min: 1}},
		},
	})
}

func faultsWant() *Scenario {
	ms, sec := time.Millisecond, time.Second
	at := func(d time.Duration) Window { return Window{At: d} }
	svc := func(name string, instance int) FaultTarget { return FaultTarget{Service: name, Instance: instance} }
	edge := func(from, to string) FaultTarget { return FaultTarget{From: from, To: to, Instance: -1} }
	pipeline := FaultTarget{Instance: -1}
	errs := func(rate float64, status int, code uint32) Errors {
		return Errors{Rate: rate, HTTPStatus: status, GRPCCode: code}
	}
	allHeaders := []string{"traceparent", "tracestate", "baggage", "b3", "x-b3-traceid", "uber-trace-id"}

	brownout := Fault{Name: "payment brownout", Kind: FaultLatency,
		Window: Window{At: 20 * sec, For: 15 * sec, Every: 30 * sec, Count: 3},
		Target: FaultTarget{Service: "payment", Route: "shop.Payment/Charge", Instance: 0}, Latency: LatencyFault{Add: 300 * ms}}
	scaled := Fault{Kind: FaultLatency, Window: at(5 * sec), Target: svc("cart", -1),
		Latency: LatencyFault{Multiply: 3, Replace: Latency{Dist: DistLognormal, P50: 10 * ms, P99: 50 * ms}}}
	unavailable := Fault{Kind: FaultErrors, Window: at(5 * sec), Target: svc("payment", -1), Errors: errs(0.5, 500, 14)}
	checkoutErrors := Fault{Kind: FaultErrors, Window: Window{At: 5 * sec, For: 10 * sec},
		Target: FaultTarget{Service: "frontend", Route: "GET /checkout", Instance: 1}, Errors: errs(0.1, 503, 13)}
	payTimeout := Fault{Kind: FaultTimeout, Window: at(10 * sec), Target: edge("frontend", "payment"),
		Timeout: TimeoutFault{Timeout: 50 * ms, Retries: 3, Backoff: 5 * ms}}
	shipTimeout := Fault{Kind: FaultTimeout, Window: at(10 * sec), Target: edge("frontend", "shipping"),
		Timeout: TimeoutFault{Timeout: ms, Retries: -1}}
	stripSome := Fault{Kind: FaultStripHeaders, Window: at(30 * sec), Target: edge("legacy-proxy", "inventory"),
		Headers: HeaderFault{Strip: []string{"traceparent", "x-b3-traceid"}}}
	stripAll := Fault{Kind: FaultStripHeaders, Window: at(30 * sec), Target: edge("frontend", "cart"),
		Headers: HeaderFault{Strip: allHeaders}}
	corrupt := Fault{Kind: FaultCorruptTraceparent, Window: at(0), Target: edge("frontend", "cart"),
		Headers: HeaderFault{Corrupt: CorruptZeroTraceID}}
	dupDefault := Fault{Kind: FaultDuplicateHeader, Window: at(sec), Target: edge("frontend", "cart"),
		Headers: HeaderFault{Duplicate: "traceparent"}}
	dupB3 := Fault{Kind: FaultDuplicateHeader, Window: at(sec), Target: edge("frontend", "cart"),
		Headers: HeaderFault{Duplicate: "b3"}}
	tracestate := Fault{Kind: FaultTracestateOverflow, Window: at(sec), Target: edge("frontend", "cart"),
		Headers: HeaderFault{Members: 40, Bytes: 600}}
	baggage := Fault{Kind: FaultBaggageOverflow, Window: at(sec), Target: edge("frontend", "cart"),
		Headers: HeaderFault{Entries: 200}}
	mismatch := Fault{Kind: FaultPropagatorSwitch, Window: at(sec), Target: svc("inventory", -1),
		Propagators: []Propagator{PropB3, PropJaeger}}
	uninstrument := Fault{Kind: FaultUninstrument, Window: at(sec), Target: svc("cart", -1), Forward: true}
	dark := Fault{Kind: FaultUninstrument, Window: at(sec), Target: svc("legacy-proxy", -1), Forward: false}
	skew := Fault{Kind: FaultClockSkew, Window: at(sec), Target: svc("frontend", 1),
		Skew: SkewFault{Offset: -50 * ms, Drift: 10 * ms}}
	outage := Fault{Kind: FaultExporterOutage, Window: at(sec), Target: pipeline}
	nullOutage := Fault{Kind: FaultExporterOutage, Window: Window{At: sec, For: 5 * sec}, Target: pipeline}
	slow := Fault{Kind: FaultSlowBackend, Window: at(sec), Target: pipeline, Delay: 500 * ms}
	queue := Fault{Kind: FaultQueueOverflow, Window: at(sec), Target: svc("cart", -1), Queue: 16}
	crash := Fault{Kind: FaultCrash, Window: at(sec), Target: svc("shipping", 0)}
	kill := Fault{Kind: FaultCrash, Window: at(sec), Target: svc("frontend", 1)}
	restart := Fault{Kind: FaultRestart, Window: Window{At: sec, Every: 20 * sec}, Target: svc("frontend", 1)}
	pause := Fault{Kind: FaultPause, Window: Window{At: sec, For: 2 * sec}, Target: svc("shipping", 0)}
	blackhole := Fault{Kind: FaultPartition, Window: at(sec), Target: edge("frontend", "cart"), Partition: PartitionBlackhole}
	refuse := Fault{Kind: FaultPartition, Window: at(sec), Target: edge("frontend", "shipping"), Partition: PartitionRefuse}

	return stripScenario(&Scenario{
		File:         "testdata/faults.scenario.yaml",
		Name:         "faults",
		Topology:     shopWant(),
		TopologyFile: "testdata/shop.yaml",
		Runtime:      RuntimeInProcess,
		Backend:      Backend{Type: BackendEmbedded},
		Seed:         DefaultSeed,
		Settle:       DefaultSettle,
		Load: []Load{{Targets: []Target{{Service: "frontend", Route: "GET /checkout", Weight: 1}}, Rate: Rate{Freq: 100, Per: time.Second},
			Duration: 2 * time.Minute, Workers: DefaultWorkers}},
		Faults: []Fault{
			brownout, scaled, unavailable, checkoutErrors, payTimeout, shipTimeout, stripSome, stripAll,
			corrupt, dupDefault, dupB3, tracestate, baggage, mismatch, uninstrument, dark, skew,
			outage, nullOutage, slow, queue, crash, kill, restart, pause, blackhole, refuse,
		},
		Expect: []Expect{
			{Kind: ExpectPropagation, Propagation: PropagationExpect{Connected: true,
				Broken: []string{"legacy-proxy -> inventory", "frontend->cart"}, DuringFault: 7}},
			{Kind: ExpectDetect, Detect: DetectExpect{Fault: 3}},
			{Kind: ExpectPropagation, Propagation: PropagationExpect{Connected: true, Broken: []string{}}},
		},
	})
}

func TestParseScenario(t *testing.T) {
	quickstart := &Scenario{
		File:         "testdata/quickstart.scenario.yaml",
		Name:         "quickstart.scenario",
		Description:  "Steady checkout traffic against the shop.\n",
		Topology:     shopWant(),
		TopologyFile: "testdata/shop.yaml",
		Runtime:      RuntimeInProcess,
		Backend:      Backend{Type: BackendEmbedded},
		Seed:         42,
		Settle:       DefaultSettle,
		Load: []Load{{Targets: []Target{{Service: "frontend", Route: "GET /checkout", Weight: 1}}, Rate: Rate{Freq: 200, Per: time.Second},
			Duration: time.Minute, Workers: DefaultWorkers}},
		Expect: defaultExpect(),
	}
	tests := []struct {
		file string
		want *Scenario
	}{
		{"testdata/quickstart.scenario.yaml", quickstart},
		{"testdata/inline.scenario.yaml", inlineWant()},
		{"testdata/faults.scenario.yaml", faultsWant()},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := LoadScenario(tt.file)
			if err != nil {
				t.Fatalf("LoadScenario: %v", err)
			}
			if got := stripScenario(got); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", dump(got), dump(tt.want))
			}
		})
	}
}

func TestParsePositions(t *testing.T) {
	s, err := LoadScenario("testdata/inline.scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	call := s.Topology.Service("api").Route("GET /a").Calls[0]
	want := Pos{File: "testdata/inline.scenario.yaml", Line: 11, Col: 15}
	if call.Pos != want || call.Call.Pos != want {
		t.Errorf("call at %v (step %v), want %v", call.Call.Pos, call.Pos, want)
	}
	if got, want := s.Load[0].Rate.Pos, (Pos{"testdata/inline.scenario.yaml", 23, 11}); got != want {
		t.Errorf("rate at %v, want %v", got, want)
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want Rate
		err  bool
	}{
		{in: "200/s", want: Rate{Freq: 200, Per: time.Second}},
		{in: "5/100ms", want: Rate{Freq: 5, Per: 100 * time.Millisecond}},
		{in: "60/1m", want: Rate{Freq: 60, Per: time.Minute}},
		{in: "60/m", want: Rate{Freq: 60, Per: time.Minute}},
		{in: "7", want: Rate{Freq: 7, Per: time.Second}},
		{in: "0", want: Rate{Freq: 0, Per: time.Second}},
		{in: "-5/s", want: Rate{Freq: -5, Per: time.Second}}, // Validate rejects it
		{in: "fast", err: true},
		{in: "5/0s", err: true},
		{in: "5/parsec", err: true},
		{in: "1.5/s", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("ParseRate(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestGRPCCodeByName(t *testing.T) {
	for name, want := range map[string]uint32{
		"UNAVAILABLE": 14, "Unavailable": 14, "DEADLINE_EXCEEDED": 4, "DeadlineExceeded": 4,
		"CANCELLED": 1, "CANCELED": 1, "UNAUTHENTICATED": 16, "OK": 0,
	} {
		if got, ok := GRPCCodeByName(name); !ok || got != want {
			t.Errorf("GRPCCodeByName(%q) = %d, %v; want %d", name, got, ok, want)
		}
	}
	if _, ok := GRPCCodeByName("BROKEN"); ok {
		t.Error("GRPCCodeByName(BROKEN) found a code")
	}
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func TestParseAnchorsAndDuplicates(t *testing.T) {
	const good = `name: anchors
services:
  a:
    routes:
      GET /a:
        latency: &slow {p50: 10ms, p99: 50ms}
        errors: &flaky {rate: 0.5}
  b:
    routes:
      GET /b:
        latency: *slow
        errors: {<<: *flaky, status: 503}
`
	topo, err := ParseTopology("anchors.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	b := topo.Service("b").Route("GET /b")
	if b.Latency.Dist != DistLognormal || b.Latency.P99 != 50*time.Millisecond || b.Errors.Rate != 0.5 || b.Errors.HTTPStatus != 503 {
		t.Errorf("aliases not followed: %+v %+v", b.Latency, b.Errors)
	}

	const dup = "name: dup\nname: again\nservices:\n  a:\n"
	_, err = ParseTopology("dup.yaml", []byte(dup))
	want := `dup.yaml:2:1: name: duplicate field "name" (first set on line 1)`
	if err == nil || err.Error() != want {
		t.Errorf("duplicate key: got %v, want %s", err, want)
	}
}
