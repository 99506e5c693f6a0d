package w3c

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// harness plays the spec's test harness (test/server.py): it records the
// headers of every callback the participant makes to /callback/ID.
type harness struct {
	srv    *httptest.Server
	mu     sync.Mutex
	calls  map[string]http.Header
	bodies map[string]string
	seq    int
}

func newHarness(t *testing.T) *harness {
	h := &harness{calls: map[string]http.Header{}, bodies: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /callback/{id}", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.calls[r.PathValue("id")] = r.Header.Clone()
		h.bodies[r.PathValue("id")] = string(b)
		h.mu.Unlock()
		w.Write([]byte("{}"))
	})
	mux.HandleFunc("POST /redirect/{id}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/callback/"+r.PathValue("id"), http.StatusTemporaryRedirect)
	})
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	return h
}

func (h *harness) url(id string) string { return h.srv.URL + "/callback/" + id }

func (h *harness) newScope() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	return fmt.Sprintf("s%d", h.seq)
}

func (h *harness) got(id string) (http.Header, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	hd, ok := h.calls[id]
	return hd, ok
}

// startParticipant serves p on 127.0.0.1:0 and returns its /test URL.
func startParticipant(t *testing.T, p *Participant) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
		p.Close()
	})
	return "http://" + ln.Addr().String() + "/test"
}

type pair [2]string

// driver sends /test requests the way test.py's harness does: header
// names as given (any casing, repeated), body [{url, arguments}].
type driver struct {
	t       *testing.T
	h       *harness
	testURL string
	client  *http.Client
}

func newDriver(t *testing.T, opts Options) *driver {
	h := newHarness(t)
	d := &driver{t: t, h: h, testURL: startParticipant(t, NewParticipant(opts)), client: &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}}
	t.Cleanup(d.client.CloseIdleConnections)
	return d
}

func (d *driver) post(headers []pair, body any) (int, Response, string) {
	d.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		d.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, d.testURL, bytes.NewReader(b))
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for _, kv := range headers {
		req.Header[kv[0]] = append(req.Header[kv[0]], kv[1]) // raw name: casing kept on the wire
	}
	resp, err := d.client.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var r Response
	json.Unmarshal(raw, &r)
	return resp.StatusCode, r, string(raw)
}

// request is test.py's make_request: count callbacks, their headers back.
func (d *driver) request(headers []pair, count int) []http.Header {
	d.t.Helper()
	scope := d.h.newScope()
	var body []Call
	for i := range count {
		body = append(body, Call{URL: d.h.url(fmt.Sprintf("%s.%d", scope, i)), Arguments: json.RawMessage("[]")})
	}
	status, _, raw := d.post(headers, body)
	if status != http.StatusOK {
		d.t.Fatalf("/test status %d: %s", status, raw)
	}
	var out []http.Header
	for i := range count {
		hd, ok := d.h.got(fmt.Sprintf("%s.%d", scope, i))
		if !ok {
			d.t.Fatalf("no callback %d (response %s)", i, raw)
		}
		out = append(out, hd)
	}
	return out
}

// context is test.py's get_traceparent and get_tracestate: exactly one
// traceparent, tracestate combined from at most one header.
func (d *driver) context(hd http.Header) (TraceParent, TraceState) {
	d.t.Helper()
	tps := hd.Values("traceparent")
	if len(tps) != 1 {
		d.t.Fatalf("callback has %d traceparent headers: %q", len(tps), tps)
	}
	tp, err := ParseTraceParent(tps[0])
	if err != nil || strings.TrimSpace(tps[0]) != tps[0] {
		d.t.Fatalf("callback traceparent %q: %v", tps[0], err)
	}
	if n := len(hd.Values("tracestate")); n > 1 {
		d.t.Fatalf("callback has %d tracestate headers", n)
	}
	ts, err := ParseTraceState(hd.Values("tracestate"))
	if err != nil {
		d.t.Fatalf("callback tracestate: %v", err)
	}
	return tp, ts
}

