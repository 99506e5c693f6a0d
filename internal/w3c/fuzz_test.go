package w3c_test

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/tracerig/tracerig/internal/w3c"
)

// Run one target longer with, for instance,
//
//	go test -run='^$' -fuzz='^FuzzExtract$' -fuzztime=10m ./internal/w3c/

const (
	fuzzTID = "4bf92f3577b34da6a3ce929d0e0e4736"
	fuzzPID = "00f067aa0ba902b7"
	fuzzTP  = "00-" + fuzzTID + "-" + fuzzPID + "-01"
)

// traceparentSeeds are the shapes the table tests use.
var traceparentSeeds = []string{
	fuzzTP,
	"00-" + fuzzTID + "-" + fuzzPID + "-00",
	"00-" + fuzzTID + "-" + fuzzPID + "-03",
	"00-" + fuzzTID + "-" + fuzzPID + "-ff",
	" \t" + fuzzTP + "\t ",
	fuzzTP + ".",
	fuzzTP + "-what-the-future-will-be-like",
	"cc-" + fuzzTID + "-" + fuzzPID + "-01",
	"cc-" + fuzzTID + "-" + fuzzPID + "-01-what-the-future-will-be-like",
	"cc-" + fuzzTID + "-" + fuzzPID + "-01.what-the-future-will-be-like",
	"ff-" + fuzzTID + "-" + fuzzPID + "-01",
	"0A-" + fuzzTID + "-" + fuzzPID + "-01",
	"000-" + fuzzTID + "-" + fuzzPID + "-01",
	"00-00000000000000000000000000000000-" + fuzzPID + "-01",
	"00-" + fuzzTID + "-0000000000000000-01",
	"00-4BF92F3577B34DA6A3CE929D0E0E4736-" + fuzzPID + "-01",
	"00_" + fuzzTID + "-" + fuzzPID + "-01",
	"00-" + fuzzTID + "-" + fuzzPID + "-1",
	"",
}

// tracestateSeeds are the shapes the table tests use.
var tracestateSeeds = []string{
	"foo=1",
	"foo=1,bar=2",
	",foo=1,,bar=2,",
	"foo=1 \t , \t bar=2, \t baz=3",
	"abcdefghijklmnopqrstuvwxyz0123456789_-*/=" + " !\"#$%&'()*+-./0123456789:;<>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~",
	"0tenant@sys=1",
	"a@b@c=1",
	"@foo=1,bar=2",
	"foo=a b",
	"foo =1",
	"FOO=1",
	"foo=bar=baz",
	"foo=,bar=3",
	"foo",
	"foo=a\x01b",
	"foo=é",
	"foo=1,foo=2",
	"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
	strings.Repeat("z", 257) + "=1",
	"k01=01,k02=02,k03=03,k04=04,k05=05,k06=06,k07=07,k08=08,k09=09,k10=10,k11=11,k12=12,k13=13,k14=14,k15=15,k16=16," +
		"k17=17,k18=18,k19=19,k20=20,k21=21,k22=22,k23=23,k24=24,k25=25,k26=26,k27=27,k28=28,k29=29,k30=30,k31=31,k32=32",
	"",
}

// FuzzParseTraceParent: ParseTraceParent never panics; its errors wrap
// ErrInvalid; an accepted traceparent has non-zero IDs and a version other
// than ff, and its String (version 00, known flags) parses back to it; a
// version 00 traceparent with known flags only prints as it was written.
func FuzzParseTraceParent(f *testing.F) {
	for _, s := range traceparentSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := w3c.ParseTraceParent(s)
		if err != nil {
			if !errors.Is(err, w3c.ErrInvalid) {
				t.Fatalf("ParseTraceParent(%q): error %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		if tp.Version == 0xff || tp.TraceID == [16]byte{} || tp.ParentID == [8]byte{} {
			t.Fatalf("ParseTraceParent(%q) = %+v", s, tp)
		}
		want := tp
		want.Version = 0
		want.Flags &= w3c.FlagSampled | w3c.FlagRandom
		back, err := w3c.ParseTraceParent(tp.String())
		if err != nil || back != want {
			t.Fatalf("ParseTraceParent(%q) = %+v, printed %q, which parses to %+v, %v", s, tp, tp.String(), back, err)
		}
		if tp.Version == 0 && tp.Flags == want.Flags && tp.String() != strings.Trim(s, " \t") {
			t.Fatalf("ParseTraceParent(%q) prints as %q", s, tp.String())
		}
	})
}

