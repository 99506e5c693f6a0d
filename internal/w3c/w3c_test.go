package w3c

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	tid = "12345678901234567890123456789012"
	pid = "1234567890123456"
	tp0 = "00-" + tid + "-" + pid + "-01"
)

func TestW3CParseTraceParent(t *testing.T) {
	for _, c := range []struct {
		name, in string
		ok       bool
		flags    byte
		version  byte
	}{
		{"valid sampled", tp0, true, 0x01, 0},
		{"valid not sampled", "00-" + tid + "-" + pid + "-00", true, 0, 0},
		{"valid random", "00-" + tid + "-" + pid + "-03", true, 0x03, 0},
		{"unknown flags parsed", "00-" + tid + "-" + pid + "-ff", true, 0xff, 0},
		{"leading space", " " + tp0, true, 1, 0},
		{"leading tab", "\t" + tp0, true, 1, 0},
		{"trailing space", tp0 + " ", true, 1, 0},
		{"trailing tab", tp0 + "\t", true, 1, 0},
		{"both OWS", "\t " + tp0 + " \t", true, 1, 0},
		{"v00 trailing dot", tp0 + ".", false, 0, 0},
		{"v00 extra fields", tp0 + "-what-the-future-will-be-like", false, 0, 0},
		{"future version", "cc-" + tid + "-" + pid + "-01", true, 1, 0xcc},
		{"future version extra fields", "cc-" + tid + "-" + pid + "-01-what-the-future-will-be-like", true, 1, 0xcc},
		{"future version extra not dash", "cc-" + tid + "-" + pid + "-01.what-the-future-will-be-like", false, 0, 0},
		{"future version bad trace id", "cc-" + strings.Repeat("0", 32) + "-" + pid + "-01", false, 0, 0},
		{"version ff", "ff-" + tid + "-" + pid + "-01", false, 0, 0},
		{"version illegal char 1", ".0-" + tid + "-" + pid + "-01", false, 0, 0},
		{"version illegal char 2", "0.-" + tid + "-" + pid + "-01", false, 0, 0},
		{"version too long 3", "000-" + tid + "-" + pid + "-01", false, 0, 0},
		{"version too long 4", "0000-" + tid + "-" + pid + "-01", false, 0, 0},
		{"version too short", "0-" + tid + "-" + pid + "-01", false, 0, 0},
		{"version uppercase", "0A-" + tid + "-" + pid + "-01", false, 0, 0},
		{"trace id all zero", "00-" + strings.Repeat("0", 32) + "-" + pid + "-01", false, 0, 0},
		{"trace id illegal first", "00-.2345678901234567890123456789012-" + pid + "-01", false, 0, 0},
		{"trace id illegal last", "00-1234567890123456789012345678901.-" + pid + "-01", false, 0, 0},
		{"trace id uppercase", "00-1234567890ABCDEF1234567890123456-" + pid + "-01", false, 0, 0},
		{"trace id too long", "00-" + tid + "3-" + pid + "-01", false, 0, 0},
		{"trace id too short", "00-" + tid[:31] + "-" + pid + "-01", false, 0, 0},
		{"parent id all zero", "00-" + tid + "-0000000000000000-01", false, 0, 0},
		{"parent id illegal first", "00-" + tid + "-.234567890123456-01", false, 0, 0},
		{"parent id illegal last", "00-" + tid + "-123456789012345.-01", false, 0, 0},
		{"parent id uppercase", "00-" + tid + "-123456789012345A-01", false, 0, 0},
		{"parent id too long", "00-" + tid + "-12345678901234567-01", false, 0, 0},
		{"parent id too short", "00-" + tid + "-123456789012345-01", false, 0, 0},
		{"flags illegal 1", "00-" + tid + "-" + pid + "-.0", false, 0, 0},
		{"flags illegal 2", "00-" + tid + "-" + pid + "-0.", false, 0, 0},
		{"flags uppercase", "00-" + tid + "-" + pid + "-0A", false, 0, 0},
		{"flags too long", "00-" + tid + "-" + pid + "-001", false, 0, 0},
		{"flags too short", "00-" + tid + "-" + pid + "-1", false, 0, 0},
		{"wrong separator", "00_" + tid + "-" + pid + "-01", false, 0, 0},
		{"empty", "", false, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseTraceParent(c.in)
			if (err == nil) != c.ok {
				t.Fatalf("ParseTraceParent(%q) error %v, want ok=%v", c.in, err, c.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("error %v does not wrap ErrInvalid", err)
				}
				return
			}
			if fmt.Sprintf("%x", got.TraceID[:]) != tid || got.Flags != c.flags || got.Version != c.version {
				t.Errorf("got %+v, want trace %s flags %02x version %02x", got, tid, c.flags, c.version)
			}
		})
	}
}