func (d *driver) single(headers []pair) (TraceParent, TraceState) {
	d.t.Helper()
	return d.context(d.request(headers, 1)[0])
}

func hexID(b []byte) string { return fmt.Sprintf("%x", b) }

// TestW3CConformanceEndToEnd runs the cases of the specification's
// test.py against the participant over real HTTP.
func TestW3CConformanceEndToEnd(t *testing.T) {
	d := newDriver(t, Options{})
	const (
		same = "same" // the trace continues: trace id 1234...9012
		new_ = "new"  // a new trace: another trace id
	)
	tp := func(v string) pair { return pair{"traceparent", v} }
	ts := func(v string) pair { return pair{"tracestate", v} }
	tp00 := tp("00-" + tid + "-" + pid + "-00")
	for _, c := range []struct {
		name    string
		headers []pair
		trace   string
		state   map[string]string // nil: don't care; empty: none
		absent  []string          // keys that must not be there
	}{
		{"both missing", nil, new_, map[string]string{}, nil},
		{"traceparent included tracestate missing", []pair{tp(tp0)}, same, map[string]string{}, nil},
		{"traceparent duplicated", []pair{tp("00-12345678901234567890123456789011-" + pid + "-01"), tp(tp0)}, new_, nil, nil},
		{"header name trace-parent", []pair{{"trace-parent", tp0}}, new_, nil, nil},
		{"header name trace.parent", []pair{{"trace.parent", tp0}}, new_, nil, nil},
		{"casing TraceParent", []pair{{"TraceParent", tp0}}, same, nil, nil},
		{"casing TrAcEpArEnT", []pair{{"TrAcEpArEnT", tp0}}, same, nil, nil},
		{"casing TRACEPARENT", []pair{{"TRACEPARENT", tp0}}, same, nil, nil},
		{"v00 trailing dot", []pair{tp(tp0 + ".")}, new_, nil, nil},
		{"v00 extra fields", []pair{tp(tp0 + "-what-the-future-will-be-like")}, new_, nil, nil},
		{"vcc", []pair{tp("cc-" + tid + "-" + pid + "-01")}, same, nil, nil},
		{"vcc extra fields", []pair{tp("cc-" + tid + "-" + pid + "-01-what-the-future-will-be-like")}, same, nil, nil},
		{"vcc extra not dash", []pair{tp("cc-" + tid + "-" + pid + "-01.what-the-future-will-be-like")}, new_, nil, nil},
		{"vff", []pair{tp("ff-" + tid + "-" + pid + "-01")}, new_, nil, nil},
		{"version .0", []pair{tp(".0-" + tid + "-" + pid + "-01")}, new_, nil, nil},
		{"version 0.", []pair{tp("0.-" + tid + "-" + pid + "-01")}, new_, nil, nil},
		{"version 000", []pair{tp("000-" + tid + "-" + pid + "-01")}, new_, nil, nil},
		{"version 0000", []pair{tp("0000-" + tid + "-" + pid + "-01")}, new_, nil, nil},
		{"version 0", []pair{tp("0-" + tid + "-" + pid + "-01")}, new_, nil, nil},
		{"trace id zero", []pair{tp("00-00000000000000000000000000000000-" + pid + "-01")}, new_, nil, nil},
		{"trace id .", []pair{tp("00-.2345678901234567890123456789012-" + pid + "-01")}, new_, nil, nil},
		{"trace id too long", []pair{tp("00-123456789012345678901234567890123-" + pid + "-01")}, new_, nil, nil},
		{"trace id too short", []pair{tp("00-1234567890123456789012345678901-" + pid + "-01")}, new_, nil, nil},
		{"parent id zero", []pair{tp("00-" + tid + "-0000000000000000-01")}, new_, nil, nil},
		{"parent id .", []pair{tp("00-" + tid + "-.234567890123456-01")}, new_, nil, nil},
		{"parent id too long", []pair{tp("00-" + tid + "-12345678901234567-01")}, new_, nil, nil},
		{"parent id too short", []pair{tp("00-" + tid + "-123456789012345-01")}, new_, nil, nil},
		{"flags .0", []pair{tp("00-" + tid + "-" + pid + "-.0")}, new_, nil, nil},
		{"flags 0.", []pair{tp("00-" + tid + "-" + pid + "-0.")}, new_, nil, nil},
		{"flags too long", []pair{tp("00-" + tid + "-" + pid + "-001")}, new_, nil, nil},
		{"flags too short", []pair{tp("00-" + tid + "-" + pid + "-1")}, new_, nil, nil},
		{"traceparent OWS", []pair{tp("\t " + tp0 + " \t")}, same, nil, nil},
		{"tracestate without traceparent", []pair{ts("foo=1,bar=2")}, new_, map[string]string{}, nil},
		{"tracestate inherited", []pair{tp00, ts("foo=1,bar=2")}, same, map[string]string{"foo": "1", "bar": "2"}, nil},
		{"tracestate name trace-state", []pair{tp00, {"trace-state", "foo=1"}}, same, nil, []string{"foo"}},
		{"tracestate casing", []pair{tp00, {"TrAcEsTaTe", "foo=1"}}, same, map[string]string{"foo": "1"}, nil},
		{"tracestate empty", []pair{tp00, ts("")}, same, map[string]string{}, nil},
		{"tracestate empty second", []pair{tp00, ts("foo=1"), ts("")}, same, map[string]string{"foo": "1"}, nil},
		{"tracestate empty first", []pair{tp00, ts(""), ts("foo=1")}, same, map[string]string{"foo": "1"}, nil},
		// test_tracestate_duplicated_keys: inherited, one of the duplicates
		// kept (here the first).
		{"tracestate duplicated keys same value", []pair{tp00, ts("foo=1,foo=1")}, same, map[string]string{"foo": "1"}, nil},
		{"tracestate duplicated keys", []pair{tp00, ts("foo=1,foo=2")}, same, map[string]string{"foo": "1"}, nil},
		{"tracestate duplicated keys across headers", []pair{tp00, ts("foo=1"), ts("foo=1")}, same, map[string]string{"foo": "1"}, nil},
		{"tracestate duplicated keys across headers different values", []pair{tp00, ts("foo=1"), ts("foo=2")}, same, map[string]string{"foo": "1"}, nil},
		{"tracestate OWS", []pair{tp00, ts("foo=1 \t , \t bar=2, \t baz=3")}, same, map[string]string{"foo": "1", "bar": "2", "baz": "3"}, nil},
		{"tracestate key illegal", []pair{tp00, ts("foo.bar=1")}, same, map[string]string{}, nil},
		{"tracestate key space", []pair{tp00, ts("foo =1")}, same, map[string]string{}, nil},
		{"tracestate key uppercase", []pair{tp00, ts("FOO=1")}, same, map[string]string{}, nil},
		// test_tracestate_key_illegal_vendor_format: keys with '@' after
		// the first character are inherited, a key beginning with '@'
		// discards the list.
		{"tracestate key foo@", []pair{tp00, ts("foo@=1,bar=2")}, same, map[string]string{"foo@": "1", "bar": "2"}, nil},
		{"tracestate key @foo", []pair{tp00, ts("@foo=1,bar=2")}, same, map[string]string{}, nil},
		{"tracestate key foo@@bar", []pair{tp00, ts("foo@@bar=1,bar=2")}, same, map[string]string{"foo@@bar": "1", "bar": "2"}, nil},
		{"tracestate key foo@bar@baz", []pair{tp00, ts("foo@bar@baz=1,bar=2")}, same, map[string]string{"foo@bar@baz": "1", "bar": "2"}, nil},
		{"tracestate 32", []pair{tp00, ts(members("bar", 10)), ts(members("baz", 10)), ts(members("qux", 10)), ts("a=1,b=2")}, same, nil, nil},
		{"tracestate 33", []pair{tp00, ts(members("bar", 10)), ts(members("baz", 10)), ts(members("qux", 10)), ts("a=1,b=2,c=3")}, same, map[string]string{}, nil},
		// test_tracestate_key_length_limit: 256 characters in all.
		{"tracestate key 256", []pair{tp00, ts("foo=1"), ts(strings.Repeat("z", 256) + "=1")}, same, map[string]string{"foo": "1", strings.Repeat("z", 256): "1"}, nil},
		{"tracestate key 257", []pair{tp00, ts("foo=1"), ts(strings.Repeat("z", 257) + "=1")}, same, map[string]string{}, nil},
		{"tracestate key 241@14", []pair{tp00, ts("foo=1"), ts(strings.Repeat("t", 241) + "@" + strings.Repeat("v", 14) + "=1")}, same, map[string]string{"foo": "1", strings.Repeat("t", 241) + "@" + strings.Repeat("v", 14): "1"}, nil},
		{"tracestate key 242@1", []pair{tp00, ts("foo=1"), ts(strings.Repeat("t", 242) + "@v=1")}, same, map[string]string{"foo": "1", strings.Repeat("t", 242) + "@v": "1"}, nil},
		{"tracestate key 1@15", []pair{tp00, ts("foo=1"), ts("t@" + strings.Repeat("v", 15) + "=1")}, same, map[string]string{"foo": "1", "t@" + strings.Repeat("v", 15): "1"}, nil},
		{"tracestate value =", []pair{tp00, ts("foo=bar=baz")}, same, nil, []string{"foo"}},
		{"tracestate value empty", []pair{tp00, ts("foo=,bar=3")}, same, nil, []string{"foo", "bar"}},
		{"tracestate all allowed characters", []pair{tp00, ts(keyAll + "=" + valAll)}, same, map[string]string{keyAll: valAll}, nil},
		{"tracestate all allowed characters with @", []pair{tp00, ts(keyAll + "@a-z0-9_-*/=" + valAll)}, same, map[string]string{keyAll + "@a-z0-9_-*/": valAll}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			d.t = t
			got, state := d.single(c.headers)
			switch trace := hexID(got.TraceID[:]); {
			case c.trace == same && trace != tid:
				t.Errorf("trace id %s, want %s continued", trace, tid)
			case c.trace == new_ && (trace == tid || trace == "12345678901234567890123456789011"):
				t.Errorf("trace id %s continued, want a new trace", trace)
			}
			if hexID(got.ParentID[:]) == pid {
				t.Errorf("parent id not replaced")
			}
			if c.trace == new_ && got.Flags != FlagSampled|FlagRandom {
				t.Errorf("new trace flags %02x, want 03", got.Flags)
			}
			if c.state != nil {
				if len(state) != len(c.state) {
					t.Errorf("tracestate %q, want %v", state, c.state)
				}
				for k, v := range c.state {
					if g, ok := state.Get(k); !ok || g != v {
						t.Errorf("tracestate %q: %s=%q, want %q", state, k, g, v)
					}
				}
			}
			for _, k := range c.absent {
				if _, ok := state.Get(k); ok {
					t.Errorf("tracestate %q has %s, want it discarded", state, k)
				}
			}
		})
	}
	d.t = t

	t.Run("multiple tracestate headers combined in order", func(t *testing.T) {
		d.t = t
		_, state := d.single([]pair{tp00, ts("foo=1,bar=2"), ts("rojo=1,congo=2"), ts("baz=3")})
		if got, want := state.String(), "foo=1,bar=2,rojo=1,congo=2,baz=3"; got != want {
			t.Errorf("tracestate %q, want %q", got, want)
		}
	})
	t.Run("duplicated keys: first kept in order", func(t *testing.T) {
		d.t = t
		_, state := d.single([]pair{tp00, ts("foo=1,bar=2,foo=3"), ts("baz=4,bar=5")})
		if got, want := state.String(), "foo=1,bar=2,baz=4"; got != want {
			t.Errorf("tracestate %q, want %q", got, want)
		}
	})
	t.Run("32 members kept whole", func(t *testing.T) {
		d.t = t
		_, state := d.single([]pair{tp00, ts(members("bar", 10)), ts(members("baz", 10)), ts(members("qux", 10)), ts("a=1,b=2")})
		if len(state) != 32 {
			t.Errorf("%d members, want 32", len(state))
		}
	})
	t.Run("flags sampled and random kept", func(t *testing.T) {
		d.t = t
		for _, f := range []string{"00", "01", "02", "03"} {
			got, _ := d.single([]pair{tp("00-" + tid + "-" + pid + "-" + f)})
			if fmt.Sprintf("%02x", got.Flags) != f {
				t.Errorf("flags %s in, %02x out", f, got.Flags)
			}
		}
	})
	for _, c := range []struct {
		name    string
		headers []pair
		same    bool
	}{
		{"multiple requests with valid traceparent", []pair{tp(tp0)}, true},
		{"multiple requests without traceparent", nil, false},
		{"multiple requests with illegal traceparent", []pair{tp("00-00000000000000000000000000000000-" + pid + "-01")}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			d.t = t
			traces, parents := map[string]bool{}, map[string]bool{}
			for _, hd := range d.request(c.headers, 3) {
				got, _ := d.context(hd)
				traces[hexID(got.TraceID[:])] = true
				parents[hexID(got.ParentID[:])] = true
			}
			if len(parents) != 3 {
				t.Errorf("parent ids %v, want 3 different", parents)
			}
			if len(traces) != 1 {
				t.Errorf("trace ids %v, want one per incoming request", traces)
			}
			if c.same != traces[tid] || traces[strings.Repeat("0", 32)] {
				t.Errorf("trace ids %v, continued want %v", traces, c.same)
			}
		})
	}
}

