package topology

import (
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"go.yaml.in/yaml/v3"
)

// The fuzz targets below are seeded with every YAML file of the scenario
// library and of the testdata folders, and with the strings of the table
// tests. Run one longer with, for instance,
//
//	go test -run='^$' -fuzz='^FuzzParseScenario$' -fuzztime=10m ./topology/

// seedPatterns are the YAML files the targets are seeded with, relative to
// the package directory.
var seedPatterns = []string{
	"testdata/*.yaml",
	"testdata/ref/*.yaml",
	"../scenarios/*.yaml",
	"../scenarios/topologies/*.yaml",
	"../scenarios/testdata/*.yaml",
	"../scenarios/testdata/*/*.yaml",
	"../cmd/tracerig/testdata/*.yaml",
}

type seedFile struct {
	path string
	data []byte
}

func seedFiles(f *testing.F) []seedFile {
	f.Helper()
	var out []seedFile
	for _, pattern := range seedPatterns {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			out = append(out, seedFile{p, data})
		}
	}
	if len(out) < 20 {
		f.Fatalf("only %d seed files: run from the package directory", len(out))
	}
	return out
}

// yamlValues returns the scalar values and the nodes of every mapping key in
// keys, anywhere in the YAML documents of the seed files.
func yamlValues(files []seedFile, keys ...string) (scalars []string, nodes []*yaml.Node) {
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil {
			return
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if k, v := n.Content[i], n.Content[i+1]; slices.Contains(keys, k.Value) {
					if v.Kind == yaml.ScalarNode {
						scalars = append(scalars, v.Value)
					}
					nodes = append(nodes, v)
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	for _, sf := range files {
		var doc yaml.Node
		if yaml.Unmarshal(sf.data, &doc) == nil {
			walk(&doc)
		}
	}
	return scalars, nodes
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// checkErrors fails t unless every error joined in err is an *Error with a
// message, in one of files (any file when none is given) and on a line.
func checkErrors(t *testing.T, err error, files ...string) {
	t.Helper()
	if err == nil {
		return
	}
	var walk func(e error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, inner := range j.Unwrap() {
				walk(inner)
			}
			return
		}
		pe, ok := e.(*Error)
		switch {
		case !ok:
			t.Fatalf("error %q is a %T, not an *Error", e, e)
		case pe.Msg == "":
			t.Fatalf("error %q has no message", e)
		case pe.Pos.Line < 1 || pe.Pos.File == "" || len(files) > 0 && !slices.Contains(files, pe.Pos.File):
			t.Fatalf("error %q is not positioned on a line of %v", e, files)
		}
	}
	walk(err)
}

// FuzzParseTopology: ParseTopology never panics; it is deterministic; every
// error is positioned; an accepted topology validates again, unchanged, and
// still validates without its positions (as a topology built in Go), and
// can be walked and drawn as a graph.
func FuzzParseTopology(f *testing.F) {
	for _, sf := range seedFiles(f) {
		f.Add(sf.data)
	}
	f.Add([]byte("name: anchors\nservices:\n  a:\n    routes:\n      GET /a:\n        latency: &slow {p50: 10ms, p99: 50ms}\n        errors: &flaky {rate: 0.5}\n  b:\n    routes:\n      GET /b:\n        latency: *slow\n        errors: {<<: *flaky, status: 503}\n"))
	f.Add([]byte("name: dup\nname: again\nservices:\n  a:\n"))
	f.Add([]byte(`{"name": "json", "services": {"a": {"routes": {"GET /a": {"calls": [{"b": "GET /b"}]}}}, "b": {"routes": {"GET /b": {}}}}}`))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "fuzz.yaml"
		t1, err1 := ParseTopology(file, data)
		t2, err2 := ParseTopology(file, data)
		if errText(err1) != errText(err2) || !reflect.DeepEqual(t1, t2) {
			t.Fatalf("two parses differ:\n%v\n%v", err1, err2)
		}
		if err1 != nil {
			if t1 != nil {
				t.Fatal("a rejected topology was returned")
			}
			checkErrors(t, err1, file)
			return
		}
		if err := t1.Validate(); err != nil {
			t.Fatalf("accepted, but Validate() = %v", err)
		}
		if !reflect.DeepEqual(t1, t2) {
			t.Fatal("Validate changed the topology")
		}
		if err := stripTopology(t1).Validate(); err != nil {
			t.Fatalf("accepted, but without positions Validate() = %v", err)
		}
		for _, ref := range t2.EntryRoutes() {
			if n := t2.ExpectedSpans(ref.Service, ref.Route); n < 1 || n > t2.Limits.MaxSpansPerRequest {
				t.Fatalf("entry route %s expects %d spans, limit %d", ref, n, t2.Limits.MaxSpansPerRequest)
			}
		}
		t2.Edges()
		if err := t2.WriteDOT(io.Discard); err != nil {
			t.Fatal(err)
		}
		if err := t2.WriteMermaid(io.Discard); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzParseScenario: ParseScenario never panics, with its topology inline
// or read from a file (topo, or no such file when topo is empty); it is
// deterministic; every error is positioned; an accepted scenario validates
// again, unchanged, and still validates without its positions.
func FuzzParseScenario(f *testing.F) {
	for _, sf := range seedFiles(f) {
		// The topology file the scenario names, if any, read as LoadScenario
		// reads it.
		var topo []byte
		ParseScenario(sf.path, sf.data, func(path string) ([]byte, error) {
			data, err := os.ReadFile(path)
			topo = data
			return data, err
		})
		f.Add(sf.data, topo)
	}
	f.Fuzz(func(t *testing.T, data, topo []byte) {
		const file = "fuzz/scenario.yaml"
		readFile := func(path string) ([]byte, error) {
			if len(topo) == 0 {
				return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
			}
			return topo, nil
		}
		s1, err1 := ParseScenario(file, data, readFile)
		s2, err2 := ParseScenario(file, data, readFile)
		if errText(err1) != errText(err2) || !reflect.DeepEqual(s1, s2) {
			t.Fatalf("two parses differ:\n%v\n%v", err1, err2)
		}
		if err1 != nil {
			if s1 != nil {
				t.Fatal("a rejected scenario was returned")
			}
			checkErrors(t, err1) // the scenario's file or its topology's
			return
		}
		if s1.Topology == nil || len(s1.Load) == 0 {
			t.Fatalf("accepted without a topology or a load: %+v", s1)
		}
		if err := s1.Validate(); err != nil {
			t.Fatalf("accepted, but Validate() = %v", err)
		}
		if !reflect.DeepEqual(s1, s2) {
			t.Fatal("Validate changed the scenario")
		}
		if err := stripScenario(s1).Validate(); err != nil {
			t.Fatalf("accepted, but without positions Validate() = %v", err)
		}
	})
}

// shopTopologies are the topologies live faults are checked against.
var shopTopologies = []string{"testdata/shop.yaml", "../scenarios/topologies/shop.yaml", "../scenarios/testdata/faults/topology.yaml"}

// FuzzParseFault: ParseFault never panics and is deterministic; every error
// is positioned in the request; it leaves the topology as it was (the
// control API shares one between requests); a fault it accepts is also
// valid in a scenario over the same topology.
func FuzzParseFault(f *testing.F) {
	files := seedFiles(f)
	_, items := yamlValues(files, "faults")
	for _, list := range items {
		for _, it := range list.Content {
			if data, err := yaml.Marshal(it); err == nil {
				f.Add(data)
			}
		}
	}
	for _, s := range []string{
		"strip-headers: {from: frontend, to: cart}\nfor: 10s",
		`{"latency": {"service": "payment", "add": "300ms"}}`,
		"crash: {service: nowhere}\nevery: -1s",
		"[1, 2]",
		"kill: {service: cart, instance: 0}\nat: 5s\nfor: 1s\nevery: 3s\ncount: 2",
	} {
		f.Add([]byte(s))
	}
	type topo struct {
		t, pristine *Topology
		scenario    Scenario // a valid scenario over t, without faults
	}
	var topos []topo
	for _, path := range shopTopologies {
		t, err := LoadTopology(path)
		if err != nil {
			f.Fatal(err)
		}
		pristine, _ := LoadTopology(path)
		tp := topo{t: t, pristine: pristine}
		for _, ref := range t.EntryRoutes() {
			if t.Service(ref.Service).Protocol == ProtocolHTTP {
				tp.scenario = Scenario{Name: "live", Topology: t, Runtime: RuntimeInProcess, Backend: Backend{Type: BackendEmbedded},
					Settle: DefaultSettle, Seed: DefaultSeed, Load: []Load{{Targets: []Target{{Service: ref.Service, Route: ref.Route, Weight: 1}},
						Rate: Rate{Freq: 1, Per: time.Second}, Duration: time.Second, Workers: 1}}}
				break
			}
		}
		if err := tp.scenario.Validate(); err != nil {
			f.Fatalf("%s: %v", path, err)
		}
		topos = append(topos, tp)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, tp := range topos {
			f1, err1 := ParseFault("request", data, tp.t)
			f2, err2 := ParseFault("request", data, tp.t)
			if errText(err1) != errText(err2) || !reflect.DeepEqual(f1, f2) {
				t.Fatalf("%s: two parses differ:\n%v\n%v", tp.t.Name, err1, err2)
			}
			if !reflect.DeepEqual(tp.t, tp.pristine) {
				t.Fatalf("%s: ParseFault changed the topology", tp.t.Name)
			}
			if err1 != nil {
				if !reflect.DeepEqual(f1, Fault{}) {
					t.Fatalf("%s: a rejected fault was returned: %+v", tp.t.Name, f1)
				}
				checkErrors(t, err1, "request")
				continue
			}
			s := tp.scenario
			s.Faults = []Fault{f1}
			if err := s.Validate(); err != nil {
				t.Fatalf("%s: accepted live, but not in a scenario: %v", tp.t.Name, err)
			}
		}
	})
}

// rateSeeds are the rates of TestParseRate and the rates of the seed files.
func rateSeeds(files []seedFile) []string {
	rates, _ := yamlValues(files, "rate", "from", "to")
	return append(rates, "200/s", "5/100ms", "60/1m", "60/m", "7", "0", "-5/s", "fast", "5/0s",
		"5/parsec", "1.5/s", " 3 / 250ms ", "1/1h0m0.5s", "2/µs")
}

// FuzzParseRate: ParseRate never panics; an accepted rate has a positive
// period, the one written after / when that is a duration, and prints back
// to itself; the YAML decoder reads a rate and a ramp {from, to} as
// ParseRate does, a ramp converted to per second rounds each end to the
// nearest whole request (and is rejected when that does not fit in an int),
// and a ramp prints back to itself. The decoder's durations print back to
// themselves too.
func FuzzParseRate(f *testing.F) {
	rates := rateSeeds(seedFiles(f))
	for i, r := range rates {
		f.Add(r, rates[(i+1)%len(rates)])
	}
	f.Add("5/0.5s", "5/s")
	f.Add("2147483647/1ns", "1/m")
	scalar := func(v string) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Line: 1, Column: 1}
	}
	f.Fuzz(func(t *testing.T, from, to string) {
		r1, err1 := ParseRate(from)
		if err1 == nil {
			if r1.Per <= 0 || r1.Ramp {
				t.Fatalf("ParseRate(%q) = %#v", from, r1)
			}
			if back, err := ParseRate(r1.String()); err != nil || back != r1 {
				t.Fatalf("ParseRate(%q) = %#v, printed %q, which parses to %#v, %v", from, r1, r1.String(), back, err)
			}
			if _, unit, ok := strings.Cut(from, "/"); ok {
				if per, err := time.ParseDuration(strings.Trim(unit, " \t\n\f\r")); err == nil && per != r1.Per {
					t.Fatalf("ParseRate(%q) = %#v: the period is not %s", from, r1, per)
				}
			}
		}
		r2, err2 := ParseRate(to)

		// One rate, as a scenario's load writes it.
		d := newDecoder("rate.yaml")
		var got Rate
		d.rate(scalar(from), "rate", &got)
		if (len(d.errs) == 0) != (err1 == nil) {
			t.Fatalf("rate %q: decoder errors %v, ParseRate %v", from, d.errs, err1)
		}
		if got.Pos = (Pos{}); got != r1 {
			t.Fatalf("rate %q: decoder %#v, ParseRate %#v", from, got, r1)
		}
		checkErrors(t, errors.Join(d.errs...), "rate.yaml")

		// A ramp.
		d = newDecoder("rate.yaml")
		var ramp Rate
		d.rate(&yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1, Column: 1,
			Content: []*yaml.Node{scalar("from"), scalar(from), scalar("to"), scalar(to)}}, "rate", &ramp)
		checkErrors(t, errors.Join(d.errs...), "rate.yaml")
		// Ends with different periods are converted to requests per second,
		// which must fit in an int.
		fits := func(r Rate) bool {
			v := math.Round(r.PerSecond())
			return r1.Per == r2.Per || v >= math.MinInt64 && v < math.MaxInt64
		}
		if (len(d.errs) == 0) != (err1 == nil && err2 == nil && fits(r1) && fits(r2)) {
			t.Fatalf("ramp %q → %q: decoder errors %v, ParseRate %v, %v", from, to, d.errs, err1, err2)
		}
		if len(d.errs) == 0 {
			ramp.Pos = Pos{}
			near := func(n int, end Rate) bool {
				return float64(n) >= end.PerSecond()-0.5 && float64(n) <= end.PerSecond()+0.5
			}
			if r1.Per == r2.Per && ramp != (Rate{Freq: r1.Freq, Per: r1.Per, Ramp: true, To: r2.Freq}) ||
				r1.Per != r2.Per && (!ramp.Ramp || ramp.Per != time.Second || !near(ramp.Freq, r1) || !near(ramp.To, r2)) {
				t.Fatalf("ramp %q → %q = %#v: not its ends, or its ends per second rounded to whole requests", from, to, ramp)
			}
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(ramp.String()), &doc); err != nil {
				t.Fatalf("ramp %#v printed %q: %v", ramp, ramp.String(), err)
			}
			d = newDecoder("rate.yaml")
			var back Rate
			d.rate(doc.Content[0], "rate", &back)
			if back.Pos = (Pos{}); len(d.errs) > 0 || back != ramp {
				t.Fatalf("ramp %#v printed %q, which reads as %#v, %v", ramp, ramp.String(), back, d.errs)
			}
		}

		// A duration.
		d = newDecoder("duration.yaml")
		var dur time.Duration
		ok := d.duration(scalar(from), "settle", &dur)
		want, err := time.ParseDuration(from)
		if ok != (err == nil) || dur != want {
			t.Fatalf("duration %q: decoder %s, %v; time.ParseDuration %s, %v", from, dur, d.errs, want, err)
		}
		checkErrors(t, errors.Join(d.errs...), "duration.yaml")
		if ok {
			var back time.Duration
			if !d.duration(scalar(dur.String()), "settle", &back) || back != dur {
				t.Fatalf("duration %q = %s reads back as %s", from, dur, back)
			}
		}
	})
}