func TestW3CTraceParentString(t *testing.T) {
	tp, err := ParseTraceParent("cc-" + tid + "-" + pid + "-ff-future")
	if err != nil {
		t.Fatal(err)
	}
	// Written as version 00, unknown flags zeroed.
	if got, want := tp.String(), "00-"+tid+"-"+pid+"-03"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// keyAll is every key character but '@'; valAll every value character,
// as test_tracestate_all_allowed_characters sends them.
const keyAll = "abcdefghijklmnopqrstuvwxyz0123456789_-*/"

var valAll = func() string {
	var b strings.Builder
	for c := byte(0x20); c <= 0x7e; c++ {
		if c != ',' && c != '=' {
			b.WriteByte(c)
		}
	}
	return b.String()
}()

func members(prefix string, n int) string {
	var m []string
	for i := 1; i <= n; i++ {
		m = append(m, fmt.Sprintf("%s%02d=%02d", prefix, i, i))
	}
	return strings.Join(m, ",")
}

func TestW3CParseTraceState(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []string
		want string // the list as written; "!" = invalid
	}{
		{"absent", nil, ""},
		{"single", []string{"foo=1"}, "foo=1"},
		{"two", []string{"foo=1,bar=2"}, "foo=1,bar=2"},
		{"empty header", []string{""}, ""},
		{"empty then member", []string{"", "foo=1"}, "foo=1"},
		{"member then empty", []string{"foo=1", ""}, "foo=1"},
		{"empty members", []string{",foo=1,,bar=2,"}, "foo=1,bar=2"},
		{"multiple headers combined in order", []string{"foo=1,bar=2", "rojo=1,congo=2", "baz=3"}, "foo=1,bar=2,rojo=1,congo=2,baz=3"},
		{"OWS around members", []string{"foo=1 \t , \t bar=2, \t baz=3"}, "foo=1,bar=2,baz=3"},
		{"OWS tabs", []string{"foo=1\t \t,\t \tbar=2,\t \tbaz=3"}, "foo=1,bar=2,baz=3"},
		{"leading OWS", []string{" \tfoo=1"}, "foo=1"},
		{"trailing OWS", []string{"foo=1 \t"}, "foo=1"},
		{"all key characters", []string{keyAll + "=" + valAll}, keyAll + "=" + valAll},
		{"all vendor key characters", []string{keyAll + "@a-z0-9_-*/=" + valAll}, keyAll + "@a-z0-9_-*/=" + valAll},
		{"tenant may start with digit", []string{"0tenant@sys=1"}, "0tenant@sys=1"},
		{"key starts with digit", []string{"1special=1"}, "1special=1"},
		{"key all digits", []string{"0123=1"}, "0123=1"},
		{"value inner space", []string{"foo=a b"}, "foo=a b"},
		{"32 members", []string{members("bar", 10), members("baz", 10), members("qux", 10), "a=1,b=2"}, members("bar", 10) + "," + members("baz", 10) + "," + members("qux", 10) + ",a=1,b=2"},
		{"33 members", []string{members("bar", 10), members("baz", 10), members("qux", 10), "a=1,b=2,c=3"}, "!"},
		{"33 members in one header", []string{members("k", 33)}, "!"},
		// test_tracestate_key_length_limit: 256 characters in all, '@' or not.
		{"key 256", []string{"foo=1", strings.Repeat("z", 256) + "=1"}, "foo=1," + strings.Repeat("z", 256) + "=1"},
		{"key 257", []string{"foo=1", strings.Repeat("z", 257) + "=1"}, "!"},
		{"key 241@14", []string{"foo=1", strings.Repeat("t", 241) + "@" + strings.Repeat("v", 14) + "=1"}, "foo=1," + strings.Repeat("t", 241) + "@" + strings.Repeat("v", 14) + "=1"},
		{"key 242@1", []string{"foo=1", strings.Repeat("t", 242) + "@v=1"}, "foo=1," + strings.Repeat("t", 242) + "@v=1"},
		{"key 1@15", []string{"foo=1", "t@" + strings.Repeat("v", 15) + "=1"}, "foo=1,t@" + strings.Repeat("v", 15) + "=1"},
		{"key 254@1", []string{"foo=1", strings.Repeat("t", 254) + "@v=1"}, "foo=1," + strings.Repeat("t", 254) + "@v=1"},
		{"key 255@1", []string{"foo=1", strings.Repeat("t", 255) + "@v=1"}, "!"},
		{"key 1@255", []string{"foo=1", "t@" + strings.Repeat("v", 255) + "=1"}, "!"},
		{"key 256 ending with @", []string{strings.Repeat("t", 255) + "@=1"}, strings.Repeat("t", 255) + "@=1"},
		{"key space before =", []string{"foo =1"}, "!"},
		{"key uppercase", []string{"FOO=1"}, "!"},
		{"key dot", []string{"foo.bar=1"}, "!"},
		{"key starts with _", []string{"_foo=1"}, "!"},
		{"key starts with -", []string{"-foo=1"}, "!"},
		{"key empty", []string{"=1,bar=2"}, "!"},
		// test_tracestate_key_illegal_vendor_format: '@' after the first
		// character is a key character; a key beginning with '@' is
		// invalid and the list with it is discarded.
		{"key ends with @", []string{"foo@=1,bar=2"}, "foo@=1,bar=2"},
		{"key starts with @", []string{"@foo=1,bar=2"}, "!"},
		{"key double @", []string{"foo@@bar=1,bar=2"}, "foo@@bar=1,bar=2"},
		{"key two @", []string{"foo@bar@baz=1,bar=2"}, "foo@bar@baz=1,bar=2"},
		{"key @ then digit", []string{"foo@1bar=1"}, "foo@1bar=1"},
		{"key @ only", []string{"@=1"}, "!"},
		{"key starts with @ in second header", []string{"foo=1", "bar=2,@baz=3"}, "!"},
		{"key @ and dot", []string{"foo@bar.baz=1"}, "!"},
		{"value with =", []string{"foo=bar=baz"}, "!"},
		{"value empty", []string{"foo=,bar=3"}, "!"},
		{"no =", []string{"foo"}, "!"},
		{"value 256", []string{"foo=" + strings.Repeat("v", 256)}, "foo=" + strings.Repeat("v", 256)},
		{"value 257", []string{"foo=" + strings.Repeat("v", 257)}, "!"},
		{"value control char", []string{"foo=a\x01b"}, "!"},
		{"value DEL", []string{"foo=a\x7fb"}, "!"},
		{"value non-ASCII", []string{"foo=é"}, "!"},
		// test_tracestate_duplicated_keys: the list is kept, the first
		// member of a duplicated key with it.
		{"duplicate key", []string{"foo=1,foo=1"}, "foo=1"},
		{"duplicate key different values", []string{"foo=1,foo=2"}, "foo=1"},
		{"duplicate key across headers same value", []string{"foo=1", "foo=1"}, "foo=1"},
		{"duplicate key across headers", []string{"foo=1", "foo=2"}, "foo=1"},
		{"duplicate key order kept", []string{"foo=1,bar=2,foo=3,baz=4,bar=5"}, "foo=1,bar=2,baz=4"},
		{"duplicate key with @", []string{"t@v=1,t@v=2"}, "t@v=1"},
		{"duplicate then invalid", []string{"foo=1,foo=2,BAD=3"}, "!"},
		{"32 members with a duplicate", []string{members("k", 31), "k01=x"}, members("k", 31)},
		{"33 members with a duplicate", []string{members("k", 32), "k01=x"}, "!"},
		{"one bad member discards all", []string{"foo=1,bar=2", "BAD=3"}, "!"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts, err := ParseTraceState(c.in)
			if c.want == "!" {
				if err == nil {
					t.Fatalf("ParseTraceState(%q) = %q, want an error", c.in, ts)
				}
				if ts != nil {
					t.Errorf("invalid tracestate returned members %q", ts)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTraceState(%q): %v", c.in, err)
			}
			if got := ts.String(); got != c.want {
				t.Errorf("ParseTraceState(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

// header builds an http.Header from name/value pairs, names as given:
// Extract must match them case-insensitively through Values, as the
// server side of net/http canonicalises them.
func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// TestW3CPropagation covers the propagator: what goes out for what came in.
func TestW3CPropagation(t *testing.T) {
	for _, c := range []struct {
		name      string
		in        http.Header
		continued bool
		flags     string // outgoing flags when continued
		state     string // outgoing tracestate
	}{
		{"none", header(), false, "", ""},
		{"traceparent only", header("traceparent", tp0), true, "01", ""},
		{"casing", header("TrAcEpArEnT", tp0), true, "01", ""},
		{"not sampled kept", header("traceparent", "00-"+tid+"-"+pid+"-00"), true, "00", ""},
		{"random kept", header("traceparent", "00-"+tid+"-"+pid+"-02"), true, "02", ""},
		{"sampled and random kept", header("traceparent", "00-"+tid+"-"+pid+"-03"), true, "03", ""},
		{"unknown flags zeroed", header("traceparent", "00-"+tid+"-"+pid+"-fd"), true, "01", ""},
		{"future version", header("traceparent", "cc-"+tid+"-"+pid+"-01-future"), true, "01", ""},
		{"wrong name trace-parent", header("trace-parent", tp0), false, "", ""},
		{"wrong name trace.parent", header("trace.parent", tp0), false, "", ""},
		{"duplicated traceparent", header("traceparent", "00-12345678901234567890123456789011-"+pid+"-01", "traceparent", tp0), false, "", ""},
		{"duplicated identical traceparent", header("traceparent", tp0, "traceparent", tp0), false, "", ""},
		{"tracestate kept", header("traceparent", tp0, "tracestate", "foo=1,bar=2"), true, "01", "foo=1,bar=2"},
		{"tracestate casing", header("traceparent", tp0, "TrAcEsTaTe", "foo=1"), true, "01", "foo=1"},
		{"tracestate wrong name", header("traceparent", tp0, "trace-state", "foo=1"), true, "01", ""},
		{"tracestate headers combined", header("traceparent", tp0, "tracestate", "foo=1,bar=2", "tracestate", "baz=3"), true, "01", "foo=1,bar=2,baz=3"},
		{"tracestate invalid dropped", header("traceparent", tp0, "tracestate", "foo=1,@bar=2"), true, "01", ""},
		{"tracestate key too long dropped", header("traceparent", tp0, "tracestate", "foo=1", "tracestate", strings.Repeat("z", 257)+"=1"), true, "01", ""},
		{"tracestate duplicates: first kept", header("traceparent", tp0, "tracestate", "foo=1,foo=2"), true, "01", "foo=1"},
		{"tracestate duplicates across headers: first kept", header("traceparent", tp0, "tracestate", "foo=1", "tracestate", "foo=2"), true, "01", "foo=1"},
		{"tracestate keys with @ kept", header("traceparent", tp0, "tracestate", "foo@=1,foo@@bar=2,foo@bar@baz=3,bar=4"), true, "01", "foo@=1,foo@@bar=2,foo@bar@baz=3,bar=4"},
		{"tracestate without traceparent dropped", header("tracestate", "foo=1"), false, "", ""},
		{"tracestate with invalid traceparent dropped", header("traceparent", "ff-"+tid+"-"+pid+"-01", "tracestate", "foo=1"), false, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := Continue(Extract(c.in))
			if ctx.Continued != c.continued {
				t.Fatalf("continued = %v, want %v", ctx.Continued, c.continued)
			}
			var parents []string
			for range 3 {
				out := http.Header{"Traceparent": {"stale"}, "Tracestate": {"stale=1", "x=2"}}
				ctx.Inject(out)
				if n := len(out.Values("traceparent")); n != 1 {
					t.Fatalf("%d traceparent headers out", n)
				}
				if n := len(out.Values("tracestate")); n > 1 {
					t.Fatalf("%d tracestate headers out", n)
				}
				tp, err := ParseTraceParent(out.Get("traceparent"))
				if err != nil || tp.Version != 0 {
					t.Fatalf("outgoing traceparent %q: %v", out.Get("traceparent"), err)
				}
				parents = append(parents, fmt.Sprintf("%x", tp.ParentID[:]))
				gotTID := fmt.Sprintf("%x", tp.TraceID[:])
				if c.continued {
					if gotTID != tid {
						t.Errorf("trace id %s, want %s", gotTID, tid)
					}
					if got := fmt.Sprintf("%02x", tp.Flags); got != c.flags {
						t.Errorf("flags %s, want %s", got, c.flags)
					}
				} else {
					if gotTID == tid || gotTID == "12345678901234567890123456789011" {
						t.Errorf("invalid context continued: trace id %s", gotTID)
					}
					if tp.Flags != FlagSampled|FlagRandom {
						t.Errorf("new trace flags %02x, want 03 (sampled, random)", tp.Flags)
					}
				}
				if got := out.Get("tracestate"); got != c.state {
					t.Errorf("tracestate %q, want %q", got, c.state)
				}
			}
			if parents[0] == pid || parents[0] == parents[1] || parents[1] == parents[2] || parents[0] == parents[2] {
				t.Errorf("parent ids not new per call: %v", parents)
			}
		})
	}
}