// TestW3CConformanceNested drives a call back into /test, as the harness
// protocol's nested arguments do: the trace passes through the
// participant twice, with a new parent id each time.
func TestW3CConformanceNested(t *testing.T) {
	d := newDriver(t, Options{})
	for _, c := range []struct {
		name    string
		headers []pair
	}{
		{"continued", []pair{{"traceparent", tp0}, {"tracestate", "foo=1,bar=2"}}},
		{"new trace", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			d.t = t
			scope := d.h.newScope()
			inner, _ := json.Marshal([]Call{
				{URL: d.h.url(scope + ".0"), Arguments: json.RawMessage("[]")},
				{URL: d.h.url(scope + ".1")}, // arguments absent: sent as []
			})
			status, resp, raw := d.post(c.headers, []Call{
				{URL: d.testURL, Arguments: inner},
				{URL: d.h.url(scope + ".2"), Arguments: json.RawMessage(`[{"url":"x","arguments":[]}]`)},
			})
			if status != http.StatusOK || len(resp.Results) != 2 || resp.Results[0].Status != http.StatusOK {
				t.Fatalf("/test status %d: %s", status, raw)
			}
			hop1, err := ParseTraceParent(resp.Results[0].Traceparent)
			if err != nil {
				t.Fatal(err)
			}
			wantTrace := resp.TraceID
			if len(c.headers) > 0 && wantTrace != tid {
				t.Fatalf("outer trace %s, want %s", wantTrace, tid)
			}
			seen := map[string]bool{pid: true, hexID(hop1.ParentID[:]): true}
			for i := range 3 {
				hd, ok := d.h.got(fmt.Sprintf("%s.%d", scope, i))
				if !ok {
					t.Fatalf("no callback %d: %s", i, raw)
				}
				got, state := d.context(hd)
				if hexID(got.TraceID[:]) != wantTrace {
					t.Errorf("callback %d trace %x, want %s", i, got.TraceID, wantTrace)
				}
				if p := hexID(got.ParentID[:]); seen[p] {
					t.Errorf("callback %d parent id %s reused", i, p)
				} else {
					seen[p] = true
				}
				if len(c.headers) > 0 && state.String() != "foo=1,bar=2" {
					t.Errorf("callback %d tracestate %q, want foo=1,bar=2", i, state)
				}
				if len(c.headers) == 0 && len(state) != 0 {
					t.Errorf("callback %d tracestate %q, want none", i, state)
				}
			}
			d.h.mu.Lock()
			b0, b1, b2 := d.h.bodies[scope+".0"], d.h.bodies[scope+".1"], d.h.bodies[scope+".2"]
			d.h.mu.Unlock()
			if b0 != "[]" || b1 != "[]" || b2 != `[{"url":"x","arguments":[]}]` {
				t.Errorf("bodies %q %q %q: want the arguments as sent", b0, b1, b2)
			}
		})
	}
}