// FuzzParseTraceState: ParseTraceState never panics; a rejected list returns
// no members and an error wrapping ErrInvalid; two headers read as one
// joined with ','; an accepted list has unique keys, at most MaxMembers
// members, each found by Get, and its String parses back to it.
func FuzzParseTraceState(f *testing.F) {
	for i, s := range tracestateSeeds {
		f.Add(s, tracestateSeeds[(i+1)%len(tracestateSeeds)])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ts, err := w3c.ParseTraceState([]string{a, b})
		joined, errJoined := w3c.ParseTraceState([]string{a + "," + b})
		if (err == nil) != (errJoined == nil) || !reflect.DeepEqual(ts, joined) {
			t.Fatalf("headers %q, %q read as %q, %v; joined as %q, %v", a, b, ts, err, joined, errJoined)
		}
		if err != nil {
			if ts != nil || !errors.Is(err, w3c.ErrInvalid) {
				t.Fatalf("headers %q, %q: %q with error %v", a, b, ts, err)
			}
			return
		}
		if len(ts) > w3c.MaxMembers {
			t.Fatalf("headers %q, %q: %d members", a, b, len(ts))
		}
		seen := map[string]bool{}
		for _, m := range ts {
			if seen[m.Key] {
				t.Fatalf("headers %q, %q: key %q twice in %q", a, b, m.Key, ts)
			}
			seen[m.Key] = true
			if v, ok := ts.Get(m.Key); !ok || v != m.Value {
				t.Fatalf("headers %q, %q: Get(%q) = %q, %v; want %q", a, b, m.Key, v, ok, m.Value)
			}
		}
		back, err := w3c.ParseTraceState([]string{ts.String()})
		if err != nil || !reflect.DeepEqual(back, ts) {
			t.Fatalf("headers %q, %q read as %q, printed %q, which reads as %q, %v", a, b, ts, ts.String(), back, err)
		}
	})
}

// fuzzHeader builds a request header with one traceparent header per line
// of tp and one tracestate header per line of ts; "" leaves a header out.
func fuzzHeader(tp, ts string) http.Header {
	h := http.Header{}
	for name, v := range map[string]string{"traceparent": tp, "tracestate": ts} {
		if v != "" {
			for line := range strings.SplitSeq(v, "\n") {
				h.Add(name, line)
			}
		}
	}
	return h
}

// FuzzExtract: Extract never panics and agrees with the parsers: the
// traceparent is valid when it is the only one and parses, the tracestate
// is read only then; the context continued from it and injected into an
// outgoing request extracts again as a valid child of the same trace, with
// the known flags and the same tracestate.
func FuzzExtract(f *testing.F) {
	for i, tp := range traceparentSeeds {
		f.Add(tp, tracestateSeeds[i%len(tracestateSeeds)])
	}
	f.Add(fuzzTP+"\n"+fuzzTP, "foo=1")
	f.Add(fuzzTP, "foo=1,bar=2\nbaz=3")
	f.Add(fuzzTP, "foo=1\nfoo=2")
	f.Fuzz(func(t *testing.T, tp, ts string) {
		h := fuzzHeader(tp, ts)
		in := w3c.Extract(h)
		tps := h.Values(w3c.TraceparentHeader)
		var want w3c.TraceParent
		var wantErr error
		if len(tps) == 1 {
			want, wantErr = w3c.ParseTraceParent(tps[0])
		}
		if in.Valid != (len(tps) == 1 && wantErr == nil) || in.Valid && in.Parent != want || (in.ParentErr != nil) != (len(tps) > 0 && !in.Valid) {
			t.Fatalf("traceparent %q: Extract %+v, ParseTraceParent %+v, %v", tps, in, want, wantErr)
		}
		if !in.Valid {
			if in.State != nil || in.StateErr != nil {
				t.Fatalf("invalid traceparent %q, but tracestate %q, %v", tps, in.State, in.StateErr)
			}
		} else {
			state, err := w3c.ParseTraceState(h.Values(w3c.TracestateHeader))
			if (err == nil) != (in.StateErr == nil) || !reflect.DeepEqual(state, in.State) {
				t.Fatalf("tracestate %q: Extract %q, %v; ParseTraceState %q, %v", h.Values(w3c.TracestateHeader), in.State, in.StateErr, state, err)
			}
		}

		ctx := w3c.Continue(in)
		out := http.Header{}
		child := ctx.Inject(out)
		next := w3c.Extract(out)
		switch {
		case !next.Valid || next.Parent != child || next.StateErr != nil:
			t.Fatalf("injected %q, which extracts as %+v", out, next)
		case in.Valid && (child.TraceID != in.Parent.TraceID || child.Flags != in.Parent.Flags&(w3c.FlagSampled|w3c.FlagRandom)):
			t.Fatalf("continued %+v as %+v", in.Parent, child)
		case !reflect.DeepEqual(next.State, ctx.State):
			t.Fatalf("tracestate %q went out as %q", ctx.State, next.State)
		}
	})
}