// exprSpans are the spans expressions are evaluated on: an empty one, and
// one with every field set.
var exprSpans = []SpanFields{{}, {
	Service: "payment", Instance: "payment-0", Name: "POST /pay", Kind: "server", Status: "error",
	Duration: 400 * time.Millisecond, Start: 21 * time.Second, End: 21400 * time.Millisecond,
	Trace: "4bf92f3577b34da6a3ce929d0e0e4736", Root: true,
	Attrs: map[string]string{"http.route": "/pay", "http.response.status_code": "500"},
}}

// FuzzCompileSpanExpr: CompileSpanExpr never panics and is deterministic;
// its error is one line; an accepted expression evaluates, on an empty and
// on a populated span, without panicking, to a bool when it does not fail,
// and to the same whether the span is passed by value or, as the spans
// check passes it, by pointer to a reused VM.
func FuzzCompileSpanExpr(f *testing.F) {
	exprs, _ := yamlValues(seedFiles(f), "where", "assert")
	for _, s := range append(exprs,
		`service == "payment" && kind == "server"`,
		`duration > duration("300ms")`,
		`duration > duration("1s")`,
		`start >= duration("20s") && start < duration("35s")`,
		`attrs["http.route"] == "/pay" && attrs["missing"] == ""`,
		`status in ["error", "unset"] && !root`,
		`service`,
		`nope > 1`,
		`duration(service) > duration`,
		`duration > duration(1)`,
		`duration > duration("3x")`,
		`len(trace) == 32 && end - start == duration`,
		`name matches "^POST " || instance startsWith "pay"`,
	) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := CompileSpanExpr(src)
		_, err2 := CompileSpanExpr(src)
		if errText(err) != errText(err2) {
			t.Fatalf("two compiles differ: %v; %v", err, err2)
		}
		if err != nil {
			if p != nil || strings.Contains(err.Error(), "\n") {
				t.Fatalf("CompileSpanExpr(%q) = %v, error %q", src, p, err)
			}
			return
		}
		var machine vm.VM
		for _, span := range exprSpans {
			out, err := expr.Run(p, span)
			if _, isBool := out.(bool); err == nil && !isBool {
				t.Fatalf("%q on %+v = %v (%T), not a bool", src, span, out, out)
			}
			sp := span
			outPtr, errPtr := machine.Run(p, &sp)
			if (err == nil) != (errPtr == nil) || err == nil && out != outPtr {
				t.Fatalf("%q on %+v = %v, %v by value but %v, %v by pointer", src, span, out, err, outPtr, errPtr)
			}
		}
	})
}