// TestW3CConformanceBounds: the participant refuses what it must not do.
func TestW3CConformanceBounds(t *testing.T) {
	d := newDriver(t, Options{MaxCalls: 2, MaxInFlight: 1})
	for _, c := range []struct {
		name string
		body string
		want int
	}{
		{"private address", `[{"url":"http://10.1.2.3/x","arguments":[]}]`, http.StatusBadRequest},
		{"public name", `[{"url":"http://example.com/","arguments":[]}]`, http.StatusBadRequest},
		{"unspecified address", `[{"url":"http://0.0.0.0:9/","arguments":[]}]`, http.StatusBadRequest},
		{"scheme", `[{"url":"ftp://127.0.0.1/","arguments":[]}]`, http.StatusBadRequest},
		{"not an array", `{"url":"http://127.0.0.1/"}`, http.StatusBadRequest},
		{"arguments not an array", `[{"url":"http://127.0.0.1:9/","arguments":{}}]`, http.StatusBadRequest},
		{"too many calls", `[{"url":"http://127.0.0.1:9/"},{"url":"http://127.0.0.1:9/"},{"url":"http://127.0.0.1:9/"}]`, http.StatusBadRequest},
		{"empty array", `[]`, http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, err := d.client.Post(d.testURL, "application/json", strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Errorf("status %d, want %d", resp.StatusCode, c.want)
			}
		})
	}
	t.Run("GET", func(t *testing.T) {
		resp, err := d.client.Get(d.testURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("status %d, want 405", resp.StatusCode)
		}
	})
	t.Run("in flight bound", func(t *testing.T) {
		d.t = t
		// A call back into /test while one is in flight: 503, reported.
		status, resp, raw := d.post(nil, []Call{{URL: d.testURL, Arguments: json.RawMessage("[]")}})
		if status != http.StatusOK || len(resp.Results) != 1 || resp.Results[0].Status != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 200 with the nested call answered 503: %s", status, raw)
		}
	})
	t.Run("redirect not followed", func(t *testing.T) {
		d.t = t
		scope := d.h.newScope()
		status, resp, raw := d.post(nil, []Call{{URL: d.h.srv.URL + "/redirect/" + scope}})
		if status != http.StatusOK || resp.Results[0].Status != http.StatusTemporaryRedirect {
			t.Errorf("status %d: %s", status, raw)
		}
		if _, ok := d.h.got(scope); ok {
			t.Errorf("redirect followed")
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		d.t = t
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		status, resp, raw := d.post(nil, []Call{{URL: "http://" + addr + "/x"}})
		if status != http.StatusBadGateway || resp.Results[0].Error == "" {
			t.Errorf("status %d, want 502 with the error: %s", status, raw)
		}
	})
}

func TestW3CLoopbackDialer(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:80":          true,
		"127.1.2.3:80":          true,
		"[::1]:80":              true,
		"[::ffff:127.0.0.1]:80": true,
		"10.0.0.1:80":           false,
		"192.168.1.1:80":        false,
		"8.8.8.8:53":            false,
		"[2001:db8::1]:80":      false,
		"0.0.0.0:80":            false,
	} {
		err := loopbackOnly("tcp", addr, nil)
		if (err == nil) != ok {
			t.Errorf("loopbackOnly(%s) = %v, want ok=%v", addr, err, ok)
		}
		if err != nil && !errors.Is(err, errNotLoopback) {
			t.Errorf("loopbackOnly(%s) = %v, want errNotLoopback", addr, err)
		}
	}
}
