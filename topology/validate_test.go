package topology

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestValidateBuiltModel checks that Validate works on a model built in Go,
// without decoded positions, and does not change it.
func TestValidateBuiltModel(t *testing.T) {
	s := defaultService("api", Pos{File: "x.yaml", Line: 3, Col: 3})
	r := defaultRoute("GET /a", Pos{File: "x.yaml", Line: 5, Col: 7})
	r.Errors.Rate = 2
	r.Calls = []Step{{Kind: StepCall, Call: &Call{Service: "db", Route: "GET /x", Pos: Pos{File: "x.yaml", Line: 8, Col: 11}}}}
	s.Routes = []*Route{r}
	topo := &Topology{Name: "built", Limits: defaultLimits(), Services: []*Service{s}}
	before := *s.Routes[0]

	err := topo.Validate()
	var got []string
	for _, e := range ErrorList(err) {
		got = append(got, e.Error())
	}
	want := []string{
		`x.yaml:5:7: services.api.routes["GET /a"].errors.rate: must be between 0 and 1, got 2`,
		`x.yaml:8:11: services.api.routes["GET /a"].calls[0]: calls service "db" which is not defined`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Validate() errors\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !reflect.DeepEqual(*s.Routes[0], before) {
		t.Error("Validate changed the model")
	}
	if err := loadShop(t).Validate(); err != nil {
		t.Errorf("shop: Validate() = %v", err)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Pos{"a.yaml", 3, 5}, "services.x", "bad", nil}, "a.yaml:3:5: services.x: bad"},
		{&Error{Pos{"a.yaml", 1, 1}, "", "file is empty", nil}, "a.yaml:1:1: file is empty"},
		{&Error{Pos{File: "a.yaml"}, "", "cannot read", nil}, "a.yaml: cannot read"},
		{&Error{Pos{}, "name", "is required", nil}, "name: is required"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestErrorListSorts(t *testing.T) {
	a := &Error{Pos: Pos{"b.yaml", 1, 1}}
	b := &Error{Pos: Pos{"a.yaml", 9, 1}}
	c := &Error{Pos: Pos{"a.yaml", 2, 7}}
	err := errors.Join(a, errors.Join(b, errors.New("other")), c)
	if got := ErrorList(err); !reflect.DeepEqual(got, []*Error{c, b, a}) {
		t.Errorf("ErrorList = %v", got)
	}
	if ErrorList(nil) != nil {
		t.Error("ErrorList(nil) is not nil")
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := LoadTopology("testdata/nope.yaml")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadTopology error %v does not wrap os.ErrNotExist", err)
	}
	if want := "testdata/nope.yaml: cannot read topology: no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("LoadTopology error %q, want %q", err, want)
	}
}

func TestFieldPath(t *testing.T) {
	got := field(index(field(index(field(routePath("frontend", "GET /checkout"), "calls"), 1), "parallel"), 0), "timeout")
	want := `services.frontend.routes["GET /checkout"].calls[1].parallel[0].timeout`
	if got != want {
		t.Errorf("path %s, want %s", got, want)
	}
	if got := servicePath("api.v2"); got != `services["api.v2"]` {
		t.Errorf("servicePath = %s", got)
	}
}

// TestValidateBuiltFaults checks fault and expectation validation on a
// scenario built in Go: errors fall back to the fault's or check's position.
func TestValidateBuiltFaults(t *testing.T) {
	at := func(line int) Pos { return Pos{File: "s.yaml", Line: line, Col: 5} }
	s := &Scenario{
		Name:     "built",
		Topology: loadShop(t),
		Runtime:  RuntimeInProcess,
		Backend:  Backend{Type: BackendEmbedded},
		Settle:   DefaultSettle,
		Load: []Load{{Targets: []Target{{Service: "frontend", Route: "GET /checkout", Weight: 1}},
			Rate: Rate{Freq: 1, Per: time.Second}, Duration: time.Second, Workers: 1}},
		Faults: []Fault{
			{Kind: FaultLatency, Target: FaultTarget{Service: "cart", Instance: -1}, Latency: LatencyFault{Add: time.Millisecond}, Pos: at(1)},
			{Kind: FaultCrash, Target: FaultTarget{Service: "cart", Instance: -1}, Pos: at(2)},
			{Kind: FaultPartition, Target: FaultTarget{From: "cart", To: "frontend"}, Partition: PartitionRefuse, Pos: at(3)},
			{Kind: "flood", Pos: at(4)},
			{Kind: FaultStripHeaders, Target: FaultTarget{From: "frontend", To: "cart"}, Window: Window{Count: 2}, Pos: at(5)},
		},
		Expect: []Expect{
			{Kind: ExpectDetect, Detect: DetectExpect{Fault: 6}, Pos: at(6)},
			{Kind: ExpectPropagation, Propagation: PropagationExpect{Broken: []string{"frontend -> cart"}, DuringFault: 1}, Pos: at(7)},
			{Kind: "sampling", Pos: at(8)},
		},
	}
	var got []string
	for _, e := range ErrorList(s.Validate()) {
		got = append(got, e.Error())
	}
	want := []string{
		`s.yaml:2:5: faults[1].crash.instance: must be an instance number from 0 (crash acts on one instance), got -1`,
		`s.yaml:3:5: faults[2].partition.to: no call from "cart" to "frontend" in topology "shop"`,
		`s.yaml:4:5: faults[3]: unknown fault kind "flood" (want latency, errors, timeout, strip-headers, corrupt-traceparent, duplicate-header, tracestate-overflow, baggage-overflow, propagator-mismatch, uninstrument, clock-skew, exporter-outage, slow-backend, queue-overflow, crash, restart, pause, partition, broker-outage or poison)`,
		`s.yaml:5:5: faults[4].count: is only valid with every`,
		`s.yaml:5:5: faults[4].strip-headers.headers: must not be empty (leave it out to strip every trace header)`,
		`s.yaml:6:5: expect[0].detect.fault: must be a fault number between 1 and 5, got 6`,
		`s.yaml:8:5: expect[2].sampling: needs service (to test its sampling ratio), consistent: true or probability: true`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Validate() errors\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	good, err := LoadScenario("testdata/faults.scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	good.fields = nil // as if built in Go
	if err := good.Validate(); err != nil {
		t.Errorf("faults.scenario.yaml without positions: Validate() = %v", err)
	}
}