// FuzzParseSpanCount: ParseSpanCount never panics; an accepted count is in
// range, prints back to itself, and Holds answers for any counts.
func FuzzParseSpanCount(f *testing.F) {
	counts, _ := yamlValues(seedFiles(f), "count")
	for _, s := range append(counts, "all", "", "none", ">= 5", "<=2", " == 0 ", "== 7", ">= 0.9", "<= 0.1",
		">= 1.0", "most", "> 3", ">= -1", ">= 0.0", "== 0.5") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseSpanCount(s)
		if err != nil {
			if c != (SpanCount{}) {
				t.Fatalf("ParseSpanCount(%q) = %#v with error %v", s, c, err)
			}
			return
		}
		switch {
		case c.Op != CountAtLeast && c.Op != CountAtMost && c.Op != CountExactly,
			c.N < 0, c.Share < 0, c.Share > 1, c.Share > 0 && (c.N != 0 || c.Op == CountExactly):
			t.Fatalf("ParseSpanCount(%q) = %#v", s, c)
		}
		if back, err := ParseSpanCount(c.String()); err != nil || back != c {
			t.Fatalf("ParseSpanCount(%q) = %#v, printed %q, which parses to %#v, %v", s, c, c.String(), back, err)
		}
		for _, n := range [][2]int{{0, 0}, {0, 1}, {1, 1}, {9, 10}, {1 << 40, 1 << 41}} {
			c.Holds(n[0], n[1])
		}
	})
}
