package main

import (
	"reflect"
	"testing"
	"time"

	"github.com/tracerig/tracerig/topology"
)

// FuzzWithFor checks `fault add --for`'s rewrite of the user's fault: it
// never panics, a fault that parsed before still parses after with its
// for: set to the flag and nothing else changed, and when it says the
// rest kept its place the positions are the user's own.
func FuzzWithFor(f *testing.F) {
	top, err := topology.LoadTopology("testdata/tiny-topology.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"crash:\n  service: web\n",
		"crash: {service: web}",
		"{crash: {service: web}}",
		`{"crash": {"service": "web"}, "for": "10s"}`,
		"crash: {service: web}\nfor: 10s\n",
		"latency: {service: stock, add: 300ms}\nname: slow # a comment\n",
		"strip-headers: {from: web, to: stock}\n",
		"  crash: {service: web}\n",
		"[1, 2]",
		"crash: [",
		"",
	} {
		f.Add(s, int64(2*time.Second))
	}
	f.Fuzz(func(t *testing.T, body string, ns int64) {
		d := time.Duration(ns)
		if d <= 0 || d > 24*time.Hour {
			d = time.Second
		}
		out, kept := withFor([]byte(body), d)
		before, err := topology.ParseFault("request", []byte(body), top)
		if err != nil {
			return
		}
		after, err := topology.ParseFault("request", out, top)
		if err != nil {
			t.Fatalf("withFor(%q) = %q, which no longer parses: %v", body, out, err)
		}
		if after.Window.For != d {
			t.Fatalf("withFor(%q, %s) = %q: for is %s", body, d, out, after.Window.For)
		}
		before.Window.For = d
		if kept {
			if !reflect.DeepEqual(before, after) {
				t.Fatalf("withFor(%q) = %q changed the fault or its positions:\n%+v\n%+v", body, out, before, after)
			}
			return
		}
		before.Pos, after.Pos = topology.Pos{}, topology.Pos{}
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("withFor(%q) = %q changed the fault:\n%+v\n%+v", body, out, before, after)
		}
	})
}
